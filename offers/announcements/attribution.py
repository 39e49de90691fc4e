"""Which program a post's award sale is for: the one whose miles are on sale, not the first
one the post names."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlparse

from offers.programs import find_programs, programs

#: Programs whose currency is Avios: "Avios" alone is British Airways' unless one is named.
_AVIOS = ("iberia", "aerlingus", "qatar", "finnair", "vueling")


def program_of(
    mentions: list[tuple[int, str]],
    title_end: int,
    whole: str,
    link: str | None,
    unit: str,
    cue_at: int | None,
) -> str | None:
    """The program on sale: named in the unit of the lowest price ("17,500 SkyMiles"), else
    named just before the sale cue ("Flying Blue Promo Rewards"), else the one the title names
    most often in the post, else the one the post names most, else the link's airline.
    ``mentions`` are the programs named in ``whole``, which starts with the title."""
    named = [p for _, p in mentions]
    chosen = _first([p for _, p in find_programs(unit)]) if unit.strip() else None
    if chosen is None and cue_at is not None:
        sentence_start = max(whole.rfind(".", 0, cue_at), whole.rfind("\n", 0, cue_at), 0)
        before = [p for at, p in mentions if sentence_start <= at <= cue_at]
        after = [p for at, p in mentions if cue_at < at <= cue_at + 40]
        chosen = before[-1] if before else (after[0] if after else None)
    if chosen is None:
        in_title = [p for at, p in mentions if at < title_end]
        counts = Counter(named)
        if in_title:
            chosen = max(dict.fromkeys(in_title), key=lambda p: counts[p])
        elif named:
            chosen = max(dict.fromkeys(named), key=lambda p: counts[p])
    if chosen is None:
        chosen = _by_host(link)
    if chosen == "british" and not re.search(r"(?i)british\s+airways|executive\s+club", whole):
        other = next((p for p in named if p in _AVIOS), None)
        chosen = other or chosen
    return chosen


def _first(found: list[str]) -> str | None:
    return found[0] if found else None


def _by_host(link: str | None) -> str | None:
    host = urlparse(link or "").netloc.lower()
    if not host:
        return None
    for _, found in find_programs(host.replace(".", " ")):
        return found
    for pid, program in programs().items():
        if any(n.endswith((".com", ".fr", ".de")) and n in host for n in program.names):
            return pid
    return None
