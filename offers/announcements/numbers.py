"""Miles figures in the ways posts write them: ``12,500``, ``12.500``, ``12 500``, ``12.5K``,
``12,5 mil`` (Portuguese and Spanish thousands), ``25.000 mil`` (Indonesian miles), and East
Asian myriads ``1万5000``, ``1.5万``, ``一万五千``, ``1만 5천``. A mark followed by three digits
groups thousands, one followed by one or two digits is a decimal mark ("12,5 mil", "12.5K"): a
miles price is a whole number, so no figure is both. The group separators a figure may use are
the usual ones plus those of the post's locales, from babel ("12’500" in Swiss German)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000, "천": 1000, "백": 100}
_MYRIADS = {"万": 10_000, "萬": 10_000, "만": 10_000, "億": 100_000_000, "억": 100_000_000}
#: Group separators every locale's posts use; babel adds each locale's own.
SEPARATORS = ",. '’"
_CJK_DIGIT = "〇零一二三四五六七八九两兩"
#: A figure written with myriads: "1万5000", "1.5万", "一万五千", "1만 5천".
EAST_ASIAN = (
    rf"(?:\d+(?:\.\d+)?|[{_CJK_DIGIT}十百千]+)\s?[万萬만](?:\s?(?:\d{{1,4}}|[{_CJK_DIGIT}十百千]+)\s?[千천]?)?"
    rf"|\d{{1,2}}\s?[千천](?:\s?\d{{1,3}})?"
)


class NotAFigure(ValueError):
    """Not a number of miles"""


@lru_cache(maxsize=16)
def separators(locales: tuple[str, ...]) -> str:
    """The group separators figures of these locales use, as a character class body."""
    from babel.numbers import get_group_symbol

    found = set(SEPARATORS)
    for locale in locales:
        try:
            found.add(str(get_group_symbol(locale)))
        except (ValueError, LookupError):
            continue
    normal = {unicodedata.normalize("NFKC", s).replace("\u00a0", " ") for s in found}
    return "".join(re.escape(s) for s in sorted(normal) if len(s) == 1)


def western(num: str, thousand: bool = False) -> int:
    """A figure in Western digits; ``thousand`` when a "k"/"mil"/"ribu" follows it. A figure
    already grouped in thousands is never multiplied again ("25.000 mil" is 25,000)."""
    num = num.strip()
    if re.fullmatch(r"\d{1,3}(?:\D\d{3})+", num):
        return int(re.sub(r"\D", "", num))
    if re.fullmatch(r"\d+[.,]\d{1,2}", num):
        value = float(num.replace(",", "."))
    elif re.fullmatch(r"\d+", num):
        value = float(num)
    else:
        raise NotAFigure(num)
    return int(round(value * (1000 if thousand else 1)))


def _small(text: str) -> int:
    """A number below 10,000 in digits or in CJK numerals with 十百千."""
    text = text.strip()
    if not text:
        return 0
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return int(float(text))
    total = current = 0
    for char in text:
        if char in _DIGITS:
            current = _DIGITS[char]
        elif char in _SMALL_UNITS:
            total += (current or 1) * _SMALL_UNITS[char]
            current = 0
        elif char.isdigit():
            current = current * 10 + int(char)
        elif not char.isspace():
            raise NotAFigure(text)
    return total + current


def east_asian(text: str) -> int:
    """A figure with myriads: ``1万5000`` = 15,000, ``1.5万`` = 15,000, ``1만 5천`` = 15,000."""
    compact = re.sub(r"\s+", "", text)
    total = 0
    rest = compact
    for mark, size in sorted(_MYRIADS.items(), key=lambda kv: -kv[1]):
        if mark in rest:
            head, _, rest = rest.partition(mark)
            if re.fullmatch(r"\d+\.\d+", head):
                total += int(round(float(head) * size))
            else:
                total += _small(head) * size
    if rest:
        match = re.fullmatch(r"(\d{1,3})([千천])(\d{1,3})?", rest)
        if match:
            total += int(match.group(1)) * 1000 + int(match.group(3) or 0)
        else:
            total += _small(rest)
    return total
