"""Notifier plugins are found through their entry points, the built-in ones the same way as a
third party's, loaded in a stable order; a broken plugin stops start-up with one clear error.
Third-party plugins here are real installed distributions: a dist-info folder on sys.path."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import notifiers
from notifiers import available, plugin
from notifiers.base import Notifier
from offers.errors import PluginError

GOOD = """
from notifiers.base import Delivery, Notifier

class PigeonNotifier(Notifier):
    type_name = "pigeon"

    async def post_text(self, chat, text):
        return Delivery("sent")
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path to install fake distributions into."""
    sys.path.insert(0, str(tmp_path))
    available.cache_clear()
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("awplug_")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    available.cache_clear()


def install(site: Path, dist: str, points: dict[str, str], modules: dict[str, str]) -> None:
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in points.items())
    (info / "entry_points.txt").write_text(f"[{notifiers.GROUP}]\n{lines}")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)
    importlib.invalidate_caches()


def test_built_in_notifiers_are_entry_points() -> None:
    found = available()
    for name in ("apprise", "console", "messenger", "webhook"):
        assert found[name].type_name == name
    assert list(found) == sorted(found)


def test_a_third_party_plugin_is_found_in_name_order(site: Path) -> None:
    install(site, "awplug-pigeon", {"pigeon": "awplug_pigeon:PigeonNotifier"},
            {"awplug_pigeon": GOOD})  # fmt: skip
    found = available()
    assert issubclass(found["pigeon"], Notifier)
    assert plugin("pigeon") is found["pigeon"]
    assert list(found) == sorted(found)


def test_a_plugin_that_fails_to_import_stops_start_up(site: Path) -> None:
    install(site, "awplug-broken", {"broken": "awplug_broken:BrokenNotifier"},
            {"awplug_broken": "import awplug_no_such_module\n"})  # fmt: skip
    with pytest.raises(PluginError) as caught:
        available()
    message = str(caught.value)
    assert message.startswith("notifier plugin 'broken' (awplug_broken:BrokenNotifier) failed")
    assert "ModuleNotFoundError" in message and "awplug_no_such_module" in message
    assert caught.value.exit_code == 2


def test_a_plugin_that_is_not_a_notifier_is_refused(site: Path) -> None:
    install(site, "awplug-odd", {"odd": "awplug_odd:Odd"}, {"awplug_odd": "class Odd: ...\n"})
    with pytest.raises(PluginError, match="'odd' .* is not a Notifier subclass"):
        available()


def test_an_unknown_type_names_the_installed_ones() -> None:
    with pytest.raises(PluginError, match="no notifier plugin of type 'carrier'.*webhook"):
        plugin("carrier")
