"""Ingest into a lakehouse folder (the layout of :mod:`cxlab.store.lake`), written by DuckDB, no Spark needed.

The checks, typing, privacy scrubbing and rejects are those of the DuckDB ingest: the input is ingested with
:func:`cxlab.store.ingest.ingest` into a staging DuckDB file inside a temporary folder of the lake. Then the
staged rows whose key the lake already holds (in any file, any partition) are dropped and counted as
duplicates, as the store skips keys it holds. What is left is written as Parquet into the temporary folder
and moved into place one whole file at a time (:func:`cxlab.store.lake.commit`), the ingest's log row last
(``DIR/_cxlab_ingests/part-<id>.parquet``, the columns of the store's ``_cxlab_ingests``).

A failure before the commit leaves the lake as it was. One killed mid-commit leaves whole files only and no
log row; a rerun stores the rest (keys already there are skipped) and logs itself. One writer at a time:
an ingest holds the lake's writer lock (:func:`cxlab.store.lake.writer_lock`).

The lake keeps its secret for keyed hashes as ``DIR/cxlab.secret`` (mode 0600; ``CXLAB_SECRET`` overrides),
created on first ingest, and its fingerprint in ``DIR/_cxlab_meta.json`` so that a lost or different
secret is refused rather than keying new rows differently from the stored ones.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import duckdb

from cxlab.config import Config
from cxlab.privacy.keys import SECRET_ENV, SECRET_NAME, SecretError, keyed, load_secret
from cxlab.privacy.tables import DDL as PRIVACY_DDL
from cxlab.privacy.tables import TOMBSTONES
from cxlab.schema.checks import sql_literal
from cxlab.schema.tables import TABLES, quote_ident
from cxlab.store import lake
from cxlab.store.engine import SparkTarget
from cxlab.store.ingest import IngestReport, ProgressCallback, ingest
from cxlab.store.store import INGEST_LOG_DDL, SECRET_CHECK, StoreError

LOG_DIR = "_cxlab_ingests"
"""Folder of the lake's ingest log: one Parquet file (one row) per ingest."""
STAGE_NAME = "stage.duckdb"
LAKE_MARK = "__lake"
"""Column added to the staging ``consent`` table to tell rows read from the lake from rows the ingest adds."""


def lake_folder(target: SparkTarget) -> Path:
    """The local folder a Spark target's tables are in, for writing; a :class:`StoreError` when ingest can't
    write there (a catalog database, an object store, Delta, per-table paths)."""
    where = target.url
    if target.tables is None or "://" in target.tables:
        raise StoreError(
            f"{where}: ingest writes to a local tables folder (tables=DIR), not {target.tables or 'a catalog'}"
        )
    if target.format != "parquet":
        raise StoreError(f"{where}: ingest writes Parquet; this target's format is {target.format}")
    if target.paths:
        raise StoreError(
            f"{where}: ingest writes DIR/<table>; per-table paths ([engine] paths) are not supported"
        )
    return Path(target.tables)


def ingest_to_lake(
    out: Path,
    table: str,
    data: Any,
    config: Config,
    *,
    skip_bad: bool = False,
    rejects_path: str | Path | None = None,
    name: str | None = None,
    progress: ProgressCallback | None = None,
    dry_run: bool = False,
    encoding: str | None = None,
    date_format: str | None = None,
) -> IngestReport:
    """Load ``data`` into ``table`` of the lake at ``out``; arguments and result as
    :func:`cxlab.store.ingest.ingest`. Raises :class:`~cxlab.store.ingest.IngestError` (nothing stored) as it
    does."""
    with lake.writer_lock(out):
        if not dry_run:
            lake_secret(out, create=True)
        tmp = lake.temporary(out)
        try:
            con = _staging(tmp / STAGE_NAME)
            try:
                erased = _load_tombstones(con, out)
                if table == "customers":
                    _load_consent(con, out)
                report = ingest(
                    con,
                    table,
                    data,
                    config,
                    skip_bad=skip_bad,
                    rejects_path=tmp / "rejects.csv" if dry_run else rejects_path,
                    name=name,
                    progress=progress,
                    encoding=encoding,
                    date_format=date_format,
                    secret=lake_secret(out, create=False) if erased else None,
                )
                known = _drop_stored(con, out, table)
                report.stored -= known
                report.duplicate += known
                if dry_run:
                    report.rejects_file = None
                    return report
                files = _write_new(con, table, report, tmp)
            finally:
                con.close()
            lake.commit(tmp, files, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return report


def _staging(path: Path) -> duckdb.DuckDBPyConnection:
    """A throwaway DuckDB file with the tables :func:`~cxlab.store.ingest.ingest` reads and writes."""
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'; SET enable_progress_bar_print = false")
    con.execute(";\n".join([*(spec.ddl() for spec in TABLES.values()), INGEST_LOG_DDL, PRIVACY_DDL]))
    return con


def _has_files(out: Path, table: str) -> bool:
    return (out / table).is_dir() and any((out / table).rglob("*.parquet"))


def _load_tombstones(con: duckdb.DuckDBPyConnection, out: Path) -> bool:
    """Copy the lake's tombstones (``cxlab export parquet`` carries the store's) into the staging store, so
    rows of erased customers are refused as the store refuses them; whether there are any."""
    if not _has_files(out, TOMBSTONES):
        return False
    con.execute(f"INSERT INTO {TOMBSTONES} SELECT kind, key, ts FROM {lake.parquet_glob(out, TOMBSTONES)}")
    return True


def _load_consent(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """Copy the lake's consent ledger into the staging store, marked, so a customers file appends to the
    ledger only where a customer's consent changes, as it does in a store."""
    con.execute(f"ALTER TABLE consent ADD COLUMN {LAKE_MARK} BOOLEAN")
    if _has_files(out, "consent"):
        cols = ", ".join(quote_ident(c) for c in TABLES["consent"].column_names)
        con.execute(
            f"INSERT INTO consent ({cols}, {LAKE_MARK}) SELECT {cols}, TRUE FROM {lake.parquet_glob(out, 'consent')}"
        )


def _drop_stored(con: duckdb.DuckDBPyConnection, out: Path, table: str) -> int:
    """Delete the staged rows of ``table`` whose key the lake holds already; how many."""
    if not _has_files(out, table):
        return 0
    key = TABLES[table].key
    keys = ", ".join(quote_ident(k) for k in key)
    match = " AND ".join(f"s.{quote_ident(k)} = t.{quote_ident(k)}" for k in key)
    (row,) = con.execute(
        f"DELETE FROM {quote_ident(table)} s USING (SELECT DISTINCT {keys} FROM {lake.parquet_glob(out, table)}) t "
        f"WHERE {match}"
    ).fetchall()
    return int(row[0])


def _write_new(con: duckdb.DuckDBPyConnection, table: str, report: IngestReport, tmp: Path) -> list[Path]:
    """Write the staged new rows (and, for customers, the new consent rows) and the log row under ``tmp``;
    the files to commit, the log last."""
    files: list[Path] = []
    if report.stored:
        files += lake.write_relation(con, table, f"SELECT * FROM {quote_ident(table)}", tmp)
    if (
        table == "customers"
        and con.execute(f"SELECT 1 FROM consent WHERE {LAKE_MARK} IS NULL LIMIT 1").fetchall()
    ):
        files += lake.write_relation(con, "consent", f"SELECT * FROM consent WHERE {LAKE_MARK} IS NULL", tmp)
    return [*files, _write_log(con, table, report, tmp)]


def _write_log(con: duckdb.DuckDBPyConnection, table: str, report: IngestReport, tmp: Path) -> Path:
    """The ingest's log row as ``LOG_DIR/part-<id>.parquet`` under ``tmp``; its path relative to ``tmp``.
    ``rows_before`` (which only a store's recovery of a killed load needs) stays null."""
    log_id = str(uuid.uuid4())
    rel = Path(LOG_DIR) / f"part-{log_id}.parquet"
    (tmp / LOG_DIR).mkdir(parents=True, exist_ok=True)
    con.execute("DELETE FROM _cxlab_ingests")  # the staging load's own row; the lake's counts differ
    con.execute(
        'INSERT INTO _cxlab_ingests (ts, "table", file, rows_read, stored, duplicate, rejected, id, status, '
        "pid) VALUES (now(), ?, ?, ?, ?, ?, ?, ?, 'done', ?)",
        [table, report.file, report.rows_read, report.stored, report.duplicate, report.rejected, log_id,
         os.getpid()],
    )  # fmt: skip
    con.execute(f"COPY _cxlab_ingests TO {sql_literal(str(tmp / rel))} (FORMAT parquet)")
    return rel


def read_log(con: duckdb.DuckDBPyConnection, out: Path, limit: int) -> list[tuple[Any, ...]]:
    """The lake's latest ``limit`` ingests, newest first, as :meth:`cxlab.store.Store.ingest_log` gives them."""
    if not _has_files(out, LOG_DIR):
        return []
    return con.execute(
        'SELECT ts, "table", file, rows_read, stored, duplicate, rejected, status FROM '
        f"{lake.parquet_glob(out, LOG_DIR)} ORDER BY ts DESC LIMIT {int(limit)}"
    ).fetchall()


def lake_secret(out: Path, *, create: bool) -> bytes:
    """The lake's secret (``DIR/cxlab.secret`` or ``CXLAB_SECRET``), checked against the fingerprint the lake
    keeps of it; created (with its fingerprint) when ``create`` and the lake has none."""
    known = lake.read_meta(out).get(SECRET_CHECK)
    if known and not (os.environ.get(SECRET_ENV) or (out / SECRET_NAME).exists()):
        raise SecretError(
            f"{out / SECRET_NAME}: missing; this lake's data is keyed with a secret: put its cxlab.secret there "
            f"(for a lake exported from a store, a copy of the store's) or set {SECRET_ENV} to it"
        )
    secret = load_secret(out / SECRET_NAME, create=create)
    check = keyed(secret, SECRET_CHECK)
    if known and known != check:
        where = SECRET_ENV if os.environ.get(SECRET_ENV) else str(out / SECRET_NAME)
        raise SecretError(f"{where}: not the secret this lake's data is keyed with")
    if not known and create:
        lake.write_meta(out, {**lake.read_meta(out), SECRET_CHECK: check})
    return secret
