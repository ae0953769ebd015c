"""Erase a customer: their rows in every table, their voice results and embeddings, and their texts in the
database file's bytes; tombstones so that their data is refused when it comes back.

:func:`remove` deletes in one transaction what :mod:`cxlab.privacy.subject` finds about the customer, records
tombstones (keyed hashes only: their customer ids, the anonymous ids linked to them alone, their contact keys)
and an audit entry. An embedding is keyed by its text: when another customer's voice result uses the same
text ("Top!"), it is no longer theirs alone and stays.

DuckDB marks deleted rows and frees blocks without overwriting them, so erased values stay in the file until
the space is reused. :func:`erase` therefore checkpoints, searches the file's bytes (and its ``.wal``) for the
erased texts, and when any is still there rewrites the store into a fresh file (:func:`compact`: only live
rows are copied) and swaps it in atomically, keeping the old file until the new one is complete. Rewriting
costs a copy of the whole store (seconds per million events), so it is done when the text is there, or always
with ``force_compact``, which also removes the customer's ids and texts that DuckDB stored compressed.
"""

from __future__ import annotations

import datetime as dt
import mmap
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from cxlab.journey import layout
from cxlab.privacy import audit
from cxlab.privacy.keys import keyed
from cxlab.privacy.subject import (
    EMBEDDINGS,
    STAGE_FEEDBACK,
    STAGE_ORDERS,
    Subject,
    find,
    predicates,
    stage,
    tombstone_keys,
    unstage,
)
from cxlab.privacy.tables import TOMBSTONES
from cxlab.schema.tables import quote_ident

MIN_NEEDLE = 8
"""Bytes: erased values shorter than this are not searched for in the file (they occur by chance)."""
FRESH_ALIAS = "_cxlab_fresh"


@dataclass(frozen=True)
class Removal:
    """What :func:`remove` deleted from the tables."""

    subject: Subject
    rows_removed: dict[str, int]
    tombstones: int
    needles: tuple[bytes, ...] = field(repr=False)
    """The erased texts to search the file's bytes for (never shown or stored)."""


@dataclass(frozen=True)
class EraseResult:
    """The outcome of erasing one customer."""

    customer_id: str
    rows_removed: dict[str, int]
    customers: int
    """Customer ids erased: the given one and any found by e-mail or phone."""
    anonymous_ids: int
    tombstones: int
    """New tombstones (none when the customer was erased before)."""
    compacted: bool
    left_in_file: int
    """Erased values still found verbatim in the file afterwards (0 unless something went wrong)."""

    @property
    def total(self) -> int:
        return sum(self.rows_removed.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "rows_removed": self.rows_removed,
            "rows_total": self.total,
            "customers": self.customers,
            "anonymous_ids": self.anonymous_ids,
            "tombstones": self.tombstones,
            "compacted": self.compacted,
            "left_in_file": self.left_in_file,
        }

    def summary(self) -> str:
        if not self.total:
            head = (
                f"No rows about customer {self.customer_id} in the store; a tombstone is recorded anyway, so "
                "data about them arriving later is refused."
            )
        else:
            tables = ", ".join(f"{t} {n:,}" for t, n in self.rows_removed.items() if n)
            head = (
                f"Erased customer {self.customer_id}: {self.total:,} rows ({tables}), "
                f"{self.anonymous_ids:,} linked anonymous ids; tombstones recorded, so their data is refused "
                "when it arrives again."
            )
        if self.compacted:
            head += " The store file was rewritten so that the erased data is gone from its bytes."
        if self.left_in_file:
            head += f" Warning: {self.left_in_file} erased values are still found in the file."
        return head


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _texts(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT text FROM feedback WHERE feedback_id IN (SELECT id FROM {STAGE_FEEDBACK}) "
        "AND text IS NOT NULL"
    ).fetchall()
    return [t for (t,) in rows]


def _voice_hashes(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> set[str]:
    if "voice_texts" not in tables:
        return set()
    rows = con.execute(
        f"SELECT DISTINCT text_hash FROM voice_texts WHERE feedback_id IN (SELECT id FROM {STAGE_FEEDBACK}) "
        "AND text_hash IS NOT NULL"
    ).fetchall()
    return {h for (h,) in rows}


def _remove_embeddings(con: duckdb.DuckDBPyConnection, hashes: set[str]) -> int:
    """Delete the embeddings of ``hashes`` (of erased voice results) that no remaining voice result uses."""
    if not hashes:
        return 0
    ((n,),) = con.execute(
        f"DELETE FROM {EMBEDDINGS} WHERE text_hash IN (SELECT unnest(?)) "
        "AND text_hash NOT IN (SELECT text_hash FROM voice_texts WHERE text_hash IS NOT NULL)",
        [sorted(hashes)],
    ).fetchall()
    return int(n)


def _add_tombstones(con: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]) -> int:
    """Insert the tombstones not recorded yet; returns how many were new."""
    known = set(con.execute(f"SELECT kind, key FROM {TOMBSTONES}").fetchall()) if keys else set()
    new = [k for k in dict.fromkeys(keys) if k not in known]
    if new:
        ts = _now()
        con.executemany(f"INSERT INTO {TOMBSTONES} VALUES (?, ?, ?)", [[kind, key, ts] for kind, key in new])
    return len(new)


def remove(
    con: duckdb.DuckDBPyConnection,
    secret: bytes,
    customer_id: str,
    email: str | None = None,
    phone: str | None = None,
) -> Removal:
    """Delete every row about the customer, record tombstones and an audit entry, in one transaction."""
    subject = find(con, secret, customer_id, email, phone)
    con.execute("BEGIN TRANSACTION")
    try:
        layout.drop(con)  # derived from events: the erased person's runs go with it; rebuilt without them
        stage(con, subject)
        where = predicates(con)
        texts = _texts(con)
        orders = [o for (o,) in con.execute(f"SELECT id FROM {STAGE_ORDERS}").fetchall()]
        hashes = _voice_hashes(con, where)
        counts = {
            table: int(con.execute(f"DELETE FROM {quote_ident(table)} WHERE {cond}").fetchall()[0][0])
            for table, cond in where.items()
        }
        shared = {
            t
            for (t,) in con.execute(
                "SELECT DISTINCT text FROM feedback WHERE text IN (SELECT unnest(?))", [texts]
            ).fetchall()
        }
        if EMBEDDINGS in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}:
            counts[EMBEDDINGS] = _remove_embeddings(con, hashes)
        # their order ids too: a guest review of their order must not come back with the next import
        added = _add_tombstones(
            con, [*tombstone_keys(secret, subject), *(("order_id", keyed(secret, o)) for o in orders)]
        )
        audit.record(
            con,
            "erase",
            subject=keyed(secret, customer_id),
            rows=sum(counts.values()),
            detail={
                "rows_removed": counts,
                "customers": len(subject.customer_ids),
                "anonymous_ids": len(subject.anonymous_ids),
                "tombstones": added,
            },
        )
        unstage(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("CHECKPOINT")
    needles = [t.encode("utf-8") for t in texts if t not in shared]
    return Removal(subject, counts, added, tuple(n for n in dict.fromkeys(needles) if len(n) >= MIN_NEEDLE))


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def found_in_file(path: Path, needles: Iterable[bytes]) -> int:
    """How many of ``needles`` occur in the bytes of the database file at ``path`` or its ``.wal``."""
    needles = list(needles)
    found: set[bytes] = set()
    for f in (path, _wal(path)):
        if not needles or not f.exists() or f.stat().st_size == 0:
            continue
        with open(f, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            found.update(n for n in needles if n not in found and m.find(n) >= 0)
    return len(found)


def compact(path: Path) -> None:
    """Rewrite the store at ``path`` into a fresh file holding only its live rows, then swap it in.

    The old file stays in place until the new one is complete; a failure leaves it untouched."""
    fresh = path.with_name(path.name + ".compact")
    for f in (fresh, _wal(fresh)):
        f.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("CHECKPOINT")
        ((name,),) = con.execute("SELECT current_database()").fetchall()
        target = str(fresh).replace("'", "''")
        con.execute(f"ATTACH '{target}' AS {FRESH_ALIAS}")
        con.execute(f"COPY FROM DATABASE {quote_ident(name)} TO {FRESH_ALIAS}")
        con.execute(f"DETACH {FRESH_ALIAS}")
    except BaseException:
        con.close()
        fresh.unlink(missing_ok=True)
        raise
    con.close()
    if _wal(path).exists() or _wal(fresh).exists():
        fresh.unlink(missing_ok=True)
        raise RuntimeError(f"{path}: the store was not fully checkpointed; it was left as it is")
    os.chmod(fresh, path.stat().st_mode & 0o777)
    os.replace(fresh, path)


def erase(
    db_path: str | Path,
    customer_id: str,
    email: str | None = None,
    phone: str | None = None,
    *,
    force_compact: bool = False,
) -> EraseResult:
    """Erase a customer from the store at ``db_path`` and from its file's bytes (see the module doc)."""
    from cxlab.store import Store

    path = Path(db_path)
    if not customer_id.strip():
        raise ValueError("CUSTOMER_ID: empty (give the id of the customer to erase)")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such store")
    with Store(path) as store:
        removal = remove(store.con, store.secret, customer_id, email, phone)
    compacted = force_compact or found_in_file(path, removal.needles) > 0
    if compacted:
        compact(path)
    return EraseResult(
        customer_id=customer_id,
        rows_removed=removal.rows_removed,
        customers=len(removal.subject.customer_ids),
        anonymous_ids=len(removal.subject.anonymous_ids),
        tombstones=removal.tombstones,
        compacted=compacted,
        left_in_file=found_in_file(path, removal.needles) if compacted else 0,
    )
