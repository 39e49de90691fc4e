"""How well offers.announcements reads award sales, per language: precision and recall of the
sale decision and accuracy per field, on the labelled real posts of fixtures/announcements/
(quoted from public blog and airline pages, with their links) and on this folder's own cases.

    .venv/bin/python bench/extract.py [fixtures/announcements/dev.jsonl ...] [-v]

Field accuracy is counted over the posts labelled as award sales; places are compared as sets of
the names the place data resolves them to (so "Lisboa" and "Lisbon" agree), dates as ISO days.
The language of a post is its label when it has one, else the one the reader detects.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import Row, emit  # noqa: E402

from offers.announcements import Announcement, read  # noqa: E402
from offers.announcements.names import canonical, place_of  # noqa: E402

FIELDS = ("program", "miles_min", "trip", "cabin", "origins", "destinations",
          "travel_start", "travel_end", "book_by")  # fmt: skip
ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "fixtures" / "announcements" / "dev.jsonl"
OWN_CASES = Path(__file__).with_name("announcements.jsonl")


def load(path: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def published(value: str | None) -> date | None:
    if not value:
        return None
    parts = [int(p) for p in value.split("-")] + [1, 1]
    return date(parts[0], parts[1], parts[2])


def place(name: str) -> str:
    """A place as compared: the airports (or countries) it resolves to, else its folded name, so
    "São Paulo" and "Sao Paulo", "Frankfurt" and "Frankfurt am Main" agree."""
    found = place_of(canonical(name) or name)
    if found is None:
        return name.casefold()
    return ",".join(sorted(found.airports or found.countries))


def got(result: Announcement, name: str) -> Any:
    value = getattr(result, name)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return sorted({place(v) for v in value})
    return value


def wanted(case: dict[str, Any], name: str) -> Any:
    value = case.get(name)
    return sorted({place(v) for v in value}) if isinstance(value, list) else value


class Tally:
    def __init__(self) -> None:
        self.posts = self.tp = self.fp = self.fn = self.positives = 0
        self.right = dict.fromkeys(FIELDS, 0)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def fields(self) -> float:
        """Share of the sales' fields read right, over every field."""
        return sum(self.right.values()) / (len(FIELDS) * self.positives) if self.positives else 1.0

    def add(self, other: Tally) -> None:
        self.posts += other.posts
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        self.positives += other.positives
        for name in FIELDS:
            self.right[name] += other.right[name]

    def line(self, label: str) -> str:
        precision, recall = self.precision, self.recall
        fields = " ".join(
            f"{n.replace('travel_', 't_')}={self.right[n] / self.positives:.2f}"
            for n in FIELDS
            if self.positives
        )
        return (
            f"  {label:<4} {self.posts:>3} posts {self.positives:>3} sales  "
            f"P {precision:.2f} R {recall:.2f}  {fields}"
        )


def measure(cases: list[dict[str, Any]], label: str, verbose: bool) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    started = time.perf_counter()
    for case in cases:
        result = read(
            case["title"], case["text"], published(case.get("published")), case.get("link")
        )
        language = case.get("language") or result.language
        truth = bool(case["is_award_sale"])
        for tally in (tallies[language], tallies["all"]):
            tally.posts += 1
            tally.tp += result.is_award_sale and truth
            tally.fp += result.is_award_sale and not truth
            tally.fn += truth and not result.is_award_sale
            tally.positives += truth
        if verbose and result.is_award_sale != truth:
            reason = result.reason or "sale"
            print(f"  [{language}] decision wrong ({reason}): {case['title'][:70]}")
        if not truth:
            continue
        for name in FIELDS:
            if got(result, name) == wanted(case, name):
                tallies[language].right[name] += 1
                tallies["all"].right[name] += 1
            elif verbose:
                shown = f"got {got(result, name)!r} want {wanted(case, name)!r}"
                print(f"  [{language}] {name}: {shown} — {case['title'][:50]}")
    elapsed = time.perf_counter() - started
    print(f"{label}: {len(cases)} posts in {elapsed:.2f} s")
    for language in sorted(tallies, key=lambda code: (code == "all", code)):
        print(tallies[language].line(language))
    return tallies


def dev_row(tallies: dict[str, Tally]) -> Row:
    """The dev set's verdict: English, and the other languages together, each at least the
    goal in precision, recall and field accuracy."""
    others = Tally()
    for language, tally in tallies.items():
        if language not in ("en", "all"):
            others.add(tally)
    english = tallies.get("en", Tally())

    def shown(tally: Tally) -> str:
        return f"P {tally.precision:.2f} R {tally.recall:.2f} fields {tally.fields:.2f}"

    def worst(tally: Tally) -> float:
        return min(tally.precision, tally.recall, tally.fields)

    everything = tallies["all"]
    return Row(
        f"extraction on the labelled dev set ({everything.posts} real posts, "
        f"{everything.positives} sales)",
        f"English {shown(english)}; others {shown(others)}",
        ">= 0.9 English, >= 0.75 others (precision, recall, field accuracy)",
        worst(english) >= 0.9 and worst(others) >= 0.75,
    )


def feed_of(cases: list[dict[str, Any]], size: int) -> bytes:
    """An RSS feed of ``size`` items made of the labelled posts."""
    from xml.sax.saxutils import escape

    items = []
    for index in range(size):
        case = cases[index % len(cases)]
        items.append(
            f"<item><title>{escape(case['title'])}</title><link>{escape(case['link'])}</link>"
            f"<description>{escape('<p>' + case['text'] + '</p>')}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def time_feed(cases: list[dict[str, Any]], size: int = 200) -> None:
    """``parse feed`` on a feed of ``size`` posts: once cold (the language model and place data
    load on first use), then again as every later feed of the process reads."""
    from datetime import UTC, datetime

    from scrapers.parsers import ParseContext
    from scrapers.parsers.feed import parse

    body = feed_of(cases, size)
    ctx = ParseContext(source="bench", fetched_at=datetime(2026, 1, 1, tzinfo=UTC))
    for label in ("first (with start-up)", "after start-up"):
        started = time.perf_counter()
        results = list(parse(body, ctx))
        elapsed = time.perf_counter() - started
        print(f"feed of {size} posts, {label}: {elapsed:.2f} s, {len(results)} results")


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("paths", nargs="*", type=Path, default=[DEV, OWN_CASES])
    args.add_argument("-v", "--verbose", action="store_true", help="show every miss")
    options = args.parse_args(argv)
    for path in options.paths:
        if not path.exists():
            print(f"{path}: not found")
            continue
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        tallies = measure(load(path), str(shown), options.verbose)
        if path == DEV:
            emit(dev_row(tallies))
    if DEV.exists():
        time_feed(load(DEV))
    return 0


if __name__ == "__main__":
    sys.exit(main())
