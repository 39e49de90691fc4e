"""The README stays true: every source kind and notifier is listed, and every configuration
example in it is valid (the examples are run through the real config and plugin code)."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
from conftest import ROOT

from notifiers import available
from runner.bot import build_notifiers
from scrapers.parsers import KINDS
from settings.config import Config

README = (ROOT / "README.md").read_text()
EXAMPLES = re.findall(r"```toml\n(.*?)```", README, re.DOTALL)


def test_every_source_kind_is_in_the_sources_table() -> None:
    missing = [kind for kind in KINDS if f"| `{kind}` |" not in README]
    assert not missing, f"source kinds missing from README: {missing}"


def test_every_notifier_is_in_the_notifier_table() -> None:
    missing = [name for name in available() if f"| `{name}` |" not in README]
    assert not missing, f"notifiers missing from README: {missing}"
    assert "| Snapchat |" in README


def test_quickstart_commands() -> None:
    assert "make demo" in README and "make test" in README


def env_names(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [v for k, v in data.items() if k.endswith("_env") and isinstance(v, str)] + [
            n for v in data.values() for n in env_names(v)
        ]
    if isinstance(data, list):
        return [n for v in data for n in env_names(v)]
    return []


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_config_examples_are_valid(example: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tomllib.loads(example)
    for name in env_names(data):
        # an Apprise URL list must hold URLs Apprise knows; any other secret is opaque text
        monkeypatch.setenv(name, "json://127.0.0.1:9/" if "URLS" in name else "example-secret")
    rules = {r for n in data.get("notifiers", []) for r in n.get("rules", [])}
    rules |= {
        r for n in data.get("notifiers", []) for c in n.get("chats", []) for r in c.get("rules", [])
    }
    data.setdefault("rules", [])
    data["rules"] += [{"name": r} for r in sorted(rules - {r["name"] for r in data["rules"]})]
    config = Config.model_validate(data)
    build_notifiers(config)
