"""Alerts printed on standard output: the default notifier, and the demo's."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import ClassVar

from notifiers.base import Delivery, Item, Notifier


class ConsoleNotifier(Notifier):
    type_name: ClassVar[str] = "console"
    max_length: ClassVar[int] = 100_000

    async def send(self, chat: str, events: Sequence[Item]) -> Delivery:
        for message in self.render(events):
            sys.stdout.write(f"── alert ─────────────────────────\n{message}\n")
        sys.stdout.flush()
        return Delivery("sent")
