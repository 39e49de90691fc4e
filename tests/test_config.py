"""config.toml is checked before anything runs; a bad one exits 2 naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import cli

GOOD_SOURCE = """
[[sources]]
name = "deals"
kind = "page"
urls = ["http://127.0.0.1:9/"]
[sources.options]
item = ".deal"
[sources.options.fields]
miles = ".miles"
"""

BAD = [
    ("[bot]\ndatabase = 5\n", "bot.database: Input is not a valid path"),
    ("[bot]\ncolour = 'red'\n", "bot.colour: unknown key"),
    (GOOD_SOURCE.replace('kind = "page"', 'kind = "telepathy"'), "sources[0].kind: unknown source kind 'telepathy'"),
    (GOOD_SOURCE.replace('item = ".deal"', 'item = ".deal"\nitems = 3'), "sources[0].options.items"),
    (GOOD_SOURCE.replace('miles = ".miles"', 'mileage = ".miles"'), "sources[0].options.fields: unknown offer field 'mileage'"),
    (GOOD_SOURCE.replace('kind = "page"', 'kind = "page"\nschedule = "whenever"'),
     "sources[0].schedule: 'whenever' is neither an interval"),
    ("[[rules]]\nname = 'r'\ndestinations = ['Atlantis']\n", "rules[0].destinations: unknown place 'Atlantis'"),
    ("[[rules]]\nname = 'r'\nmax_miles = 'lots'\n", "rules[0].max_miles: Input should be a valid integer"),
    ("[[notifiers]]\nname = 'tg'\ntype = 'console'\ntoken_env = 'AWARDWATCH_TEST_UNSET'\n",
     "notifiers[0].token_env: environment variable AWARDWATCH_TEST_UNSET is not set"),
    ("[[notifiers]]\nname = 'x'\ntype = 'console'\nrules = ['nope']\n", "routes unknown rule 'nope'"),
    ("[bot\n", "not valid TOML"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_config_exits_2_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    done = cli("--config", str(path), "once")
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    done = cli("--config", str(tmp_path / "nope.toml"), "once")
    assert done.returncode == 2 and "no such config file" in done.stderr


def test_shipped_configs_are_valid() -> None:
    from conftest import ROOT

    from settings.config import load

    for name in ("config.toml", "fixtures/demo.toml"):
        load(ROOT / name, check_env=False)
