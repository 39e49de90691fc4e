"""The identity of an offer read from a post, whatever the post's text was cut to.

Feeds often carry a post cut short ("… for travel from May [&#8230;]"), and a feed may carry
the full text one day and an excerpt the next. The excerpt gives the same sale with fewer
details, and so another key. Such an offer is the stored offer of the same post (same program
and link) that it agrees with on every detail both state; the one agreeing on most wins.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils
from pydantic import ValidationError

from offers.model import Offer

#: What tells two sales of one post apart; a detail only one of them states is no conflict.
DETAILS = ("origin", "destination", "depart_date", "travel_start", "travel_end", "cabin")
#: Filled in from the stored offer when the post, cut short, no longer says them.
FILLED = (*DETAILS, "airline", "book_by", "discount_pct", "taxes", "currency", "title")

Keyed = tuple[str, Offer, list[str], bool]


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value.isoformat() if hasattr(value, "isoformat") else value).upper()


def agreement(offer: Offer, row: dict[str, Any]) -> int | None:
    """How many details ``offer`` and the stored ``row`` both state alike (the trip counts as
    one); None when they state one differently."""
    score = int(offer.trip == row["trip"])
    for name in DETAILS:
        mine, theirs = _text(getattr(offer, name)), _text(row[name])
        if mine and theirs:
            if mine != theirs:
                return None
            score += 1
    return score


def _candidates(db: sqlite_utils.Database, offer: Offer) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT * FROM offers WHERE program = ? AND url = ? ORDER BY key",
            [offer.program, offer.url],
        )
    )


def _filled(offer: Offer, row: dict[str, Any]) -> Offer:
    missing = {name: row[name] for name in FILLED if getattr(offer, name) is None and row[name]}
    if not missing:
        return offer
    try:
        return Offer.model_validate({**offer.record(), **missing})
    except ValidationError:
        return offer


def match(db: sqlite_utils.Database, keyed: list[Keyed], stored: dict[str, Any]) -> list[Keyed]:
    """Each (key, offer, rules, matched) with an unknown key and a link becomes, when a stored
    offer of the same post agrees with it, (that offer's key, the offer with the details only
    the stored one states, rules, True). An excerpt of a sale this run also read in full adds
    nothing and is dropped."""
    taken = {key for key, *_ in keyed if key in stored}
    result: list[Keyed] = []
    for key, offer, rules, _ in keyed:
        if key in stored or not offer.url:
            result.append((key, offer, rules, False))
            continue
        best: tuple[int, dict[str, Any]] | None = None
        for row in _candidates(db, offer):
            score = agreement(offer, row)
            if score is not None and (best is None or score > best[0]):
                best = (score, row)
        if best is None:
            result.append((key, offer, rules, False))
        elif best[1]["key"] not in taken:
            taken.add(best[1]["key"])
            result.append((best[1]["key"], _filled(offer, best[1]), rules, True))
    return result
