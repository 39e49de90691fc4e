"""Feeds as real CMSs and hostile sites write them: emoji as surrogate pairs of character
references, entity bombs, and failures of the feed library turned into a reason."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from offers.errors import MalformedResponse
from scrapers.parsers import ParseContext, Rejected
from scrapers.parsers import feed as feed_parser
from scrapers.parsers.feed import MAX_ENTITY_EXPANSION, Feed, announcement, mend_references, parse

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
FETCHED = datetime(2026, 4, 5, tzinfo=UTC)

POST = """<item><title>Flying Blue Promo Rewards {mark}: Paris to New York from 15,000 miles</title>
<link>https://blog.example/fb</link><pubDate>Mon, 02 Mar 2026 09:00:00 GMT</pubDate>
<description>Flying Blue Promo Rewards {mark}: Paris to New York from 15,000 miles one-way in
economy. Book by March 6, 2026 for travel April 1 - June 30, 2026.</description></item>"""


def rss(*items: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{doctype}<rss version="2.0"><channel>'
        f"<title>Blog</title>{''.join(items)}</channel></rss>"
    ).encode()


def test_surrogate_pair_references_become_one_character() -> None:
    body = rss(POST.format(mark="&#55357;&#56832; &#xD83D;&#xDE00;"))
    [entry] = Feed(body).entries
    assert "\U0001f600 \U0001f600" in entry.title
    entry.title.encode("utf-8")  # no lone surrogate left to break printing or storing


def test_award_sale_posts_with_surrogate_emoji_are_read() -> None:
    body = rss(POST.format(mark="&#55357;&#56832;"))
    [entry] = Feed(body).entries
    _, found = announcement(entry, FETCHED, None)
    assert found.is_award_sale
    assert (found.program, found.miles_min) == ("flyingblue", 15000)


@pytest.mark.parametrize(
    ("text", "mended"),
    [
        (b"&#55357;&#56832;", b"&#128512;"),
        (b"a &#55357; b", b"a &#65533; b"),
        (b"&#56832;&#55357;", b"&#65533;&#65533;"),
        (b"&#1114112;", b"&#65533;"),
        (b"&#233; &amp; &#x1F600;", b"&#233; &amp; &#x1F600;"),
    ],
)
def test_mend_references(text: bytes, mended: bytes) -> None:
    assert mend_references(text) == mended


def test_entity_expansion_is_capped() -> None:
    entity = '<!DOCTYPE rss [<!ENTITY big "' + "x" * 100_000 + '">]>'
    body = rss(POST.format(mark="&big;" * 50_000), doctype=entity)
    started = time.monotonic()
    with pytest.raises(MalformedResponse, match="entities would expand"):
        Feed(body)
    assert time.monotonic() - started < 10  # refused before anything expands


def test_nested_entities_are_capped() -> None:
    levels = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    ]
    body = rss(POST.format(mark="&l9;"), doctype=f"<!DOCTYPE rss [{''.join(levels)}]>")
    with pytest.raises(MalformedResponse, match=f"limit {MAX_ENTITY_EXPANSION:,}"):
        Feed(body)


def test_small_declared_entities_still_read() -> None:
    body = rss(POST.format(mark="&promo;"), doctype='<!DOCTYPE rss [<!ENTITY promo "sale">]>')
    [entry] = Feed(body).entries
    assert "sale" in entry.title


def test_a_failing_feed_library_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(body: bytes) -> None:
        raise UnicodeEncodeError("utf-8", "\ud83d", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(feed_parser.feedparser, "parse", broken)
    ctx = ParseContext(source="blog", fetched_at=FETCHED)
    with pytest.raises(MalformedResponse, match="feed unreadable: UnicodeEncodeError"):
        list(parse(rss(POST.format(mark="")), ctx))


@pytest.mark.parametrize("name", ["points_blog.rss", "airline_news.atom", "truncated.rss"])
def test_normal_feeds_pass_unchanged(name: str) -> None:
    body = (FEEDS / name).read_bytes()
    assert feed_parser.sanitised(body) == body


def test_normal_feeds_still_give_offers() -> None:
    body = (FEEDS / "points_blog.rss").read_bytes()
    results = list(parse(body, ParseContext(source="blog", fetched_at=FETCHED)))
    # the same offers as the feed parser's own test of this file reads (one per route)
    assert len([r for r in results if not isinstance(r, Rejected)]) == 6
