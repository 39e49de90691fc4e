"""offers.announcements in every language it has a vocabulary for: detection, numbers, places
in the post's language, and the table of posts in tests/data/announcements_languages.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from offers.announcements import figures, read
from offers.announcements.language import detect, normalise
from offers.announcements.names import canonical
from offers.announcements.numbers import east_asian, western
from offers.announcements.vocabulary import FOLDER, NEGATIVES, languages, raw, vocabulary

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "announcements_languages.yaml").read_text(encoding="utf-8")
)


def value(found: Any) -> Any:
    if isinstance(found, tuple | list):
        return sorted(str(v).lower() for v in found)
    return found


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_reads_post_in_its_language(case: dict[str, Any]) -> None:
    found = read(case["title"], case["text"], case.get("published"), case.get("link"))
    assert found.language == case["language"]
    for name, expected in case["expect"].items():
        assert value(getattr(found, name)) == value(expected), name
    if "routes" in case:
        routes = [[s.origins[0], s.destinations[0]] for s in found.sales]
        assert sorted(routes) == sorted(case["routes"])


def test_every_language_file_has_a_sale_and_a_lookalike_in_the_table() -> None:
    for code in languages():
        kinds = {c["expect"]["is_award_sale"] for c in CASES if c["language"] == code}
        assert kinds == {True, False}, f"{code}.toml needs a sale and a lookalike in the table"


@pytest.mark.parametrize("code", languages())
def test_language_file_names_every_kind_of_word(code: str) -> None:
    data = raw(code)
    assert data["name"] and data["locales"]
    for section, keys in {
        "sale": ("cues", "award", "discount"),
        "miles": ("units", "one_way", "round_trip"),
        "cabins": ("economy", "business", "first"),
        "dates": ("book", "travel", "range_joiners"),
        "places": ("to", "list"),
    }.items():
        for key in keys:
            assert data[section][key], f"{code}.toml [{section}] {key} is empty"
    assert set(data["negative"]) <= set(NEGATIVES)
    assert vocabulary(code).language == code


def test_an_unknown_language_reads_with_english_words() -> None:
    assert vocabulary("xx").language == "en"
    assert (FOLDER / "en.toml").is_file()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ANA特典航空券 必要マイル数 割引キャンペーン", "ja"),
        ("대한항공 마일리지 특가 프로모션 편도", "ko"),
        ("国航凤凰知音里程兑换优惠 北京至巴黎", "zh"),
        ("A Smiles abriu uma promoção de resgate com passagens a partir de 10 mil milhas", "pt"),
        ("Iberia lanza una promoción de Avios con vuelos desde 17.000 Avios solo ida", "es"),
        ("Diskon penukaran miles GarudaMiles untuk tiket award ke Jepang", "id"),
        ("Les Promo Rewards de mars sont en ligne : réservez avant le 31 mars", "fr"),
        ("Die neuen Meilenschnäppchen sind da: Prämienflüge ab 12.500 Meilen", "de"),
        ("Sconto del 40% sui biglietti premio: prenotazioni entro il 31 gennaio", "it"),
        ("Flying Blue Promo Rewards: Paris to New York from 15,000 miles one-way", "en"),
    ],
)
def test_detects_the_language_among_those_it_reads(text: str, language: str) -> None:
    assert detect(text) == language


def test_nfkc_makes_full_width_digits_ascii() -> None:
    assert normalise("１５，０００マイル") == "15,000マイル"


@pytest.mark.parametrize(
    ("written", "miles"),
    [("1万5000", 15000), ("1.5万", 15000), ("一万五千", 15000), ("1만 5천", 15000), ("4万", 40000)],
)
def test_east_asian_numerals(written: str, miles: int) -> None:
    assert east_asian(written) == miles


@pytest.mark.parametrize(
    ("written", "thousand", "miles"),
    [("12.500", False, 12500), ("12 500", False, 12500), ("12’500", False, 12500),
     ("12,5", True, 12500), ("25.000", True, 25000), ("7500", False, 7500)],
)  # fmt: skip
def test_western_figures_in_any_locale(written: str, thousand: bool, miles: int) -> None:
    assert western(written, thousand) == miles


@pytest.mark.parametrize(
    ("words", "language", "miles"),
    [
        ("Jakarta ke Bali mulai 25.000 mil sekali jalan", "id", 25000),
        ("São Paulo para Lisboa por 25.000 mil milhas", "pt", 25000),
        ("a partir de 12,5 mil milhas o trecho", "pt", 12500),
        ("東京発片道１５，０００マイルから", "ja", 15000),
        ("편도 1만 5천 마일부터", "ko", 15000),
        ("单程仅需4万5000里程", "zh", 45000),
    ],
)
def test_miles_figures_per_language(words: str, language: str, miles: int) -> None:
    assert [f.miles for f in figures(words, award_context=True, language=language)] == [miles]


@pytest.mark.parametrize(
    ("written", "locales", "english"),
    [
        ("Lisboa", ("pt", "pt_PT"), "Lisbon"),
        ("Nova Iorque", ("pt", "pt_PT"), "New York"),
        ("東京", ("ja",), "Tokyo"),
        ("パリ", ("ja",), "Paris"),
        ("Jepang", ("id",), "Japan"),
        ("München", ("de",), "Munich"),
        ("뉴욕", ("ko",), "New York"),
        ("Europa", ("es",), "Europe"),
    ],
)
def test_place_names_in_the_posts_language_are_the_english_places(
    written: str, locales: tuple[str, ...], english: str
) -> None:
    assert canonical(written, locales) == english
