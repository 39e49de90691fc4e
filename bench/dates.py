"""How fast offers.dates reads the windows pages and posts write, per form.

    .venv/bin/python bench/dates.py

Prints the mean time per item for each form after a first warm-up read (which loads the other
languages' month names once); the budget is 5 ms per item for the common forms.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from offers.dates import read_window  # noqa: E402

FORMS = [
    "March 3 – 20, 2031",
    "May 5-19 2031",
    "Apr 1 to 15 2031",
    "5–19 May 2031",
    "Jan 10 – Mar 15, 2031",
    "May 5, 2031 – May 19, 2031",
    "2031-05-05 – 2031-05-19",
    "March 2031",
    "through June 30, 2031",
    "from January 15 to March 31, 2027",
    "Dec 15 – Jan 10",
    "Book by December 31, 2030",
    "du 5 au 19 mai 2031",
    "vom 5. bis 19. Mai 2031",
    "2031年5月5日～5月19日",
]
ROUNDS = 2000


def main() -> int:
    seen = date(2030, 12, 1)
    for text in FORMS:
        read_window(text, seen=seen)
    print(f"{'form':40} {'µs/item':>9}")
    worst = 0.0
    for text in FORMS:
        started = time.perf_counter()
        for _ in range(ROUNDS):
            read_window(text, seen=seen)
        micros = (time.perf_counter() - started) / ROUNDS * 1e6
        worst = max(worst, micros)
        print(f"{text:40} {micros:9.1f}")
    print(f"slowest: {worst / 1000:.3f} ms per item (budget 5 ms)")
    return 0 if worst < 5000 else 1


if __name__ == "__main__":
    sys.exit(main())
