"""The program vocabulary: names as pages write them map to one program id."""

from __future__ import annotations

import pytest

from offers.errors import InvalidOffer
from offers.model import PROGRAMS, make_offer
from offers.programs import (
    airline_of,
    currency_of,
    display_name,
    find_programs,
    program_id,
    programs,
)

NAMES = [
    ("United MileagePlus", "united"),
    ("MileagePlus", "united"),
    ("mileage plus", "united"),
    ("UNITED", "united"),
    ("AAdvantage", "american"),
    ("American Airlines", "american"),
    ("SkyMiles", "delta"),
    ("Delta SkyMiles", "delta"),
    ("Flying Blue", "flyingblue"),
    ("flyingblue", "flyingblue"),
    ("Air France-KLM Flying Blue", "flyingblue"),
    ("Avios", "british"),
    ("Iberia Plus", "iberia"),
    ("Aeroplan", "aeroplan"),
    ("KrisFlyer", "krisflyer"),
    ("Asia Miles", "cathay"),
    ("Rapid Rewards", "southwest"),
    ("Miles & More", "lufthansa"),
    ("Miles&Smiles", "turkish"),
    ("EuroBonus", "sas"),
    ("LifeMiles", "lifemiles"),
    ("Mileage Plan", "alaska"),
    ("Executive Club", "british"),
    ("Privilege Club", "qatar"),
    ("Skywards", "emirates"),
    ("Velocity Points", "velocity"),
    ("Qantas Frequent Flyer", "qantas"),
    ("SKYPASS", "korean"),
    ("  trueblue ", "jetblue"),
]


@pytest.mark.parametrize(("name", "program"), NAMES)
def test_names_as_written_map_to_the_program_id(name: str, program: str) -> None:
    assert program_id(name) == program


@pytest.mark.parametrize("name", ["", "Mileage", "Miles", "Frequent Flyer", "Unitedx", "Paris"])
def test_other_words_are_no_program(name: str) -> None:
    assert program_id(name) is None


def test_every_program_of_the_model_has_a_row() -> None:
    for pid in PROGRAMS:
        assert program_id(pid) == pid
        assert display_name(pid) == PROGRAMS[pid]
        assert airline_of(pid) and currency_of(pid)
        assert program_id(display_name(pid)) == pid


def test_the_alerts_own_names_read_back() -> None:
    for program in programs().values():
        assert program_id(program.name) == program.id


def test_unknown_ids_fall_back() -> None:
    assert display_name("nosuch") == "nosuch"
    assert airline_of("nosuch") is None and currency_of("nosuch") is None


def test_currencies() -> None:
    assert currency_of("british") == "Avios"
    assert currency_of("cathay") == "Asia Miles"
    assert currency_of("southwest") == "points"
    assert airline_of("krisflyer") == "Singapore Airlines"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("United MileagePlus award sale", ["united"]),
        ("Fly to the United States with Avios", ["british"]),
        ("United Arab Emirates: Emirates Skywards deals", ["emirates"]),
        ("Pay with your American Express card", []),
        ("Delta and American both cut prices", ["delta", "american"]),
        ("ユナイテッド航空MileagePlusの特典", ["united"]),
        ("スカイマイルSkyMilesセール", ["delta"]),
        ("AAdvantageous", []),
        ("SkyMilesX", []),
        ("flying blue promo rewards", ["flyingblue", "flyingblue"]),
        ("Book with KrisFlyer or Asia Miles", ["krisflyer", "cathay"]),
        ("the Delta State university", []),
        ("united states", []),
    ],
)
def test_mentions_in_free_text(text: str, found: list[str]) -> None:
    assert [pid for _, pid in find_programs(text)] == found


def test_mentions_give_their_offset() -> None:
    text = "Deals: Aeroplan, then KrisFlyer"
    assert find_programs(text) == [(7, "aeroplan"), (22, "krisflyer")]


def test_the_offer_stores_the_id_for_any_alias() -> None:
    offer = make_offer({"source": "s", "program": "United MileagePlus", "miles": "30,000"})
    assert offer.program == "united"
    assert make_offer({"source": "s", "program": "AAdvantage", "miles": 1}).program == "american"


def test_an_unknown_program_is_rejected_with_its_name() -> None:
    with pytest.raises(InvalidOffer, match="unknown program 'Nowhere Miles'"):
        make_offer({"source": "s", "program": "Nowhere Miles", "miles": 1})


def test_rules_name_programs_as_people_write_them() -> None:
    from offers.rules import Rule

    assert Rule(name="r", programs=["MileagePlus", "Flying Blue", "delta"]).programs == [
        "united",
        "flyingblue",
        "delta",
    ]
