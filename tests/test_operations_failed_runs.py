"""A run that finds nothing where offers were expected is a failed run: ``once`` exits 1, the
admin hears of it, and no offer is marked gone — so no phantom "Back:" alert follows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from conftest import Sites, run_once

ADMIN = """
[[notifiers]]
name = "ops"
type = "console"
admin = true
"""

LOGIN = """<html><head><title>Sign in</title></head><body><form action="/login" method="post">
<input name="user"><input name="password" type="password"><button>Sign in</button></form>
</body></html>"""

BREAKAGES = {
    "selector matches nothing": ("skydeals", "promotions.html", None),
    "login page": ("skydeals", "promotions.html", LOGIN),
    "garbage html": ("skydeals", "promotions.html", "\x00\x17<<div <<<}}{{ ÿþ ]]><p"),
    "not a feed": ("points-daily", "feed.xml", LOGIN),
}


def live_offers(path: Path, source: str) -> int:
    db = sqlite_utils.Database(path)
    query = "SELECT count(*) FROM offers WHERE source = ? AND gone_since IS NULL"
    return int(db.execute(query, [source]).fetchone()[0])


def break_site(sites: Sites, name: str, body: str | None) -> None:
    if body is None:  # the layout changed: the items have another class now
        for page in ("promotions.html", "promotions-2.html"):
            sites.replace(page, 'class="deal', 'class="offer')
    else:
        (sites.root / name).write_text(body)


@pytest.mark.parametrize("case", BREAKAGES)
def test_empty_where_offers_were_expected_fails_and_retires_nothing(
    tmp_path: Path, sites: Sites, config_for: Any, case: str
) -> None:
    source, name, body = BREAKAGES[case]
    config = config_for(only=[source], extra=ADMIN)
    config.write_text(config.read_text().replace("[[sources]]", "[[sources]]\nalert_after = 2"))
    first = run_once(config)
    assert first["exit"] == 0 and first["runs"][0]["status"] == "ok"
    before = live_offers(tmp_path / "bot.db", source)
    original = (sites.root / name).read_text()
    break_site(sites, name, body)
    broken = [run_once(config) for _ in range(2)]
    assert [b["exit"] for b in broken] == [1, 1]
    assert all(b["runs"][0]["status"] == "empty" and b["runs"][0]["failed"] for b in broken)
    assert sum(f"source {source} is empty for 2 runs in a row" in b["stdout"] for b in broken) == 1
    assert live_offers(tmp_path / "bot.db", source) == before > 0
    (sites.root / name).write_text(original)
    if body is None:
        sites.replace("promotions-2.html", 'class="offer', 'class="deal')
    back = run_once(config)
    assert back["exit"] == 0 and back["runs"][0]["events"] == {}  # no phantom "Back:"
    assert "recovered" in back["stdout"]


def test_a_feed_with_no_sale_today_is_not_a_failure_on_a_fresh_source(
    sites: Sites, config_for: Any
) -> None:
    feed = (sites.root / "feed.xml").read_text()
    lounges = feed.index("<item>", feed.index("</item>"))
    (sites.root / "feed.xml").write_text(feed[: feed.index("<item>")] + feed[lounges:])
    summary = run_once(config_for(only=["points-daily"]))
    assert summary["runs"][0]["status"] == "empty" and summary["exit"] == 0
