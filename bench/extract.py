"""How well offers.announcements reads award sales: precision and recall of the sale decision
and accuracy per field, on labelled real posts and on this folder's own cases.

    .venv/bin/python bench/extract.py [../shared/reference/announcements/dev.jsonl] [-v]

Field accuracy is counted over the posts labelled as award sales; places are compared as sets
(case-insensitive), dates as ISO days.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from offers.announcements import Announcement, read  # noqa: E402

FIELDS = ("program", "miles_min", "trip", "cabin", "origins", "destinations",
          "travel_start", "travel_end", "book_by")  # fmt: skip
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


def got(result: Announcement, name: str) -> Any:
    value = getattr(result, name)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return sorted(v.lower() for v in value)
    return value


def wanted(case: dict[str, Any], name: str) -> Any:
    value = case.get(name)
    return sorted(v.lower() for v in value) if isinstance(value, list) else value


def measure(cases: list[dict[str, Any]], label: str, verbose: bool) -> None:
    tp = fp = fn = 0
    right = dict.fromkeys(FIELDS, 0)
    positives = 0
    for case in cases:
        result = read(
            case["title"], case["text"], published(case.get("published")), case.get("link")
        )
        truth = bool(case["is_award_sale"])
        tp += result.is_award_sale and truth
        fp += result.is_award_sale and not truth
        fn += truth and not result.is_award_sale
        if verbose and result.is_award_sale != truth:
            print(f"  decision wrong ({result.reason or 'sale'}): {case['title']}")
        if not truth:
            continue
        positives += 1
        for name in FIELDS:
            if got(result, name) == wanted(case, name):
                right[name] += 1
            elif verbose:
                shown = f"got {got(result, name)!r} want {wanted(case, name)!r}"
                print(f"  {name}: {shown} — {case['title'][:60]}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"{label}: {len(cases)} posts, {positives} award sales, {fp} false alarms")
    print(f"  sale decision  precision {precision:.2f}  recall {recall:.2f}")
    for name in FIELDS:
        share = right[name] / positives if positives else 1.0
        print(f"  {name:<13} {share:.2f}")


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("path", nargs="?", default="../shared/reference/announcements/dev.jsonl")
    args.add_argument("-v", "--verbose", action="store_true", help="show every miss")
    options = args.parse_args(argv)
    reference = Path(options.path)
    if reference.exists():
        measure(load(reference), str(reference), options.verbose)
    else:
        print(f"{reference}: not found (real posts skipped)")
    measure(
        load(OWN_CASES),
        str(
            OWN_CASES.relative_to(Path.cwd()) if OWN_CASES.is_relative_to(Path.cwd()) else OWN_CASES
        ),
        options.verbose,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
