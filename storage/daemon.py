"""The daemon's own row in the archive: who runs, since when, and its heartbeat, so
``newswatch status`` (another process) can tell a live daemon from a wedged one."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.transactions import write_transaction

__all__ = ["daemon_row", "record_daemon_start", "record_daemon_stop", "record_heartbeat"]


def record_daemon_start(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    with write_transaction(db):
        db.table("daemon").upsert(
            {"id": 1, **row, "heartbeat_at": row.get("started_at"), "stopped_at": None}, pk="id"
        )


def record_heartbeat(db: sqlite_utils.Database, pid: int, now: str) -> None:
    with write_transaction(db):
        db.execute("UPDATE daemon SET heartbeat_at = ? WHERE id = 1 AND pid = ?", [now, pid])


def record_daemon_stop(db: sqlite_utils.Database, pid: int, now: str) -> None:
    with write_transaction(db):
        db.execute("UPDATE daemon SET stopped_at = ? WHERE id = 1 AND pid = ?", [now, pid])


def daemon_row(db: sqlite_utils.Database) -> dict[str, Any] | None:
    return next(iter(db.query("SELECT * FROM daemon WHERE id = 1")), None)
