"""Export everything stored about a customer (a subject access request): one JSON file per table with rows
about them, and a manifest of what was exported, when, and how many rows.

The rows are the same ones erase removes (:mod:`cxlab.privacy.subject`), plus the stored embeddings of their
texts. Contact fields are exported as stored: keyed hashes, never the clear values (cxlab never had them).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from cxlab.jsonable import dumps
from cxlab.privacy import audit
from cxlab.privacy.keys import keyed
from cxlab.privacy.subject import (
    EMBEDDINGS,
    STAGE_FEEDBACK,
    find,
    predicates,
    stage,
    unstage,
)
from cxlab.schema.tables import quote_ident

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ExportResult:
    """What was exported where."""

    customer_id: str
    out: Path
    tables: dict[str, int]
    """Rows written per table (tables without rows about the customer are left out)."""

    @property
    def total(self) -> int:
        return sum(self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "out": str(self.out), "tables": self.tables}

    def summary(self) -> str:
        if not self.tables:
            return (
                f"No rows about customer {self.customer_id} in the store; wrote only {self.out / MANIFEST}."
            )
        tables = ", ".join(f"{t} {n:,}" for t, n in self.tables.items())
        return f"Exported {self.total:,} rows about customer {self.customer_id} to {self.out}: {tables}."


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _embeddings(con: duckdb.DuckDBPyConnection, tables: set[str]) -> list[dict[str, Any]]:
    """Stored embeddings of the staged feedback's texts (through their voice results)."""
    if EMBEDDINGS not in tables:
        return []
    if "voice_texts" not in tables:
        return []
    return _rows(
        con,
        f"SELECT * FROM {EMBEDDINGS} WHERE text_hash IN (SELECT text_hash FROM voice_texts "
        f"WHERE feedback_id IN (SELECT id FROM {STAGE_FEEDBACK})) ORDER BY model, text_hash",
    )


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (it holds personal data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def export(
    con: duckdb.DuckDBPyConnection,
    secret: bytes,
    customer_id: str,
    out: str | Path,
    email: str | None = None,
    phone: str | None = None,
) -> ExportResult:
    """Write ``out/<table>.json`` (an array of row objects) for every table with rows about the customer, and
    ``out/manifest.json``; records an audit entry."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a folder")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    # a folder used for an earlier export must not hand that customer's files to this one
    for stale in out.glob("*.json"):
        stale.unlink()
    subject = find(con, secret, customer_id, email, phone)
    stage(con, subject)
    try:
        where = predicates(con)
        found = {
            t: _rows(con, f"SELECT * FROM {quote_ident(t)} WHERE {c} ORDER BY ALL") for t, c in where.items()
        }
        all_tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        found[EMBEDDINGS] = _embeddings(con, all_tables)
    finally:
        unstage(con)
    counts = {t: len(rows) for t, rows in found.items() if rows}
    for table in counts:
        _write_private(out / f"{table}.json", dumps(found[table]) + "\n")
    manifest = {
        "customer_id": customer_id,
        "customer_ids": list(subject.customer_ids),
        "anonymous_ids": list(subject.anonymous_ids),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tables": counts,
        "files": [f"{t}.json" for t in counts],
        "note": "Contact fields (email_hash, phone_hash) are keyed hashes; the clear values are not stored.",
    }
    _write_private(out / MANIFEST, dumps(manifest) + "\n")
    audit.record(
        con,
        "export",
        subject=keyed(secret, customer_id),
        rows=sum(counts.values()),
        detail={"tables": counts},
    )
    return ExportResult(customer_id, out, counts)
