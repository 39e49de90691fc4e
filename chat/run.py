"""The chat services inside the daemon: the Telegram bots, the Messenger Pages and the
webhook server they share, started on the daemon's event loop and stopped with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from chat.messenger import messenger_chats
from chat.server import ChatServer
from chat.telegram import TelegramChat, telegram_chats
from settings.config import Config

log = logging.getLogger("awardwatch.chat")


class ChatServices:
    """Every transport of ``bot``'s notifiers that takes subscribers. ``bot`` is the daemon's
    ``runner.bot.Bot``: its notifiers deliver (and pace) and its ``deliver`` sends the
    alerts a person's message released."""

    def __init__(self, config: Config, bot: Any) -> None:
        self.telegram = telegram_chats(config, bot.db, bot.notifiers)
        self.messenger = messenger_chats(config, bot.db, bot.notifiers, wake=bot.deliver)
        hooked = self.telegram if config.chat.telegram_webhook_url else []
        self.server = (ChatServer(config.chat, self.messenger, telegram=hooked)
                       if self.messenger or hooked else None)  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        """Answer subscribers until ``stop`` is set."""
        if not (self.telegram or self.messenger):
            return
        if self.server is not None:
            try:
                await self.server.start()
            except OSError as exc:
                log.error("webhook server: cannot listen on %s:%d: %s",
                          self.server.settings.listen_host, self.server.settings.listen_port,
                          exc)  # fmt: skip
                self.server = None
        await asyncio.gather(
            *(_telegram(chat, stop) for chat in self.telegram),
            *(chat.run(stop) for chat in self.messenger if self.server is not None),
        )
        if self.server is not None:
            await self.server.stop()


async def _telegram(chat: TelegramChat, stop: asyncio.Event) -> None:
    """Start (retrying while Telegram cannot be reached), answer until ``stop``, stop."""
    failures = 0
    while not stop.is_set():
        try:
            await chat.start()
            break
        except Exception as exc:
            failures += 1
            log.warning("telegram bot %s: cannot start: %s", chat.name,
                        chat.notifier.mask(f"{type(exc).__name__}: {exc}"))  # fmt: skip
            with contextlib.suppress(Exception):
                await chat.app.shutdown()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(60.0, 2.0**failures))
    else:
        return
    await stop.wait()
    await chat.stop()
