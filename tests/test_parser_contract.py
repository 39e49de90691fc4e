"""The contract every airline parser keeps, run against each from one table: pure (the same body
gives the same rows, nothing it is given changes), never an exception but its own two on hostile
bodies, every row it cannot read rejected with a reason, a record of another type costing that
record only, the offers its saved response holds, and the same offers from a crawl, from
``scheduler.py parse`` and from a direct call."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from airline_site import Answer, page, serve
from conftest import ROOT, bot_config, cli, run_once
from fake_airline_apis import FakeAirlineApis

from offers.errors import BlockedResponse, InvalidOffer, MalformedResponse
from offers.model import Offer, make_offer
from scrapers.parsers import ParseContext, Rejected, module, options_model
from settings.config import SourceConfig, load

AIRLINES = ROOT / "fixtures" / "airlines"
FETCHED = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
DAY = datetime.now(UTC).date() + timedelta(days=45)
API_KEY = "contract-test-key"


@dataclass(frozen=True)
class Case:
    """One airline parser and what its saved response holds, as its own tests read it."""

    kind: str
    fixture: str
    #: each offer as ``ORIGIN-DESTINATION cabin miles [promo]``, in order, comma-separated
    offers: str
    rejected: list[str] = field(default_factory=list)
    #: where a record sits in the saved JSON: one of another type must cost only itself
    records: list[tuple[str | int, ...]] = field(default_factory=list)
    #: what MalformedResponse says of a JSON object that is not the airline's answer
    not_an_answer: str = ""
    #: a body the parser calls a block
    block: bytes | None = None
    #: the page that requests the search (browser-captured sources) and the search's path
    page: str = ""
    search_path: str = ""

    def body(self) -> bytes:
        return (AIRLINES / self.kind / self.fixture).read_bytes()

    def routes(self) -> list[tuple[str, str]]:
        return [tuple(o.split()[0].split("-")) for o in self.offers.split(", ")]  # type: ignore[misc]

    def __str__(self) -> str:
        return self.kind


CASES = [
    Case(
        "american",
        "itinerary-search.json",
        "LAX-HNL economy 25500 promo, LAX-HNL economy 40000, LAX-HNL first 55000 promo, "
        "LAX-HNL first 90000, LAX-HNL economy 36500 promo, LAX-HNL economy 40000, "
        "LAX-HNL first 90000, LAX-HNL economy 20000, LAX-HNL first 64000 promo, "
        "LAX-HNL first 90000",
        records=[("slices", 1), ("slices", 0, "pricingDetail", 0)],
        not_an_answer="no slices",
        page="/booking/find-flights",
        search_path="/booking/api/search/itinerary",
    ),
    Case(
        "delta",
        "shop-search.json",
        "SFO-JFK economy 25000, SFO-JFK business 230000, SFO-JFK economy 25000, "
        "SFO-JFK economy 25000, SFO-JFK business 230000",
        rejected=["sold out"] * 4,
        records=[("itinerary", 1, "trip", 0), ("itinerary", 0)],
        not_an_answer="no itinerary",
        block=b"<html><body><p>Something went wrong. Reference #100904A</p></body></html>",
        page="/flight-search/search",
        search_path="/shop/ow/search",
    ),
    Case(
        "united",
        "fetchflights.json",
        "HNL-SFO economy 31800, HNL-SFO business 84500, HNL-SFO economy 31800, "
        "HNL-SFO business 84500, HNL-SFO economy 37500, HNL-SFO business 84500, "
        "HNL-SFO economy 37500, HNL-SFO business 70900",
        records=[
            ("data", "Trips", 0, "Flights", 1),
            ("data", "Trips", 0, "Flights", 0, "Products", 0),
        ],
        not_an_answer="no data.Trips",
        block=b"<p>Sorry, united.com was unable to complete this request.</p>",
        page="/en/us/fsr/choose-flights",
        search_path="/api/flight/FetchFlights",
    ),
    Case(
        "southwest",
        "shopping.json",
        "OAK-KOA economy 17009, OAK-KOA economy 23646, OAK-KOA economy 26965, "
        "OAK-KOA economy 23646, OAK-KOA economy 30283, OAK-KOA economy 33602, "
        "OAK-KOA economy 30283, OAK-KOA economy 36921, OAK-KOA economy 40240",
        records=[("data", "searchResults", "airProducts", 0, "details", 1)],
        not_an_answer="no data.searchResults.airProducts",
        block=b'{"code": 403050700, "message": "We are sorry, something went wrong."}',
        page="/air/booking/select.html",
        search_path="/api/air-booking/v1/air-booking/page/air/booking/shopping",
    ),
    Case(
        "flyingblue",
        "best-fare-offers-mixed.json",
        "AMS-JFK economy 15000 promo, CDG-JFK business 144000, AMS-NRT premium_economy 45000 promo",
        rejected=["cabin: unknown commercial cabin 'SPACE'", "offer without connections"],
        records=[("bestOffers", 2), ("bestOffers", 0)],
        not_an_answer="no bestOffers list",
        block=b"<h1>Developer Over Qps</h1>",
    ),
    Case(
        "seatsaero",
        "availability-page.json",
        "MEX-ORD economy 47000, MEX-ORD business 90000, LAS-MEX business 82500, "
        "AUS-SEA economy 27500, AUS-SEA business 38000, LAS-JFK economy 33000, "
        "LAS-JFK business 85000, MNL-ICN business 35000, BOS-MCO economy 22000, "
        "BOS-MCO business 50000, MIA-JFK economy 18000, MIA-JFK business 37000, "
        "ICN-KIX business 15000, MIA-BOS economy 23000, MIA-BOS business 46000, "
        "TPE-KIX business 35000",
        records=[("data", 0), ("data", 9)],
        not_an_answer="no data list",
    ),
]
KINDS = [case.kind for case in CASES]


def by_kind(kind: str) -> Case:
    return next(case for case in CASES if case.kind == kind)


def context(kind: str, **options: Any) -> ParseContext:
    return ParseContext(
        source=kind,
        url="https://example.com/search",
        program=kind,
        options=options_model(kind).model_validate(options),
        fetched_at=FETCHED,
    )


def run(kind: str, body: bytes, ctx: ParseContext | None = None) -> list[Any]:
    return list(module(kind).parse(body, ctx or context(kind)))


def offers(results: list[Any]) -> list[dict[str, Any]]:
    return [r for r in results if isinstance(r, dict)]


def summary(offer: dict[str, Any]) -> str:
    route = f"{offer['origin']}-{offer['destination']}"
    return f"{route} {offer['cabin']} {offer['miles']}" + (" promo" if offer["promo"] else "")


def reasons(results: list[Any]) -> list[str]:
    return [r.reason for r in results if isinstance(r, Rejected)]


def at(document: Any, where: tuple[str | int, ...]) -> tuple[Any, str | int]:
    """The container holding the value at ``where``, and its key there."""
    for step in where[:-1]:
        document = document[step]
    return document, where[-1]


# -- the saved response -----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_saved_response_gives_the_offers_its_tests_count(case: Case) -> None:
    results = run(case.kind, case.body())
    found = offers(results)
    assert ", ".join(summary(o) for o in found) == case.offers
    assert reasons(results) == case.rejected
    for raw in found:
        make_offer({**raw, "source": case.kind, "seen_at": FETCHED})


@pytest.mark.parametrize("case", CASES, ids=str)
def test_pure_same_body_same_rows_and_nothing_it_was_given_changes(case: Case) -> None:
    body = case.body()
    ctx = context(case.kind)
    options = copy.deepcopy(ctx.options.model_dump())
    first = run(case.kind, body, ctx)
    for raw in offers(first):
        raw["miles"] = -1  # what a caller does with the rows must not reach the next parse
    again = run(case.kind, body, ctx)
    assert again == run(case.kind, body, ctx) and offers(again)
    assert ", ".join(summary(o) for o in offers(again)) == case.offers
    assert body == case.body() and ctx.options.model_dump() == options


# -- rejections ----------------------------------------------------------------------------


#: Values a changed API might put where a record was.
ODD_VALUES = [None, ["x"], "x", 10**30]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("odd", ODD_VALUES, ids=repr)
def test_a_record_of_another_type_costs_that_record_only(case: Case, odd: Any) -> None:
    for where in case.records:
        saved = json.loads(case.body())
        container, key = at(saved, where)
        container[key] = odd
        replaced = run(case.kind, json.dumps(saved).encode())
        del container[key]
        without = run(case.kind, json.dumps(saved).encode())
        # the same offers as if the record were not there, and one rejection more that says why
        assert offers(replaced) == offers(without), where
        assert len(reasons(replaced)) == len(reasons(without)) + 1, where
        assert all(reason.strip() for reason in reasons(replaced))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_json_object_that_is_not_the_answer_is_malformed_with_a_reason(case: Case) -> None:
    with pytest.raises(MalformedResponse, match=re.escape(case.not_an_answer)):
        run(case.kind, b'{"unexpected": true}')


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("body", [b"", b"\xff\xfe garbage", b"Service unavailable"], ids=repr)
def test_a_body_that_is_not_json_is_malformed_with_a_reason(case: Case, body: bytes) -> None:
    with pytest.raises(MalformedResponse, match="not JSON|empty response"):
        run(case.kind, body)


@pytest.mark.parametrize("case", [c for c in CASES if c.block], ids=str)
def test_the_block_page_is_a_block(case: Case) -> None:
    assert case.block is not None
    with pytest.raises(BlockedResponse) as raised:
        run(case.kind, case.block)
    assert str(raised.value).strip()


#: Values worse than odd: a bool, numbers past any price, nesting, text that turns lines around.
HOSTILE_VALUES: list[Any] = [True, -(10**400), 1e308, {"": [[[{}]]]}, "\u202e" * 1000]


def hostile_bodies(case: Case) -> Iterator[bytes]:
    body = case.body()
    yield from (b"", b" ", b"null", b"[]", b"{}", b'"x"', b"1e999", b"\xff\xfe\x00garbage")
    yield from (body[: len(body) // 2], body[:-1], body + b"}", body.replace(b'"', b"'", 3))
    yield b"[" * 100_000 + b"]" * 100_000
    yield b'{"a":' * 5_000 + b"1" + b"}" * 5_000
    yield b"9" * 5_000  # a number past what Python reads
    saved = json.loads(body)
    for where in case.records:
        for odd in HOSTILE_VALUES:
            document = copy.deepcopy(saved)
            container, key = at(document, where)
            container[key] = odd
            yield json.dumps(document).encode()
    for key in list(saved)[:5] if isinstance(saved, dict) else []:
        for odd in ODD_VALUES:
            yield json.dumps({**saved, key: odd}).encode()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_bodies_give_rows_or_a_named_error_never_an_exception(case: Case) -> None:
    for body in hostile_bodies(case):
        try:
            results = run(case.kind, body)
        except (MalformedResponse, BlockedResponse) as exc:
            assert str(exc).strip(), body[:60]
            continue
        for result in results:
            if isinstance(result, Rejected):
                assert result.reason.strip(), body[:60]
                continue
            try:
                make_offer({**result, "source": case.kind, "seen_at": FETCHED})
            except InvalidOffer as exc:
                assert str(exc).strip()


# -- a crawl, scheduler.py parse and a direct call --------------------------------------------

#: What a run stores of an offer and ``scheduler.py parse`` prints of it.
FIELDS = ("program", "origin", "destination", "depart_date", "cabin", "miles", "promo", "trip",
          "taxes", "currency", "seats", "url", "title")  # fmt: skip


def moved(case: Case) -> bytes:
    """The saved response with every recorded date moved to DAY: a run keeps no past offers."""
    text = case.body().decode()
    return re.sub(r"20\d\d-\d\d-\d\d", DAY.isoformat(), text).encode()


def write_config(case: Case, tmp_path: Path, base_url: str) -> Path:
    source = {
        "name": f"{case.kind}-contract",
        "kind": case.kind,
        "obey_robots": False,
        "allow_private": True,
    }
    if case.kind != "seatsaero":  # its records name their programs
        source["program"] = case.kind
    options: dict[str, Any] = {"base_url": base_url}
    if case.page:
        source["render"] = "browser"
        options["capture_timeout"] = 30
        if case.kind == "delta":
            options["deals_page"] = False
    else:
        options["api_key_env"] = "CONTRACT_API_KEY"
    origin, destination = case.routes()[0]
    watch = {"origins": [origin], "destinations": [destination], "dates": [DAY.isoformat()]}
    watch_table = f"[[sources.watch]]\n{toml(watch)}"
    if case.kind == "seatsaero":  # the whole of its records, by seats.aero source, not a route
        options["availability_sources"] = ["delta"]
        options["usage_file"] = str(tmp_path / "calls.json")
        watch_table = ""
    return bot_config(
        tmp_path, f"[[sources]]\n{toml(source)}\n[sources.options]\n{toml(options)}\n{watch_table}"
    )


def toml(table: dict[str, Any]) -> str:
    return "\n".join(f"{key} = {json.dumps(value)}" for key, value in table.items())


@contextmanager
def stand_in(case: Case, body: bytes) -> Iterator[str]:
    """The airline's site (its page and search answer) or API on 127.0.0.1; its URL."""
    if case.page:
        with serve({case.page: page(case.kind), case.search_path: Answer(body)}) as site:
            yield site.url
        return
    fake = FakeAirlineApis(flyingblue_key=API_KEY, seatsaero_key=API_KEY)
    if case.kind == "seatsaero":
        fake.records = json.loads(body)["data"]
    else:
        fake.offers = body
    fake.start()
    try:
        yield fake.url + ("/partnerapi" if case.kind == "seatsaero" else "")
    finally:
        fake.stop()


def rows(records: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {tuple(bool(r[f]) if f == "promo" else r[f] for f in FIELDS) for r in records}


def direct(case: Case, config: Path, body: bytes) -> set[tuple[Any, ...]]:
    """The parser called directly, its offers made and one kept per identity, the cheapest."""
    source: SourceConfig = load(config, check_env=False).sources[0]
    ctx = ParseContext(source=source.name, program=source.program, options=source.opts)
    cheapest: dict[str, Offer] = {}
    for raw in offers(run(case.kind, body, ctx)):
        offer = make_offer({**raw, "source": source.name, "seen_at": ctx.fetched_at})
        held = cheapest.get(offer.key)
        if held is None or (offer.miles or 0) < (held.miles or 0):
            cheapest[offer.key] = offer
    return rows([o.record() for o in cheapest.values()])


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_crawl_parse_and_a_direct_call_give_the_same_offers(case: Case, tmp_path: Path) -> None:
    body = moved(case)
    saved = tmp_path / case.fixture
    saved.write_bytes(body)
    env = {"CONTRACT_API_KEY": API_KEY}
    with stand_in(case, body) as base_url:
        config = write_config(case, tmp_path, base_url)
        summary = run_once(config, env=env)
    [crawl] = summary["runs"]
    assert crawl["status"] == "ok", summary["stdout"]
    stored = sqlite_utils.Database(tmp_path / "bot.db")["offers"].rows
    done = cli("--config", str(config), "parse", f"{case.kind}-contract", str(saved), env=env)
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert printed and {offer["depart_date"] for offer in printed} == {DAY.isoformat()}
    assert rows(list(stored)) == rows(printed) == direct(case, config, body)
