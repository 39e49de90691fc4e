"""The offer model: loose values normalized, invalid ones rejected with a reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from offers.errors import InvalidOffer
from offers.model import make_offer, rejection_code

BASE: dict[str, Any] = {"source": "test", "program": "delta", "origin": "JFK", "destination": "LHR"}


def test_loose_values_are_normalized() -> None:
    offer = make_offer({**BASE, "miles": "from 12.5K miles", "cabin": "Business Class",
                        "travel": "Jan 10 – Mar 15, 2031", "taxes": "$5.60",
                        "trip": "Round trip", "currency": "usd"})  # fmt: skip
    assert (offer.miles, offer.cabin, offer.trip, offer.taxes, offer.currency) == (
        12500,
        "business",
        "round-trip",
        5.6,
        "USD",
    )
    assert str(offer.travel_start) == "2031-01-10" and str(offer.travel_end) == "2031-03-15"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"miles": -5000}, "miles: Input should be greater than 0"),
        ({"miles": "-5,000 miles"}, "miles: Input should be greater than 0"),
        ({"miles": 1000, "cabin": "Steerage"}, "cabin: unknown cabin 'Steerage'"),
        ({"miles": 1000, "depart_date": "soonish"}, "depart_date: unparseable date 'soonish'"),
        ({"miles": None}, "no price: neither miles nor a discount"),
        ({"miles": 1000, "program": "acme"}, "program: unknown program 'acme'"),
        ({"miles": 1000, "colour": "red"}, "colour: not a field of an offer"),
        ({"miles": 1000, "travel_start": "2031-05-01", "travel_end": "2031-04-01"},
         "travel window ends before it starts"),
        ({"miles": 1000, "trip": "sideways"}, "trip: unknown trip 'sideways'"),
    ],
)  # fmt: skip
def test_invalid_values_are_rejected_with_a_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidOffer) as caught:
        make_offer({**BASE, **change})
    assert str(caught.value).startswith(reason)


def test_rejection_codes_are_short() -> None:
    assert rejection_code("miles: Input should be greater than 0 (got -5)") == "miles"
    assert rejection_code("no price: neither miles nor a discount") == "no price"


def test_identity_ignores_price_but_not_route_or_cabin() -> None:
    one = make_offer({**BASE, "miles": 45000, "cabin": "business", "depart_date": "2031-01-10"})
    cheaper = make_offer({**BASE, "miles": 40000, "cabin": "business", "depart_date": "2031-01-10"})
    other_cabin = make_offer(
        {**BASE, "miles": 45000, "cabin": "first", "depart_date": "2031-01-10"}
    )
    assert one.key == cheaper.key != other_cabin.key


def test_offers_of_one_shape_share_their_field_names_and_a_copy_has_its_own() -> None:
    cheap = make_offer({"source": "s", "program": "united", "origin": "SFO", "miles": "30,000"})
    dear = make_offer({"source": "s", "program": "united", "origin": "LAX", "miles": "90,000"})
    other = make_offer({"source": "s", "program": "united", "discount_pct": "30"})

    assert cheap.model_fields_set is dear.model_fields_set  # one set, not one per offer
    assert cheap.model_fields_set == {"source", "program", "origin", "miles"}
    assert other.model_fields_set == {"source", "program", "discount_pct"}
    copied = cheap.model_copy(update={"cabin": "business"})
    assert "cabin" in copied.model_fields_set
    assert "cabin" not in dear.model_fields_set


def test_the_same_text_reads_the_same_on_the_same_day_only() -> None:
    """Text a source repeats is read once a day; a date without a year follows the day seen."""
    raw = {**BASE, "miles": "45,000", "depart_date": "Jan 5", "cabin": "Business Class"}
    june = datetime(2030, 6, 1, tzinfo=UTC)
    first, again = (make_offer({**raw, "seen_at": june}) for _ in range(2))
    later = make_offer({**raw, "seen_at": datetime(2031, 2, 1, tzinfo=UTC)})
    assert first == again and first.depart_date == date(2031, 1, 5)
    assert later.depart_date == date(2032, 1, 5)


def test_a_rejected_text_is_rejected_every_time() -> None:
    for _ in range(2):
        with pytest.raises(InvalidOffer, match="cabin: unknown cabin 'Steerage'"):
            make_offer({**BASE, "miles": 1000, "cabin": "Steerage"})


@pytest.mark.parametrize("text", ["  New   York ", "New\tYork", "New\u00a0York"])
def test_loose_spacing_is_collapsed(text: str) -> None:
    assert make_offer({**BASE, "miles": 1000, "origin": text}).origin == "New York"
