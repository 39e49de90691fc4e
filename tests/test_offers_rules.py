"""The filter stage, table-driven: which rule matches which offer, and why others fail."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from offers.model import make_offer
from offers.rules import Rule, evaluate

TODAY = date(2030, 11, 20)


def offer(**values: Any) -> Any:
    base = {"source": "t", "program": "delta", "origin": "JFK", "destination": "CDG",
            "cabin": "business", "miles": 50000, "depart_date": "2031-02-01"}  # fmt: skip
    return make_offer({**base, **values})


CASES = [
    # (rule, offer changes, passes, reason when not)
    ({"destinations": ["Europe"]}, {}, True, None),
    ({"destinations": ["FR"]}, {}, True, None),
    ({"destinations": ["Paris"]}, {}, True, None),
    ({"destinations": ["CDG"]}, {}, True, None),
    ({"destinations": ["Asia"]}, {}, False, "destination"),
    ({"origins": ["New York"]}, {}, True, None),
    ({"origins": ["US"], "destinations": ["region:Europe"]}, {}, True, None),
    ({"origins": ["Canada"]}, {}, False, "origin"),
    ({"max_miles": 60000}, {}, True, None),
    ({"max_miles": 40000}, {}, False, "max miles"),
    ({"max_miles_by_cabin": {"business": 45000}}, {}, False, "max miles for cabin"),
    ({"max_miles_by_cabin": {"economy": 10000}}, {}, True, None),
    ({"min_discount": 20}, {"discount_pct": 30}, True, None),
    ({"min_discount": 20}, {}, False, "min discount"),
    ({"promo_only": True}, {"promo": True}, True, None),
    ({"promo_only": True}, {}, False, "promo only"),
    ({"programs": ["united"]}, {}, False, "program"),
    ({"cabins": ["business", "first"]}, {}, True, None),
    ({"travel_from": date(2031, 1, 1), "travel_to": date(2031, 1, 31)}, {}, False, "travel dates"),
    ({"travel_from": date(2031, 1, 15), "travel_to": date(2031, 3, 1)}, {}, True, None),
    # places people write: metro codes, ranked city names, informal regions
    ({"origins": ["NYC"]}, {"origin": "EWR"}, True, None),
    ({"destinations": ["PAR"]}, {}, True, None),
    ({"destinations": ["Paris"]}, {"destination": "Paris, TX"}, False, "destination"),
    ({"destinations": ["US"]}, {"destination": "Paris"}, False, "destination"),
    ({"destinations": ["Venice"]}, {"destination": "VCE"}, True, None),
    ({"destinations": ["Venice"]}, {"destination": "VNC"}, False, "destination"),
    ({"destinations": ["Florence"]}, {"destination": "FLR"}, True, None),
    ({"destinations": ["Bali"]}, {"destination": "DPS"}, True, None),
    ({"destinations": ["Scandinavia"]}, {"destination": "DUB"}, False, "destination"),
    ({"destinations": ["Scandinavia"]}, {"destination": "CPH"}, True, None),
    ({"destinations": ["Hawaii"]}, {"destination": "OGG"}, True, None),
    ({"destinations": ["Hawaii"]}, {"destination": "LAX"}, False, "destination"),
    ({"destinations": ["Southeast Asia"]}, {"destination": "Denpasar"}, True, None),
    # programs as pages write them
    ({"programs": ["SkyMiles"]}, {}, True, None),
    ({"programs": ["MileagePlus"]}, {"program": "United MileagePlus"}, True, None),
    ({"programs": ["AAdvantage"]}, {}, False, "program"),
]


@pytest.mark.parametrize(("rule", "change", "passes", "reason"), CASES)
def test_rule(
    rule: dict[str, Any], change: dict[str, Any], passes: bool, reason: str | None
) -> None:
    verdict = evaluate([Rule(name="r", **rule)], offer(**change), TODAY)
    assert verdict.passed is passes
    if passes:
        assert verdict.rules == ["r"]
    else:
        assert verdict.reason == f"no rule matched ({reason})"


def test_any_matching_rule_passes_and_all_matches_are_recorded() -> None:
    rules = [Rule(name="asia", destinations=["Asia"]), Rule(name="cheap", max_miles=60000),
             Rule(name="europe", destinations=["Europe"])]  # fmt: skip
    verdict = evaluate(rules, offer(), TODAY)
    assert verdict.passed and verdict.rules == ["cheap", "europe"]


def test_no_rules_pass_every_valid_offer() -> None:
    assert evaluate([], offer(), TODAY).passed


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"book_by": "2030-11-01"}, "book-by date passed"),
     ({"depart_date": "2030-10-01"}, "travel window over")],
)  # fmt: skip
def test_past_offers_are_rejected(change: dict[str, Any], reason: str) -> None:
    verdict = evaluate([], offer(**change), TODAY)
    assert not verdict.passed and verdict.reason == reason
