"""The web panel: Datasette over offers, events and runs (app), CSV export (export).

The panel's command-line options live here, without Datasette's imports, so that
``awardwatch panel`` and ``python -m panel.app`` share one definition of them and the CLI
builds its parser without loading the web stack.
"""

from __future__ import annotations

import argparse

DEFAULT_PASSWORD_ENV = "AWARDWATCH_PANEL_PASSWORD"
MIN_PASSWORD = 12


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``awardwatch panel``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port (default: 8001)")
    parser.add_argument(
        "--password-env",
        default=None,
        metavar="NAME",
        help=f"environment variable holding the password (default: {DEFAULT_PASSWORD_ENV});"
        f" required, of at least {MIN_PASSWORD} characters, when the host is not"
        " 127.0.0.1/localhost",
    )
    parser.add_argument(
        "--allow-sql",
        action="store_true",
        help="let panel users run their own SELECT queries (hidden tables still read as NULL)",
    )
