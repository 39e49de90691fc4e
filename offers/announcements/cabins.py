"""The cabins a post names, in its language's words."""

from __future__ import annotations

import re
from functools import lru_cache

from offers.announcements.vocabulary import CABINS, Vocabulary, languages, raw

_LIST_JOINER = re.compile(
    r"^\s*(?:/|&|,|\+|and|or|et|y|e|und|oder|dan|atau|o|ou|、|・|및|和)\s*$", re.I
)


def cabin_of(word: str, vocab: Vocabulary) -> str | None:
    """The cabin one written name stands for ("Executiva" is business), or None."""
    key = " ".join(word.split())
    for pattern, cabin in vocab.cabin_names:
        if pattern.match(key):
            return cabin
    return None


def cabins(words: str, vocab: Vocabulary) -> list[str]:
    """The cabins a text names, economy first; an everyday word ("first", "business",
    "primeira") counts only beside a class word or in a list of cabins."""
    found: set[str] = set()
    matches = list(vocab.cabin.finditer(words))
    for index, match in enumerate(matches):
        name = match.group(0)
        if name.lower() in vocab.ambiguous_cabins and not _as_cabin(words, matches, index, vocab):
            continue
        cabin = cabin_of(name, vocab)
        if cabin:
            found.add(cabin)
    return [c for c in CABINS if c in found]


def _as_cabin(words: str, matches: list[re.Match[str]], index: int, vocab: Vocabulary) -> bool:
    match = matches[index]
    after = words[match.end() : match.end() + 14]
    before = words[max(0, match.start() - 12) : match.start()]
    if vocab.cabin_class.match(after) or vocab.cabin_lead.search(before):
        return True
    neighbours = matches[max(0, index - 1) : index] + matches[index + 1 : index + 2]
    for other in neighbours:
        between = words[min(other.end(), match.end()) : max(other.start(), match.start())]
        if _LIST_JOINER.match(between):
            return True
    return False


#: Words that name a cabin inside a longer field ("Saver Business", "Main Cabin Economy").
_CABIN_WORDS_INSIDE = (
    ("premium economy", "premium_economy"),
    ("business", "business"),
    ("first", "first"),
    ("economy", "economy"),
    ("coach", "economy"),
)


@lru_cache(maxsize=1)
def _every_cabin_name() -> tuple[dict[str, str], tuple[tuple[re.Pattern[str], str], ...]]:
    """Fare products and, per cabin, one pattern of its names in every language."""
    products: dict[str, str] = dict(raw("en").get("cabins", {}).get("products", {}))
    names: dict[str, list[str]] = {cabin: [] for cabin in CABINS}
    for code in languages():
        section = raw(code).get("cabins", {})
        for cabin in CABINS:
            names[cabin] += section.get(cabin, [])
    patterns = tuple(
        (re.compile(rf"(?:{'|'.join(found)})", re.IGNORECASE), cabin)
        for cabin, found in names.items()
    )
    return products, patterns


def cabin_named(name: str) -> str | None:
    """The cabin a page's cabin field names ("Business Class", "Executiva", "ビジネスクラス",
    "Wanna Get Away"), or None: the one cabin vocabulary, for fields as for posts."""
    key = " ".join(name.lower().split())
    products, patterns = _every_cabin_name()
    for candidate in (key, re.sub(r"\s+(?:class|cabin|classe|clase|klasse)$", "", key)):
        if candidate in products:
            return products[candidate]
        for pattern, cabin in patterns:
            if pattern.fullmatch(candidate):
                return cabin
    for word, cabin in _CABIN_WORDS_INSIDE:
        if word in key:
            return cabin
    return None
