"""Notifier plugins, found through the ``awardwatch.notifiers`` entry point group.

Built-in notifiers register the same way a third party's would (see pyproject.toml), and are
loaded in a stable order; a plugin that fails to load stops start-up with one clear error.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from notifiers.base import Notifier
from offers.errors import PluginError

GROUP = "awardwatch.notifiers"


@lru_cache(maxsize=1)
def available() -> dict[str, type[Notifier]]:
    """Every installed notifier type, by name, loaded in name order."""
    found: dict[str, type[Notifier]] = {}
    for point in sorted(entry_points(group=GROUP), key=lambda p: (p.name, p.value)):
        try:
            plugin = point.load()
        except Exception as exc:
            raise PluginError(
                f"notifier plugin {point.name!r} ({point.value}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not (isinstance(plugin, type) and issubclass(plugin, Notifier)):
            raise PluginError(
                f"notifier plugin {point.name!r} ({point.value}) is not a Notifier subclass"
            )
        found[point.name] = plugin
    return found


def plugin(type_name: str) -> type[Notifier]:
    plugins = available()
    if type_name not in plugins:
        raise PluginError(
            f"no notifier plugin of type {type_name!r}; installed: {', '.join(plugins) or 'none'}"
        )
    return plugins[type_name]
