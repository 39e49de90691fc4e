"""The loyalty programs awardwatch knows, from one table (``offers/data/programs.toml``).

A program has an id (``united``) that offers, config and rules use; a display name that alerts
print (``United MileagePlus``); the airline whose program it is; and the names pages and posts
write for it (``MileagePlus``, ``United Airlines``, ``AAdvantage``, ``Avios``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Program:
    id: str
    name: str
    airline: str
    currency: str
    names: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    not_after: tuple[str, ...] = ()
    not_before: tuple[str, ...] = ()


class ProgramTableError(ValueError):
    """The program table is inconsistent"""


def _key(text: str) -> str:
    """A name folded for comparison: case, spaces, hyphens and dots do not count."""
    return re.sub(r"[\s\-_.'’]+", "", text.casefold())


@lru_cache(maxsize=1)
def programs() -> dict[str, Program]:
    """Every known program by id, in the table's order."""
    table = tomllib.loads(resources.files("offers").joinpath("data/programs.toml").read_text())
    return {
        pid: Program(
            id=pid,
            name=row["name"],
            airline=row["airline"],
            currency=row["currency"],
            names=tuple(row.get("names", ())),
            words=tuple(row.get("words", ())),
            not_after=tuple(row.get("not_after", ())),
            not_before=tuple(row.get("not_before", ())),
        )
        for pid, row in table.items()
    }


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    index: dict[str, str] = {}
    for program in programs().values():
        for name in (program.id, program.name, *program.names, *program.words):
            key = _key(name)
            if index.setdefault(key, program.id) != program.id:
                raise ProgramTableError(
                    f"{name!r} names both {index[key]!r} and {program.id!r} in programs.toml"
                )
    return index


@lru_cache(maxsize=1024)
def program_id(text: str | None) -> str | None:
    """The id of the program ``text`` names exactly (an id, display name, brand or airline
    name, in any case and spacing), or None."""
    if not text:
        return None
    return _by_name().get(_key(text))


def display_name(program: str) -> str:
    """The name alerts print for a program id (the id itself when unknown)."""
    known = programs().get(program)
    return known.name if known else program


def airline_of(program: str) -> str | None:
    """The airline whose program it is, or None for an unknown id."""
    known = programs().get(program)
    return known.airline if known else None


def currency_of(program: str) -> str | None:
    """What the program calls its unit (``miles``, ``Avios``, ``points``), or None."""
    known = programs().get(program)
    return known.currency if known else None


# Letters and digits of Latin script: a name next to one of them is part of a longer word. A name
# next to a CJK or other letter ("ユナイテッド航空MileagePlus") still stands on its own.
_LATIN = r"0-9A-Za-z\u00c0-\u024f"


def _alternation(names: list[str]) -> str:
    parts = sorted({n for n in names if n}, key=len, reverse=True)
    return "|".join(r"\s*".join(re.escape(w) for w in re.split(r"\s+", p)) for p in parts)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    found: list[tuple[str, re.Pattern[str]]] = []
    for program in programs().values():
        if program.names:
            names = _alternation(list(program.names))
            found.append((program.id, re.compile(rf"(?<![{_LATIN}])(?i:{names})(?![{_LATIN}])")))
        if program.words:
            after = "".join(rf"(?<!{re.escape(w)}\s)" for w in program.not_after)
            before = "".join(rf"(?!\s+{re.escape(w)}\b)" for w in program.not_before)
            words = rf"(?<![{_LATIN}])(?:{_alternation(list(program.words))})(?![{_LATIN}])"
            found.append((program.id, re.compile(f"{after}{words}{before}")))
    return found


def find_programs(text: str) -> list[tuple[int, str]]:
    """Every program named in free text, as (offset, id) in reading order. A longer name wins
    over a shorter one at the same place ("United MileagePlus" is one mention, not two)."""
    hits: list[tuple[int, int, str]] = []
    for program, pattern in _patterns():
        hits.extend((m.start(), m.end(), program) for m in pattern.finditer(text))
    hits.sort(key=lambda h: (h[0], -h[1]))
    mentions: list[tuple[int, str]] = []
    covered = -1
    for start, end, program in hits:
        if start < covered:
            continue
        mentions.append((start, program))
        covered = end
    return mentions
