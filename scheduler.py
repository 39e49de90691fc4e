"""awardwatch's one entry point: ``once`` for cron, ``daemon`` for a long-lived process,
``parse`` to debug a source on a saved response, ``sources`` to see what is configured and how
it is doing, ``resume`` for a paused source, ``backup`` for the database, ``panel`` for the
web panel.

This file wires the parts together; named errors become messages and exit codes here:
0 all went well; 1 a source or a sink (spreadsheet, Google Sheet, a notifier whose token or
address was refused) failed; 2 bad configuration or an unusable database; 3 another
awardwatch process holds the database.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offers.errors import AwardwatchError, ConfigError
from panel import add_arguments as add_panel_arguments


def _lazy_module(name: str) -> Any:
    """``name``, imported when one of its attributes is first read."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from settings import config as config_module
else:
    # loaded on first use: its models (and the offer and date code under them) cost more than
    # `--help` may take
    config_module = _lazy_module("settings.config")

#: A run's outcome; errors exit with their class's ``exit_code`` (2 configuration or
#: database, 3 busy).
EXIT_OK, EXIT_FAILED = 0, 1
#: Files the bot creates (database, WAL, backups, HTTP cache, spreadsheet) hold subscribers'
#: chat ids and cached pages: readable by the bot's user only (0600 files, 0700 folders).
UMASK = 0o077


@contextlib.contextmanager
def _writing(config: config_module.Config) -> Iterator[None]:
    """Hold the database's writer lock: one writing awardwatch process at a time."""
    from storage.db import writer_lock

    with writer_lock(config.bot.database):
        yield


def _install_reactor() -> Any:
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import reactor

    return reactor


def _run_on_reactor(main: Callable[[], Any]) -> Any:
    """Run the coroutine function ``main`` on the Twisted asyncio reactor; return its result."""
    reactor = _install_reactor()
    from scrapy.utils.defer import deferred_from_coro

    outcome: dict[str, Any] = {}

    def finish(value: Any) -> None:
        outcome["value"] = value
        if reactor.running:
            reactor.stop()

    reactor.callWhenRunning(lambda: deferred_from_coro(main()).addBoth(finish))
    reactor.run()
    value = outcome.get("value")
    if hasattr(value, "raiseException"):
        value.raiseException()
    return value


def _sources(config: config_module.Config, names: Sequence[str] | None) -> list[Any]:
    if names:
        return [config.source(name) for name in names]
    return [s for s in config.sources if s.enabled]


def cmd_once(args: argparse.Namespace) -> int:
    from runner.bot import Bot
    from runner.report import print_summary

    config = config_module.load(args.config)
    sources = _sources(config, args.source)
    # with --json, stdout carries the one JSON document: anything else printed goes to stderr
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    with _writing(config), quiet:
        bot = Bot(config)

        async def main() -> dict[str, Any]:
            try:
                return await bot.run_once(sources)
            finally:
                await bot.close()

        summary = _run_on_reactor(main)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print_summary(summary)
    return EXIT_OK if summary["ok"] else EXIT_FAILED


def cmd_daemon(args: argparse.Namespace) -> int:
    from runner.daemon import Daemon

    config = config_module.load(args.config)
    with _writing(config):
        reactor = _install_reactor()
        daemon = Daemon(config, reactor)
        daemon.run()
    return EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    from runner.parse import Tally, parse_file

    config = (
        config_module.load(args.config, check_env=False) if Path(args.config).exists() else None
    )
    tally = Tally()
    records = parse_file(
        args.source, Path(args.file), config, show_rejected=args.rejected,
        base_url=args.base_url, tally=tally,
    )  # fmt: skip
    for record in records:
        print(json.dumps(record, ensure_ascii=False, default=str))
    print(tally.line(), file=sys.stderr)
    return EXIT_OK


def cmd_sources(args: argparse.Namespace) -> int:
    from runner.report import print_sources

    config = config_module.load(args.config, check_env=False)
    print_sources(config, as_json=args.json)
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from storage.db import backup

    config = config_module.load(args.config, check_env=False)
    backup(config.bot.database, args.path)
    print(f"backed up {config.bot.database} to {args.path}")
    return EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    from runner.health import resume
    from storage.db import connect

    config = config_module.load(args.config, check_env=False)
    config.source(args.source)
    with _writing(config):
        resumed = resume(connect(config.bot.database), args.source)
    if resumed:
        print(f"source {args.source} resumed; the daemon runs it at its next scheduled time")
    else:
        print(f"source {args.source} was not paused")
    return EXIT_OK


def cmd_panel(args: argparse.Namespace) -> int:
    from panel.app import command

    return int(command(args))


def cmd_revive(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from storage.db import connect
    from storage.outbox import revive

    config = config_module.load(args.config, check_env=False)
    if args.target not in {n.name for n in config.notifiers}:
        known = ", ".join(n.name for n in config.notifiers) or "none"
        raise ConfigError(f"no notifier named {args.target!r} (configured: {known})")
    with _writing(config):
        count = revive(connect(config.bot.database), args.target, datetime.now(UTC))
    print(f"{count} dead deliveries of {args.target} queued again; the next pass sends them")
    return EXIT_OK


def cmd_deploy(args: argparse.Namespace) -> int:
    from runner.scaleout import deploy

    config = config_module.load(args.config)
    if config.scale_out is None:
        raise ConfigError(f"{args.config}: no [scale_out] section: nowhere to deploy")
    for node, spiders in deploy(config.scale_out, version=args.version).items():
        print(f"{node}: {spiders} spiders")
    return EXIT_OK


def _global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options every command takes, before or after its name. Only the top level sets
    defaults, so an option given before the command is not reset after it."""

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--config", default=default("config.toml"),
                        help="config file (default: config.toml)")  # fmt: skip
    parser.add_argument("--log-format", choices=["text", "json"], default=default(None))
    parser.add_argument("-v", "--verbose", action="store_true", default=default(False))


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Sub-commands that accept the global options too."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        command = super().add_parser(name, **kwargs)
        _global_options(command, defaults=False)
        return command


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="awardwatch", description=__doc__.split("\n\n")[0],
                                  epilog="exit codes: 0 all well; 1 a source or a sink failed; "
                                  "2 bad configuration or unusable database; 3 another "
                                  "awardwatch process holds the database")  # fmt: skip
    _global_options(top, defaults=True)
    top.register("action", "commands", _Commands)
    commands = top.add_subparsers(dest="command", required=True, action="commands")

    once = commands.add_parser("once", help="run sources once and exit (for cron)")
    once.add_argument("--source", action="append", metavar="NAME", help="only this source")
    once.add_argument("--json", action="store_true", help="print the run summary as JSON")
    once.set_defaults(func=cmd_once)

    daemon = commands.add_parser("daemon", help="run sources on their schedules until stopped")
    daemon.set_defaults(func=cmd_daemon)

    parse = commands.add_parser("parse", help="run a source's parser on a saved response")
    parse.add_argument("source", help="a configured source name, or a source kind")
    parse.add_argument("file", help="saved HTML, JSON or XML response")
    parse.add_argument(
        "--rejected", action="store_true", help="also print each rejected row or post and why"
    )
    parse.add_argument(
        "--base-url", metavar="URL",
        help="URL the file was fetched from, for relative links (default: the source's URL)",
    )  # fmt: skip
    parse.set_defaults(func=cmd_parse)

    sources = commands.add_parser("sources", help="list sources, schedules and last runs")
    sources.add_argument("--json", action="store_true")
    sources.set_defaults(func=cmd_sources)

    resume = commands.add_parser("resume", help="resume a source paused after failing for days")
    resume.add_argument("source")
    resume.set_defaults(func=cmd_resume)

    panel = commands.add_parser("panel", help="browse offers, history and health in a browser")
    add_panel_arguments(panel)
    panel.set_defaults(func=cmd_panel)

    revive = commands.add_parser("revive", help="queue a notifier's dead deliveries again")
    revive.add_argument("target", help="the notifier's name")
    revive.set_defaults(func=cmd_revive)

    deploy = commands.add_parser("deploy", help="upload the project to the [scale_out] nodes")
    deploy.add_argument("--version", help="egg version (default: current timestamp)")
    deploy.set_defaults(func=cmd_deploy)

    backup = commands.add_parser("backup", help="copy the database safely while it runs")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_backup)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(UMASK)
    args = parser().parse_args(argv)
    from runner import logs

    log_format = args.log_format
    if log_format is None and Path(args.config).exists():
        try:
            log_format = config_module.load(args.config, check_env=False).bot.log_format
        except ConfigError:
            log_format = "text"
    logs.setup(log_format or "text", args.verbose, config_module.secret_values(args.config))
    try:
        return int(args.func(args))
    except AwardwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except sqlite3.DatabaseError as exc:  # went bad while running (opening is checked)
        from storage.db import DatabaseError, database_problem

        print(f"error: {database_problem(_database_of(args), exc)}", file=sys.stderr)
        return DatabaseError.exit_code
    except BrokenPipeError:  # `… | head` stopped reading: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit would fail again
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def _database_of(args: argparse.Namespace) -> str:
    try:
        return str(config_module.load(args.config, check_env=False).bot.database)
    except AwardwatchError:
        return "(database)"


if __name__ == "__main__":
    sys.exit(main())
