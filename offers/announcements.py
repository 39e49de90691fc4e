"""Award sales in blog posts and airline news: is a post announcing one, and on what terms.

Rules and regular expressions only (no network, no model): a post is an award sale when it
says so ("award sale", "Promo Rewards", "reduced mileage awards", a discount on redemptions)
or states a miles price, and it is not one of the lookalikes a points blog publishes every day
(a cash fare sale, a bonus on buying miles, a credit-card offer, a general guide).
From an award sale it reads the program, the lowest miles figure and its trip type, the cabins,
the places, the travel window and the book-by date; month names come in every language that
dateparser knows, and a date without a year is placed after the post's own date.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlparse

from offers import text as loose
from offers.places import try_resolve

# -- what a post says -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sale:
    """One distinct award sale of a post: a route (or none) with its own lowest price."""

    miles: int | None = None
    trip: str | None = None
    cabin: str | None = None
    origins: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Announcement:
    """What a post says about an award sale; ``reason`` says why it is not one."""

    is_award_sale: bool
    reason: str = ""
    program: str | None = None
    airline: str | None = None
    miles_min: int | None = None
    trip: str | None = None
    cabin: str | None = None
    discount_pct: float | None = None
    origins: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()
    travel_start: date | None = None
    travel_end: date | None = None
    book_by: date | None = None
    sales: tuple[Sale, ...] = field(default=())


# -- programs ----------------------------------------------------------------------------------

#: Names that identify a program, loyalty-program names before airline names. Case-sensitive
#: where the word has an everyday meaning ("United", "Delta", "American").
_PROGRAM_NAMES: tuple[tuple[str, str], ...] = (
    ("flyingblue", r"(?i:flying\s*blue|promo\s*rewards?|air\s*france|\bklm\b)"),
    (
        "american",
        r"(?i:aadvantage|american\s+airlines|milesaaver|\baa\.com)|\bAmerican(?!\s+Express)\b",
    ),
    (
        "delta",
        r"(?i:skymiles|delta\s+air\s*lines|delta\.com)|\bDelta\b(?!\s+(?:[Ss]tate|[Ff]aucet))",
    ),
    (
        "united",
        r"(?i:mileageplus|united\s+airlines|united\.com)|\bUnited\b(?!\s+(?:States|Kingdom|Arab|Nations))",
    ),
    ("southwest", r"(?i:rapid\s+rewards|southwest\s+airlines)|\bSouthwest\b"),
    ("alaska", r"(?i:mileage\s+plan|alaska\s+airlines|atmos\s+rewards)"),
    ("jetblue", r"(?i:trueblue|jetblue)"),
    ("hawaiian", r"(?i:hawaiianmiles|hawaiian\s+airlines)"),
    ("aeroplan", r"(?i:aeroplan|air\s+canada)"),
    ("virginatlantic", r"(?i:flying\s+club|virgin\s+atlantic)"),
    ("british", r"(?i:british\s+airways|executive\s+club|\bba\.com)"),
    ("iberia", r"(?i:iberia)"),
    ("aerlingus", r"(?i:aer\s*lingus|aerclub)"),
    ("qatar", r"(?i:qatar|privilege\s+club|qrewards|qmiles)"),
    ("emirates", r"(?i:skywards)|(?<!Arab )\bEmirates\b"),
    ("etihad", r"(?i:etihad)"),
    ("turkish", r"(?i:miles\s*&\s*smiles|turkish\s+airlines)"),
    ("lufthansa", r"(?i:miles\s*(?:&|and)\s*more|lufthansa|meilenschn\w+)"),
    ("krisflyer", r"(?i:krisflyer|singapore\s+airlines)"),
    ("cathay", r"(?i:asia\s+miles|cathay)"),
    ("ana", r"(?i:all\s+nippon)|\bANA\b"),
    ("jal", r"(?i:japan\s+airlines)|\bJAL\b"),
    ("qantas", r"(?i:qantas)"),
    ("velocity", r"(?i:virgin\s+australia)|\bVelocity\b"),
    ("lifemiles", r"(?i:lifemiles|avianca)"),
    ("smiles", r"(?i:gol\s+smiles|smiles\s+(?:club|gol))"),
    ("latam", r"(?i:latam)"),
    ("aeromexico", r"(?i:aerom[eé]xico|club\s+premier)"),
    ("korean", r"(?i:skypass|korean\s+air)"),
    ("asiana", r"(?i:asiana)"),
    ("eva", r"(?i:eva\s+air)"),
    ("finnair", r"(?i:finnair)"),
    ("sas", r"(?i:eurobonus)|\bSAS\b"),
    ("tap", r"(?i:tap\s+(?:air\s+)?portugal|miles\s*&\s*go)"),
    # Avios alone: British Airways' currency unless another Avios airline is named
    ("british", r"(?i:\bavios\b)"),
)
_PROGRAM_PATTERNS = [(program, re.compile(pattern)) for program, pattern in _PROGRAM_NAMES]

#: Airline domains that say whose offer page a link is.
_PROGRAM_HOSTS = {
    "airfrance": "flyingblue", "klm": "flyingblue", "flyingblue": "flyingblue",
    "aa.com": "american", "delta.com": "delta", "united.com": "united",
    "qatarairways": "qatar", "britishairways": "british", "iberia": "iberia",
    "emirates": "emirates", "etihad": "etihad", "turkishairlines": "turkish",
    "lufthansa": "lufthansa", "milesandmore": "lufthansa", "singaporeair": "krisflyer",
    "aircanada": "aeroplan", "virginatlantic": "virginatlantic", "alaskaair": "alaska",
    "jetblue": "jetblue", "southwest": "southwest", "qantas": "qantas", "lifemiles": "lifemiles",
}  # fmt: skip

AIRLINES: dict[str, str] = {
    "delta": "Delta Air Lines", "american": "American Airlines", "united": "United Airlines",
    "southwest": "Southwest Airlines", "alaska": "Alaska Airlines", "jetblue": "JetBlue",
    "hawaiian": "Hawaiian Airlines", "flyingblue": "Air France-KLM", "aeroplan": "Air Canada",
    "virginatlantic": "Virgin Atlantic", "british": "British Airways", "iberia": "Iberia",
    "aerlingus": "Aer Lingus", "qatar": "Qatar Airways", "emirates": "Emirates",
    "etihad": "Etihad Airways", "turkish": "Turkish Airlines", "lufthansa": "Lufthansa Group",
    "krisflyer": "Singapore Airlines", "cathay": "Cathay Pacific", "ana": "ANA",
    "jal": "Japan Airlines", "qantas": "Qantas", "velocity": "Virgin Australia",
    "lifemiles": "Avianca", "smiles": "GOL", "latam": "LATAM", "aeromexico": "Aeromexico",
    "korean": "Korean Air", "asiana": "Asiana Airlines", "eva": "EVA Air", "finnair": "Finnair",
    "sas": "SAS", "tap": "TAP Air Portugal",
}  # fmt: skip


def find_program(title: str, body: str, link: str | None = None) -> str | None:
    """The program a post is about: named in the title, else most named in the text, else the
    airline whose site the link is on."""
    for words in (title,):
        found = _programs_in(words)
        if found:
            return found[0]
    found = _programs_in(body)
    if found:
        return max(found, key=found.count)
    host = urlparse(link or "").netloc.lower()
    for name, program in _PROGRAM_HOSTS.items():
        if name in host:
            return program
    return None


def _programs_in(words: str) -> list[str]:
    hits = [(m.start(), p) for p, rx in _PROGRAM_PATTERNS for m in rx.finditer(words)]
    named = [p for _, p in sorted(hits)]
    # an Avios airline named beside "Avios" owns it
    other_avios = any(p in named for p in ("iberia", "aerlingus", "qatar", "finnair"))
    if other_avios and not re.search(r"(?i)british\s+airways|executive\s+club", words):
        named = [p for p in named if p != "british"]
    return named


# -- the decision ------------------------------------------------------------------------------

_AWARD_SALE = re.compile(
    r"(?i)\baward\s+(?:flash\s+)?sales?\b|\bflash\s+award|\bpromo\s*(?:rewards?|awards?)\b"
    r"|\breduced[\s-]+mileage\s+awards?|\bdiscounted\s+(?:award|reward|redemption)s?"
    r"|\b(?:award|reward|redemption)s?\s+(?:discount|deal)s?\b|\breward\s+(?:seat|flight)s?\s+sale"
    r"|\b(?:off|on)\s+(?:award|reward)\s+(?:flights?|tickets?|seats?|travel|redemptions?)"
    r"|\bwhen\s+you\s+redeem|\bredeem\w*\s+.{0,40}\b(?:for\s+(?:just|only)|discount|off\b)"
    r"|\b\d{1,3}(?:,\d{3})+-(?:mile|point|avios)\s+awards?|meilenschn[aä]ppchen"
    r"|promo(?:ção|ción|tion)?\s+(?:de\s+)?(?:resgate|milhas|millas|miles)"
    r"|r[ée]duction\s+sur\s+les\s+(?:billets|miles)|descuento\s+en\s+(?:millas|avios|canjes)"
)
_BUY_MILES = re.compile(
    r"(?i)\b(?:buy|buying|purchas\w*)\s+(?:\w+\s+){0,2}(?:miles|points|avios)\b"
    r"|\b(?:miles|points|avios)\s+(?:\w+\s+){0,1}purchased\b|\bbonus\s+on\s+(?:\w+\s+)?(?:purchased|bought)"
    r"|\b(?:miles|points|avios)\s+on\s+sale\b|\bpurchase\s+bonus|\bbuy\s+\w+\s+sale"
    r"|\bcompr(?:ar|e|a)\s+(?:de\s+)?(?:milhas|millas|avios)|\bachat\s+de\s+miles|\bmeilen\s+kaufen"
)
_CREDIT_CARD = re.compile(
    r"(?i)\b(?:sign[\s-]?up|welcome)\s+(?:bonus|offer)|\bcredit\s+cards?\s+(?:offer|bonus|review)"
    r"|\bafter\s+(?:you\s+)?spend(?:ing)?\b|\bannual\s+fee|\bcard\s*members?\b|\bcard\s+offers?\b"
    r"|\b(?:new|best)\s+(?:\w+\s+){0,2}cards?\b|\bamex\b|\bcobrand|\bco-brand"
)
_CASH = re.compile(r"(?:[$€£]|\b(?:USD|EUR|GBP|CAD|AUD)\s?)\s?\d|\b\d+\s?(?:€|euros?|dollars?)\b")
_GUIDE = re.compile(
    r"(?i)\bhow\s+to\b|\bguide\s+to\b|\bultimate\s+guide|\bbest\s+ways?\b|\bways\s+to\b"
    r"|\beverything\s+you\s+need|\bsweet\s+spots?\b|\bexplained\b|\bbeginner|\bwhat\s+is\b"
    r"|\btips\b|\breview\b|\bshould\s+you\b|\bcomplete\s+guide|\bbasics\b|\bfaq\b"
)
_TIME_LIMITED = re.compile(
    r"(?i)\bsale\b|\bpromo|\blimited[\s-]time|\bflash\b|\bbook\s+by\b|\bends?\s|\buntil\b"
    r"|\bthrough\b|\bexpires?\b|\bdeal\b|\breduced\b|\bdiscount|\b\d{1,2}\s?%\s*off"
)
_DISCOUNT = re.compile(
    r"(?i)(?:\bsave\s+(?:up\s+to\s+)?(\d{1,2})\s?%|\b(\d{1,2})\s?%\s*(?:off|discount|less|de\s+(?:r[ée]duction|descuento|desconto)|rabatt|günstiger)"
    r"|-\s?(\d{1,2})\s?%)"
)


def decide(title: str, body: str, miles_priced: bool, discount: float | None) -> str:
    """Empty when the post announces an award sale, else why it does not."""
    whole = f"{title}\n{body}"
    strong = bool(_AWARD_SALE.search(whole))
    if not strong and _BUY_MILES.search(title):
        return "buy miles bonus"
    if not strong and _CREDIT_CARD.search(title) and re.search(r"(?i)\bcards?\b", title):
        return "credit card offer"
    if strong:
        return ""
    if miles_priced and not (_BUY_MILES.search(body) or _CREDIT_CARD.search(body)):
        if _GUIDE.search(title) and not _TIME_LIMITED.search(whole):
            return "general guide"
        return ""
    about_awards = re.search(r"(?i)\b(?:redeem|redemption|award|reward|miles|points|avios)", whole)
    if discount and about_awards and not (_BUY_MILES.search(whole) or _CASH.search(whole)):
        return ""
    if _BUY_MILES.search(whole):
        return "buy miles bonus"
    if _CREDIT_CARD.search(whole):
        return "credit card offer"
    if _CASH.search(whole):
        return "cash fare sale"
    if _GUIDE.search(title):
        return "general guide"
    return "no miles price or award discount"


# -- miles figures -----------------------------------------------------------------------------

_UNIT = r"(?:miles?|milles?|millas|milhas|meilen|miglia|points?|pts|punt[io]s|pontos|avios|qpoints)"
_PROGRAM_WORD = r"(?:[A-Z][\w&+-]*\s+){0,2}"
_NUMBER = r"\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+|\d+(?:[.,]\d+)?\s?(?:k\b|K\b|mil\b)|\d{3,6}"
_FIGURE = re.compile(
    # a figure is a whole number: "Dec 31 2030" holds no "31 203"
    rf"(?<![\d,.])(?P<num>{_NUMBER})(?![\d])(?:\s*(?P<unit>{_PROGRAM_WORD}{_UNIT}\b)"
    r"|(?P<award>-(?:mile|point|avios)\s+award))?",
    re.IGNORECASE,
)
_TRIP_WORDS = {
    "one-way": r"one[\s-]way|each\s+way|per\s+direction|aller\s+simple|solo\s+ida|s[oó]\s+ida"
    r"|oneway|pro\s+strecke|(?:o|por)\s+trecho|por\s+tramo",
    "round-trip": r"round[\s-]?trip|roundtrip|return|aller[\s-]retour|ida\s+y\s+vuelta"
    r"|ida\s+e\s+volta|hin(?:-|\s+)\s*und\s+(?:zur[uü]ck|r[uü]ckflug)",
}
_TRIP = re.compile(
    "|".join(f"(?P<{k.replace('-', '_')}>{v})" for k, v in _TRIP_WORDS.items()), re.IGNORECASE
)
#: Words before a figure that make it not the sale price: the regular price, a distance, a bonus.
_NOT_PRICE_BEFORE = re.compile(
    r"(?i)(?:instead\s+of|rather\s+than|usual(?:ly)?|regular(?:ly)?|normal(?:ly)?|down\s+from|was|were"
    r"|previously|compared\s+(?:to|with)|versus|vs\.?|less\s+than|under|within|over|more\s+than|up\s+to"
    r"|earn(?:ing)?|bonus\s+of|buy|purchas\w*|spend(?:ing)?|at\s+least|first|top|kicking\s+in\s+at)\s*(?:the\s+)?(?:usual\s+)?$"
)
_NOT_PRICE_AFTER = re.compile(
    r"(?i)^\s*(?:miles?\s+)?(?:or\s+(?:less|fewer|more)|nonstop|away|flown|distance|long|bonus|purchased"
    r"|members|travell?ers|people|subscribers|%|percent|\$)"
)
_PRICE_LEAD = re.compile(
    r"(?i)(?:\bfor|\bfrom|\bjust|\bonly|\bat|\bcosts?|\bpara|\bpour|\bdès|\bab|\bdesde|\bpor|:)\s*$"
)


@dataclass(frozen=True)
class Figure:
    miles: int
    start: int
    end: int
    trip: str | None


def figures(words: str, award_context: bool) -> list[Figure]:
    """The miles prices stated in ``words``: a figure with a miles unit, an ``N-mile award``, or,
    in a post that is about awards, a bare thousands figure priced with "for" or a trip type."""
    found: list[Figure] = []
    for match in _FIGURE.finditer(words):
        before, after = words[max(0, match.start() - 40) : match.start()], words[match.end() :]
        if re.search(r"[$€£]\s?$|[\d/.-]$", before) or re.match(r"\s?(?:%|[$€£]|-\d)", after):
            continue
        trip = _trip_after(after) or _trip_before(before)
        unit = bool(match.group("unit") or match.group("award"))
        bare = (
            not unit
            and award_context
            and re.search(r"\d[,.\u00a0 ]\d{3}|k\b|K\b", match.group("num"))
        )
        if not (unit or (bare and (trip or _PRICE_LEAD.search(before)))):
            continue
        if _NOT_PRICE_BEFORE.search(before) or _NOT_PRICE_AFTER.match(after):
            continue
        miles = loose.parse_miles(match.group("num"))
        if miles is None or not 500 <= miles <= 1_000_000 or _is_year(match.group("num"), unit):
            continue
        found.append(Figure(miles, match.start(), match.end(), trip))
    return found


def _is_year(num: str, unit: bool) -> bool:
    return not unit and bool(re.fullmatch(r"(?:19|20)\d{2}", num.strip()))


def _trip_after(after: str) -> str | None:
    # the trip type follows its figure closely, before any other figure
    window = re.sub(r"\([^)]*\)", " ", after[:80])
    window = re.split(
        r"\d{1,3}(?:[,.]\d{3})+|\d+(?:[.,]\d+)?\s?[kK]\b|[.;!?](?:\s|$)|\n", window[:60], maxsplit=1
    )[0]
    match = _TRIP.search(window)
    return _trip_kind(match) if match else None


def _trip_before(before: str) -> str | None:
    matches = list(_TRIP.finditer(before[-35:]))
    return _trip_kind(matches[-1]) if matches else None


def _trip_kind(match: re.Match[str]) -> str:
    return "one-way" if match.group("one_way") else "round-trip"


# -- cabins ------------------------------------------------------------------------------------

_CABIN_WORD = (
    r"premium\s+economy|premium\s+select|comfort\+|economy|coach|main\s+cabin|business|first"
    r"|delta\s+one|polaris|upper\s+class|la\s+premi[eè]re|affaires|ejecutiva|executiva|turista"
    r"|[ée]conomique|premi[eè]re"
)
_CABIN_LIST = re.compile(
    rf"(?i)\b(?:{_CABIN_WORD})(?:\s*(?:/|&|,|\+|\band\b|\bor\b|\bet\b|\by\b|\be\b)\s*(?:{_CABIN_WORD}))*"
    r"(?:\s+(?:class|cabin|classe|clase|saver|awards?|seats?|tickets?|fares?|redemptions?))?"
)
_CABIN_LEAD = re.compile(
    r"(?i)\b(?:in|en|em|classe|clase|class|cabin|cabine)\s+(?:the\s+|la\s+|der\s+)?$"
)
_CABIN_NAMES = {
    "affaires": "business", "ejecutiva": "business", "executiva": "business", "turista": "economy",
    "économique": "economy", "economique": "economy", "première": "first", "premiere": "first",
}  # fmt: skip


def cabins(words: str) -> list[str]:
    """The cabins a text names, in CABINS order; "business" and "first" only as cabins."""
    found: set[str] = set()
    for match in _CABIN_LIST.finditer(words):
        phrase = match.group(0)
        names = re.findall(rf"(?i){_CABIN_WORD}", phrase)
        listed = (
            len(names) > 1
            or re.search(
                r"(?i)(?:class|cabin|classe|clase|saver|award|seat|ticket|fare|redemption)s?$",
                phrase,
            )
            or _CABIN_LEAD.search(words[max(0, match.start() - 12) : match.start()])
        )
        for name in names:
            key = " ".join(name.lower().split())
            if key in ("business", "first", "affaires", "première", "premiere") and not listed:
                continue
            cabin = _CABIN_NAMES.get(key) or _cabin(key)
            if cabin:
                found.add(cabin)
    order = ("economy", "premium_economy", "business", "first")
    return [c for c in order if c in found]


def _cabin(key: str) -> str | None:
    try:
        return loose.parse_cabin(key)
    except ValueError:
        return None


# -- places ------------------------------------------------------------------------------------

#: Capitalised words that resolve to a place code by accident.
_NOT_PLACES = {
    "as", "save", "mile", "miles", "book", "travel", "deal", "deals", "sale", "saver", "promo",
    "award", "awards", "guide", "news", "update", "new", "best", "more", "all", "one", "first",
    "business", "economy", "premium", "class", "main", "delta", "american", "united", "southwest",
    "alaska", "hawaiian", "emirates", "avios", "points", "valid", "pack", "bags", "secrets",
    "this", "these", "the", "it", "is", "in", "on", "at", "to", "of", "for", "from", "by", "and",
    "can", "will", "now", "here", "today", "flash", "reward", "rewards", "domestic", "amex",
    "chase", "citi", "capital", "bilt", "card", "cards", "lounge", "status", "elite", "tier",
    "million", "club", "plus", "gold", "platinum", "diamond", "silver", "star", "sky",
    "early", "late", "last", "next", "may", "march", "june", "july", "august", "april", "friday",
}  # fmt: skip
_PLACE = re.compile(
    r"\b(?:[A-Z][a-zà-ÿ'’-]+(?:\s+(?:de\s+|del\s+|do\s+)?[A-Z][a-zà-ÿ'’-]+){0,2}|[A-Z]{3}|US|UK|USA)\b"
)
_CAPITALISED = (
    r"(?:[A-ZÀ-Þ][\wà-ÿ'’-]*(?:\s+(?:de\s+|del\s+|do\s+|am\s+)?[A-ZÀ-Þ][\wà-ÿ'’-]*){0,2})"
)
#: "X to Y" in the languages of the sources: a route whose one end may be a name the place data
#: does not know ("Lisboa", "Frankfurt"), taken as written when the other end is known.
_ROUTE = re.compile(
    rf"(?P<a>{_CAPITALISED})\s*(?:\bto\b|[-–—→]|\bpara\b|\ba\b|\bà\b|\bnach\b|\bvers\b)\s*(?P<b>{_CAPITALISED})"
)
_DOMESTIC = re.compile(r"(?i)\bdomestic\b")
_ORIGIN_LEAD = re.compile(
    r"(?i)(?:\bfrom|\bbetween|\bdeparting|\bout\s+of|\bdepuis|\bdesde|\bde|\bab|\bvon)\s+(?:the\s+)?$"
)
_ORIGIN_TAIL = re.compile(r"(?i)^\s*(?:to|[-–—→>]|and\b(?=.*\bbetween\b)|à|a\b|para|nach)\s*")


@dataclass(frozen=True)
class PlaceMention:
    name: str
    start: int
    end: int
    origin: bool


def places(words: str, skip: Iterable[tuple[int, int]] = ()) -> list[PlaceMention]:
    """Places named in ``words``, each marked as an origin ("from X", "X to Y", "between X and")
    or a destination."""
    blocked = list(skip)
    found = _routes(words, blocked)
    blocked += [(p.start, p.end) for p in found]
    for match in _PLACE.finditer(words):
        if any(s <= match.start() < e for s, e in blocked):
            continue
        name = _resolvable(match.group(0))
        if name is None:
            continue
        start = match.start()
        before = words[max(0, start - 20) : start]
        origin = bool(_ORIGIN_LEAD.search(before))
        found.append(PlaceMention(name, start, start + len(name), origin))
    for match in _DOMESTIC.finditer(words):
        if not any(s <= match.start() < e for s, e in blocked):
            found.append(PlaceMention(match.group(0), match.start(), match.end(), False))
    return sorted(found, key=lambda p: p.start)


def _routes(words: str, blocked: list[tuple[int, int]]) -> list[PlaceMention]:
    found: list[PlaceMention] = []
    for match in _ROUTE.finditer(words):
        a_words, b_words = match.group("a").split(), match.group("b").split()
        origin = next(
            (" ".join(a_words[i:]) for i in range(len(a_words)) if _known(" ".join(a_words[i:]))),
            None,
        )
        destination = _resolvable(match.group("b"))
        if origin is None and destination is None:
            continue
        origin = origin or a_words[-1]
        destination = destination or b_words[0]
        if origin.lower() in _NOT_PLACES or destination.lower() in _NOT_PLACES:
            continue
        a_start = match.end("a") - len(origin)
        if any(s <= a_start < e for s, e in blocked):
            continue
        found.append(PlaceMention(origin, a_start, match.end("a"), True))
        b_start = match.start("b")
        found.append(PlaceMention(destination, b_start, b_start + len(destination), False))
    return found


def _resolvable(phrase: str) -> str | None:
    """The longest leading part of a capitalised phrase that names a place, or None."""
    parts = phrase.split()
    for size in range(len(parts), 0, -1):
        name = " ".join(parts[:size]).rstrip(".'’")
        if name.lower() in _NOT_PLACES or (len(name) <= 2 and name not in ("US", "UK")):
            continue
        if _known(name):
            return name
    return None


def _known(name: str) -> bool:
    if name.lower() in _NOT_PLACES or (len(name) <= 2 and name not in ("US", "UK")):
        return False
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return try_resolve(name) is not None or (plain != name and try_resolve(plain) is not None)


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return tuple(seen.values())


# -- dates -------------------------------------------------------------------------------------

_LANGUAGES = ("en", "fr", "es", "pt", "de", "it", "nl")
_MONTH_KEYS = ("january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december")  # fmt: skip
_WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: English month names that are also everyday words: only capitalised.
_AMBIGUOUS_MONTHS = {"may", "mar", "march", "jun", "sept", "dec", "mai", "mag", "ago", "set", "out"}


@lru_cache(maxsize=1)
def _calendar_words() -> tuple[dict[str, int], dict[str, int]]:
    """Month and weekday names, from dateparser's language data."""
    from dateparser.languages import default_loader

    months: dict[str, int] = {}
    weekdays: dict[str, int] = {}
    for language in _LANGUAGES:
        info = default_loader.get_locale(language).info
        for number, key in enumerate(_MONTH_KEYS, start=1):
            for name in info.get(key, []):
                if len(name) >= 3:
                    months.setdefault(name.lower().rstrip("."), number)
        for number, key in enumerate(_WEEKDAY_KEYS):
            for name in info.get(key, []):
                if len(name) >= 5:
                    weekdays.setdefault(name.lower(), number)
    months["sept"] = 9
    return months, weekdays


@lru_cache(maxsize=1)
def _date_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    months, weekdays = _calendar_words()
    names = sorted(months, key=len, reverse=True)
    safe = "|".join(re.escape(n) for n in names if n not in _AMBIGUOUS_MONTHS)
    capital = "|".join(re.escape(n.capitalize()) for n in names if n in _AMBIGUOUS_MONTHS)
    month = rf"(?:(?i:{safe})|{capital})\.?"
    day = r"\d{1,2}(?:st|nd|rd|th|er|º|°|\.)?"
    year = r"(?:19|20)\d{2}"
    weekday = "|".join(re.escape(n) for n in sorted(weekdays, key=len, reverse=True))
    one = (
        rf"(?:(?:{day}\s*(?:de\s+)?{month}(?:\s*(?:de\s+|,\s*)?{year})?)"
        rf"|(?:{month}\s+{day}(?!\d)(?:,?\s*{year})?)"
        rf"|(?:{month}(?:\s+(?:de\s+|of\s+)?{year})?)"
        rf"|(?:{year}-\d{{2}}-\d{{2}})|(?i:{weekday})|(?i:tomorrow|tonight|today))"
    )
    single = re.compile(rf"(?<![\w-])(?P<d>{one})(?![\w])")
    joint = (
        r"\s*(?:[-–—]|(?i:to|through|thru|until|till|and|au|à|al|a|y|e|et|bis|hasta|até|und))\s*"
    )
    lead = r"(?i:(?:from|between|du|del|de|vom|entre|dal)\s+(?:the\s+|le\s+|el\s+|o\s+)?)?"
    pair = re.compile(
        rf"(?<![\w-]){lead}(?P<a>{one}){joint}(?:le\s+|el\s+|o\s+)?(?P<b>{one})(?![\w])"
    )
    return single, pair


@dataclass(frozen=True)
class Stated:
    """A date or a date range as written, with the words just before it."""

    start: str | None
    end: str
    where: int
    lead: str
    is_range: bool


def stated_dates(words: str) -> list[Stated]:
    single, pair = _date_patterns()
    found: list[Stated] = []
    taken: list[tuple[int, int]] = []
    for match in pair.finditer(words):
        found.append(Stated(match.group("a"), match.group("b"), match.start(), "", True))
        taken.append(match.span())
    for match in single.finditer(words):
        if not any(s <= match.start() < e for s, e in taken):
            found.append(Stated(None, match.group("d"), match.start(), "", False))
    found.sort(key=lambda s: s.where)
    with_lead: list[Stated] = []
    previous_end = 0
    for item in found:
        lead = words[max(previous_end, item.where - 60) : item.where]
        # the words that qualify a date are in its own sentence
        lead = re.split(r"[.!?]\s|\n", lead)[-1]
        with_lead.append(replace(item, lead=lead))
        previous_end = item.where + len(item.end) + (len(item.start or ""))
    return with_lead


_BOOKING = re.compile(
    r"(?i)\bbook(?:ed|ing|ings)?\b|\breserv\w*|\bréserv\w*|\bbuch\w*|\bpurchase|\bticketed|\bsale\s+ends"
    r"|\boffer\s+(?:ends|expires|valid)|\bends\b|\bexpires?\b|\bdeadline|\bcompr\w+|\bemit\w*|\bemiss\w*"
)
_TRAVEL = re.compile(
    r"(?i)\btravel\w*|\bfly\b|\bflights?\b|\bdepart\w*|\btrips?\b|\boutbound|\bvoyag\w*"
    r"|\bvols?\b|\bviaj\w*|\bviag\w*|\bvoar\b|\bvoos?\b|\breise\w*|\bflüge|\bqualifying\b|\bfor\s+$"
)


def windows(words: str, published: date | None) -> tuple[date | None, date | None, date | None]:
    """(travel_start, travel_end, book_by) from the dates a text states, each placed relative to
    the post's date when its year is missing."""
    travel_start = travel_end = book_by = None
    for item in stated_dates(words):
        kind = _date_kind(item)
        if kind is None:
            continue
        start, end = _resolve_range(item, published)
        if end is None:
            continue
        if kind == "book" and book_by is None:
            book_by = end
        elif kind == "travel" and travel_end is None:
            travel_start, travel_end = start, end
    return travel_start, travel_end, book_by


def _date_kind(item: Stated) -> str | None:
    """The kind of a date, "book" or "travel", from the nearest keyword before it; a bare range
    is a travel window, a bare single date says nothing."""
    book = [m.end() for m in _BOOKING.finditer(item.lead)]
    travel = [m.end() for m in _TRAVEL.finditer(item.lead)]
    if book or travel:
        return "book" if max(book, default=-1) > max(travel, default=-1) else "travel"
    if item.is_range:
        return "travel"
    if not item.is_range and re.search(
        r"(?i)(?:through|until|thru|till|by|jusqu'au|hasta|até|bis)\s+$", item.lead
    ):
        return "travel" if re.search(r"(?i)travel|fly", item.lead) else None
    return None


def _resolve_range(item: Stated, published: date | None) -> tuple[date | None, date | None]:
    end = _day(item.end, published, last=True)
    if item.start is None:
        return None, end
    year = _year(item.end)
    start_text = item.start if _year(item.start) or year is None else f"{item.start} {year}"
    start = _day(
        start_text, published if year is None and end is None else (end or published), last=False
    )
    if start and end and start > end:
        start = start.replace(year=start.year - 1)
    return start, end


def _year(written: str) -> int | None:
    match = re.search(r"\b(19|20)\d{2}\b", written)
    return int(match.group(0)) if match else None


def _day(written: str, base: date | None, *, last: bool) -> date | None:
    """A written date as a day: the month's last (or first) day when no day is given; without a
    year, the first such day not long before ``base``; None when there is nothing to place it by."""
    months, weekdays = _calendar_words()
    lower = written.lower().strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", lower):
        return date.fromisoformat(lower)
    if lower in weekdays or lower in ("tomorrow", "today", "tonight"):
        return _relative_day(lower, weekdays, base)
    month = next(
        (
            n
            for name, n in sorted(months.items(), key=lambda kv: -len(kv[0]))
            if re.search(rf"(?<!\w){re.escape(name)}\.?(?!\w)", lower)
        ),
        None,
    )
    if month is None:
        return None
    year = _year(written)
    day_match = re.search(r"(?<![\d])(\d{1,2})(?![\d])", re.sub(r"\b(19|20)\d{2}\b", "", lower))
    if year is None:
        if base is None:
            return None
        year = base.year
        candidate = _make_day(year, month, day_match, last)
        if candidate is not None and candidate < base - timedelta(days=45):
            year += 1
    return _make_day(year, month, day_match, last)


def _make_day(year: int, month: int, day_match: re.Match[str] | None, last: bool) -> date | None:
    if day_match:
        try:
            return date(year, month, int(day_match.group(1)))
        except ValueError:
            return None
    return date(year, month, calendar.monthrange(year, month)[1] if last else 1)


def _relative_day(word: str, weekdays: dict[str, int], base: date | None) -> date | None:
    if base is None:
        return None
    if word == "tomorrow":
        return base + timedelta(days=1)
    if word in ("today", "tonight"):
        return base
    return base + timedelta(days=(weekdays[word] - base.weekday()) % 7)


# -- reading a post ----------------------------------------------------------------------------


def read(
    title: str, body: str, published: date | datetime | None = None, link: str | None = None
) -> Announcement:
    """What a post (title and plain-text body) says about an award sale."""
    post_day = published.date() if isinstance(published, datetime) else published
    whole = f"{title}.\n{body}"
    program = find_program(title, body, link)
    about_awards = bool(
        _AWARD_SALE.search(whole)
        or re.search(rf"(?i)\b(?:award|reward|redeem|redemption|{_UNIT})", whole)
    )
    found = _with_post_trip(figures(whole, about_awards), whole)
    discount = _discount(whole)
    reason = decide(title, body, bool(found), discount)
    if reason:
        return Announcement(False, reason=reason, program=program)
    named = _named_spans(whole)
    mentions = places(whole, named)
    travel_start, travel_end, book_by = windows(whole, post_day)
    post_cabins = cabins(whole)
    sales = tuple(_sales(whole, found, mentions, post_cabins))
    lowest = min(found, key=lambda f: (f.miles, f.trip is None, f.start)) if found else None
    return Announcement(
        True,
        program=program,
        airline=AIRLINES.get(program or ""),
        miles_min=lowest.miles if lowest else None,
        trip=lowest.trip if lowest else None,
        cabin="/".join(post_cabins) or None,
        discount_pct=discount,
        origins=_unique(p.name for p in mentions if p.origin),
        destinations=_unique(p.name for p in mentions if not p.origin),
        travel_start=travel_start,
        travel_end=travel_end,
        book_by=book_by,
        sales=sales,
    )


def _with_post_trip(found: list[Figure], words: str) -> list[Figure]:
    """When a post states one trip type ("all one-way"), it holds for its figures without one."""
    trips = {f.trip for f in found if f.trip} or {_trip_kind(m) for m in _TRIP.finditer(words)}
    if len(trips) != 1:
        return found
    return [replace(f, trip=f.trip or next(iter(trips))) for f in found]


def _discount(words: str) -> float | None:
    values = [int(next(g for g in m.groups() if g)) for m in _DISCOUNT.finditer(words)]
    values = [v for v in values if 0 < v < 100]
    return float(max(values)) if values else None


def _named_spans(words: str) -> list[tuple[int, int]]:
    """Where programs, airlines and cabins are named: their words are not places."""
    spans = [m.span() for _, rx in _PROGRAM_PATTERNS for m in rx.finditer(words)]
    spans += [m.span() for m in re.finditer(r"(?i)\bair\s+\w+|\b\w+\s+air(?:ways|lines)?\b", words)]
    return spans


def _sales(
    words: str, found: list[Figure], mentions: list[PlaceMention], post_cabins: list[str]
) -> Iterator[Sale]:
    """One sale per distinct route and cabin, at its lowest price. A figure's route is the
    places named between the previous figure and it, else those after it in its sentence, else
    none (the post's sale as a whole)."""
    best: dict[tuple[tuple[str, ...], tuple[str, ...], str | None], Sale] = {}
    for index, figure in enumerate(found):
        route = _route_of(words, figure, found[index - 1] if index else None, mentions)
        cabin = _sale_cabin(words, figure, post_cabins)
        origins = _unique(p.name for p in route if p.origin)
        destinations = _unique(p.name for p in route if not p.origin)
        key = (origins, destinations, cabin)
        if (
            key not in best
            or (best[key].miles or 0) > figure.miles
            or (best[key].miles == figure.miles and not best[key].trip)
        ):
            best[key] = Sale(figure.miles, figure.trip, cabin, origins, destinations)
    sales = list(best.values())
    yield from (sale for sale in sales if not any(_covers(other, sale) for other in sales))


def _covers(wider: Sale, sale: Sale) -> bool:
    """True when ``sale`` says less than ``wider`` about the same sale: the headline "Paris
    from 15,000 miles" beside the body's "New York to Paris from 15,000 miles"."""
    return (
        wider is not sale
        and wider.cabin == sale.cabin
        and (wider.miles or 0) <= (sale.miles or 0)
        and set(sale.origins) <= set(wider.origins)
        and set(sale.destinations) <= set(wider.destinations)
        and (wider.origins, wider.destinations) != (sale.origins, sale.destinations)
    )


def _route_of(
    words: str, figure: Figure, previous: Figure | None, mentions: list[PlaceMention]
) -> list[PlaceMention]:
    sentence_start = (
        max(
            words.rfind(". ", 0, figure.start),
            words.rfind("\n", 0, figure.start),
            words.rfind(";", 0, figure.start),
        )
        + 1
    )
    floor = max(sentence_start, previous.end if previous else 0)
    before = [p for p in mentions if floor <= p.start < figure.start]
    if before:
        return before
    stop = re.search(r"[.;\n]|\d{1,3}(?:,\d{3})+", words[figure.end :])
    ceiling = figure.end + (stop.start() if stop else len(words))
    return [p for p in mentions if figure.end <= p.start < ceiling]


def _sale_cabin(words: str, figure: Figure, post_cabins: list[str]) -> str | None:
    near = cabins(words[max(0, figure.start - 60) : figure.end + 60])
    if len(near) == 1:
        return near[0]
    return post_cabins[0] if len(post_cabins) == 1 else None
