"""What the CLI prints: the run summary and the source list, as tables."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from runner.health import health
from settings.config import Config
from storage.db import connect

console = Console()


def print_summary(summary: dict[str, Any]) -> None:
    table = Table(title="awardwatch run")
    for column in ("source", "status", "items", "offers", "events", "rejected", "errors"):
        table.add_column(column)
    for run in summary["runs"]:
        events = ", ".join(f"{k} {v}" for k, v in run["events"].items()) or "-"
        rejected = ", ".join(f"{k}: {v}" for k, v in sorted(run["rejected"].items())) or "-"
        table.add_row(
            run["source"], run["status"], str(run["items"]), str(run["offers"]), events,
            rejected, str(run["errors"]) + (f" ({run['message']})" if run["message"] else ""),
        )  # fmt: skip
    console.print(table)
    delivery = summary["delivery"]
    console.print(
        f"alerts: {delivery['sent']} sent, {delivery['retrying']} waiting to retry, "
        f"{delivery['dead']} dead · " + " · ".join(f"{k}: {v}" for k, v in summary["sinks"].items())
    )
    for name, reason in delivery.get("rejected", {}).items():
        console.print(f"notifier {name} refused: {reason}", style="bold red")


def last_runs(config: Config) -> dict[str, dict[str, Any]]:
    if not config.bot.database.exists():
        return {}
    db = connect(config.bot.database)
    rows = db.query(
        "SELECT r.* FROM runs r JOIN (SELECT source, max(id) AS id FROM runs GROUP BY source) l"
        " ON r.id = l.id"
    )
    return {row["source"]: row for row in rows}


def print_sources(config: Config, *, as_json: bool = False) -> None:
    runs = last_runs(config)
    db = connect(config.bot.database) if config.bot.database.exists() else None
    rows: list[dict[str, Any]] = []
    for source in config.sources:
        run = runs.get(source.name, {})
        state = health(db, source.name) if db is not None else None
        rows.append({
            "name": source.name, "kind": source.kind, "enabled": source.enabled,
            "schedule": source.schedule, "render": source.render,
            "last_run": run.get("finished"), "status": run.get("status"),
            "offers": run.get("offers"), "message": run.get("message") or "",
            "bad_runs_in_a_row": state.streak if state else 0,
            "paused": state.paused if state else None,
        })  # fmt: skip
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(title="sources")
    for column in ("name", "kind", "schedule", "last run", "status", "offers", "message"):
        table.add_column(column)
    for row in rows:
        status = str(row["status"] or "-")
        if row["bad_runs_in_a_row"] > 1:
            status += f" ×{row['bad_runs_in_a_row']}"
        if row["paused"]:
            status = f"paused: {row['paused']}"
        table.add_row(
            row["name"] + ("" if row["enabled"] else " (disabled)"), row["kind"],
            row["schedule"], str(row["last_run"] or "never"), status,
            str(row["offers"] if row["offers"] is not None else "-"), row["message"],
        )  # fmt: skip
    console.print(table)
