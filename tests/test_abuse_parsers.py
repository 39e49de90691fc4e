"""Every parser in scrapers/parsers/ fed garbage: random bytes, the saved responses cut off at
random points, and saved JSON with random parts replaced. Whatever comes in, a parser either
yields rows or says the body is malformed or blocked; a rejected row says why; every raw offer
becomes an Offer or is refused with a reason. Nothing else may escape into the crawl."""

from __future__ import annotations

import json
import random
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from offers.errors import BlockedResponse, InvalidOffer, MalformedResponse
from offers.model import Offer, make_offer
from scrapers.parsers import KINDS, ParseContext, Rejected, options_model, parser
from settings.config import SourceConfig, load

FIXTURES = ROOT / "fixtures"
DEMO = load(FIXTURES / "demo.toml", check_env=False)
FETCHED = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
#: The demo's sources stand for the kinds that cannot run without a [[sources]] entry.
DEMO_SOURCE = {"page": "skydeals", "api": "aa-deals-api"}
#: Saved responses of each kind, the seeds that get cut and mutated.
SAMPLES: dict[str, list[Path]] = {
    "american": sorted((FIXTURES / "airlines" / "american").glob("*")),
    "delta": sorted((FIXTURES / "airlines" / "delta").glob("*")),
    "flyingblue": sorted((FIXTURES / "airlines" / "flyingblue").glob("*")),
    "seatsaero": sorted((FIXTURES / "airlines" / "seatsaero").glob("*")),
    "southwest": sorted((FIXTURES / "airlines" / "southwest").glob("*")),
    "united": sorted((FIXTURES / "airlines" / "united").glob("*")),
    "page": [
        FIXTURES / "sites" / n for n in ("promotions.html", "promotions-2.html", "flash.html")
    ],
    "api": sorted((FIXTURES / "sites" / "api").glob("*.json")),
    "feed": [FIXTURES / "sites" / "feed.xml", *sorted((FIXTURES / "feeds").glob("*"))],
}
URLS = {
    "delta": "https://www.delta.com/shop/ow/search",
    "united": "https://www.united.com/api/flight/FetchFlights",
    "seatsaero": "https://seats.aero/partnerapi/availability?source=delta&take=10",
    "flyingblue": "https://api.airfranceklm.com/opendata/offers/v3/lowest-fare-offers",
}
FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
#: Mutated real responses fail in many ways at once: report the first, unshrunk, quickly.
QUICK_FAIL = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck),
                      phases=[Phase.explicit, Phase.reuse, Phase.generate],
                      report_multiple_bugs=False)  # fmt: skip
#: Values a changed API might put where the parser expects something else.
SWAPS: list[Any] = [None, [], {}, "x", 1.5]
SWAPPED_PLACES = 120

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e309",
            "N/A",
            "30,000 miles",
            "2030-02-30",
            "business",
            "<b>x</b>",
            "=1+1",
            "\u202e",
            "\x00",
            "9" * 40,
        ]
    )  # fmt: skip
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def context(kind: str) -> ParseContext:
    if kind in DEMO_SOURCE:
        source = DEMO.source(DEMO_SOURCE[kind])
    else:
        source = SourceConfig(name=kind, kind=kind)
    return ParseContext(source=source.name, url=URLS.get(kind, "http://127.0.0.1:8765/x"),
                        program=source.program, options=source.opts, fetched_at=FETCHED)  # fmt: skip


def outcome(kind: str, body: bytes) -> list[Any]:
    """Run the parser to the end; only the parser's own two errors may stop it."""
    try:
        results = list(parser(kind)(body, context(kind)))
    except (MalformedResponse, BlockedResponse) as exc:
        assert str(exc).strip(), f"{kind}: {type(exc).__name__} without a message"
        return []
    for result in results:
        check(kind, result)
    return results


def check(kind: str, result: Any) -> None:
    if isinstance(result, Rejected):
        assert isinstance(result.reason, str) and result.reason.strip(), f"{kind}: empty reason"
        return
    assert isinstance(result, dict), f"{kind} yielded {type(result).__name__}"
    try:
        offer = make_offer({**result, "source": kind, "seen_at": FETCHED})
    except InvalidOffer as exc:
        assert str(exc).strip() and str(exc) != InvalidOffer.__doc__, f"{kind}: no reason"
        return
    assert isinstance(offer, Offer)


def json_sample(kind: str) -> list[Any]:
    documents = []
    for path in SAMPLES[kind]:
        try:
            documents.append(json.loads(path.read_bytes()))
        except ValueError:
            continue
    return documents


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document where a value could be swapped."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document[:2]):
            yield from paths(value, (*prefix, index))


def replaced(document: Any, where: tuple[Any, ...], value: Any) -> Any:
    if not where:
        return value
    head, rest = where[0], where[1:]
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = replaced(document[head], rest, value)
    return copy


def test_every_kind_has_samples() -> None:
    assert set(KINDS) <= set(SAMPLES), f"no saved responses for {set(KINDS) - set(SAMPLES)}"
    for kind in KINDS:
        assert SAMPLES[kind] and all(p.is_file() for p in SAMPLES[kind]), kind
        options_model(kind)  # importable, with its options


@pytest.mark.parametrize("kind", KINDS)
def test_the_saved_responses_themselves_pass(kind: str) -> None:
    for path in SAMPLES[kind]:
        outcome(kind, path.read_bytes())


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(body=st.binary(max_size=3000))
def test_random_bytes(kind: str, body: bytes) -> None:
    outcome(kind, body)


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(data=st.data())
def test_truncated_saved_responses(kind: str, data: st.DataObject) -> None:
    body = data.draw(st.sampled_from(SAMPLES[kind])).read_bytes()
    cut = data.draw(st.integers(min_value=0, max_value=len(body)))
    tail = data.draw(st.sampled_from([b"", b"\x00", b"\xff\xfe", b"<", b'"', b"}"]))
    outcome(kind, body[:cut] + tail)


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(document=JSON_VALUES)
def test_random_json(kind: str, document: Any) -> None:
    outcome(kind, json.dumps(document).encode())


def escaped(kind: str, body: bytes) -> str | None:
    """Where an exception other than the parser's own escaped, as ``Type at file:line``."""
    try:
        outcome(kind, body)
    except AssertionError:
        raise
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if "/tests/" not in f.filename and "site-packages" not in f.filename]  # fmt: skip
        where = (
            f"{Path(frames[-1].filename).relative_to(ROOT)}:{frames[-1].lineno}" if frames else "?"
        )
        return f"{type(exc).__name__} at {where}: {str(exc)[:80]}"
    return None


@pytest.mark.parametrize("kind", [k for k in KINDS if json_sample(k)])
def test_saved_json_with_one_value_of_another_type(kind: str) -> None:
    """A changed API: one value of a saved response swapped for null, a list, an object, text or
    a number. The parser must call the body malformed or reject the row, not crash."""
    rng = random.Random(f"swap-{kind}")
    escapes: dict[str, str] = {}
    for document in json_sample(kind):
        places = list(paths(document))[1:]
        for where in rng.sample(places, min(SWAPPED_PLACES, len(places))):
            for value in SWAPS:
                problem = escaped(kind, json.dumps(replaced(document, where, value)).encode())
                if problem:
                    escapes.setdefault(
                        problem.split(":")[0] + problem.split(":")[1],
                        f"{problem} (value at {list(where)} = {value!r})",
                    )
    if escapes:
        pytest.fail(
            f"{kind}: exceptions escaped the parser:\n" + "\n".join(sorted(escapes.values()))
        )


@pytest.mark.parametrize("kind", ["page"])
def test_an_html_parser_given_json_calls_it_malformed(kind: str) -> None:
    for body in (b"[]", b'{"deals": []}', b"123", b'"text"'):
        assert escaped(kind, body) is None


@pytest.mark.parametrize("kind", [k for k in KINDS if json_sample(k)])
@QUICK_FAIL
@given(data=st.data())
def test_saved_json_with_random_parts_replaced(kind: str, data: st.DataObject) -> None:
    document = data.draw(st.sampled_from(json_sample(kind)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        where = data.draw(st.sampled_from(list(paths(document))))
        document = replaced(document, where, data.draw(JSON_VALUES))
    outcome(kind, json.dumps(document).encode())
