"""The audit log: who erased, exported, pruned or changed keys, when, about whom (keyed hash) and how many
rows. Written in the same transaction as the action it records."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from typing import Any

import duckdb

from cxlab.privacy.tables import AUDIT

ACTIONS = ("erase", "export", "prune", "migrate", "secret", "consent", "key")


def actor() -> str:
    """Who is acting: ``CXLAB_ACTOR`` when set (e.g. the server's key name), else the OS user."""
    env = os.environ.get("CXLAB_ACTOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def record(
    con: duckdb.DuckDBPyConnection,
    action: str,
    *,
    subject: str | None = None,
    rows: int = 0,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry (``subject``: a keyed hash, never a clear id)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r} (expected one of {', '.join(ACTIONS)})")
    con.execute(
        f"INSERT INTO {AUDIT} VALUES (?, ?, ?, ?, ?, ?)",
        [
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            action,
            actor(),
            subject,
            rows,
            json.dumps(detail or {}, sort_keys=True),
        ],
    )


def entries(con: duckdb.DuckDBPyConnection, limit: int = 100) -> list[dict[str, Any]]:
    """The latest audit entries, newest first."""
    rows = con.execute(
        f"SELECT ts, action, actor, subject, rows, detail FROM {AUDIT} ORDER BY ts DESC LIMIT {int(limit)}"
    ).fetchall()
    keys = ("ts", "action", "actor", "subject", "rows", "detail")
    return [dict(zip(keys, (*r[:5], json.loads(r[5] or "{}")), strict=True)) for r in rows]
