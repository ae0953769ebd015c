"""The project store: a DuckDB file holding the canonical tables, with ``cxlab.toml`` beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import ibis
from ibis.backends import BaseBackend

from cxlab.config import CONFIG_NAME, Config, default_toml
from cxlab.schema.tables import TABLES, quote_ident
from cxlab.store.ingest import IngestReport, ProgressCallback, ingest

DB_NAME = "cxlab.duckdb"
DEFAULT_DB = Path(DB_NAME)

INGEST_LOG_DDL = """CREATE TABLE IF NOT EXISTS _cxlab_ingests (
  ts TIMESTAMP, "table" VARCHAR, file VARCHAR, rows_read BIGINT, stored BIGINT, duplicate BIGINT, rejected BIGINT
)"""


def init_project(directory: str | Path, db_name: str = DB_NAME) -> Path:
    """Create ``directory`` with a default ``cxlab.toml`` (kept if present) and a store; returns its path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cfg = d / CONFIG_NAME
    if not cfg.exists():
        cfg.write_text(default_toml(), encoding="utf-8")
    Store(d / db_name).close()
    return d / db_name


class Store:
    """An open DuckDB store. Creates the canonical tables on first open; use as a context manager."""

    def __init__(
        self, db_path: str | Path = DEFAULT_DB, *, config: Config | None = None, read_only: bool = False
    ):
        self.path = Path(db_path)
        self.config = config or Config.for_store(self.path)
        if read_only and not self.path.exists():
            raise FileNotFoundError(
                f"{self.path}: no such store (create one with `cxlab init` or `cxlab demo`)"
            )
        self.con = duckdb.connect(str(self.path), read_only=read_only)
        self.con.execute("SET TimeZone = 'UTC'; SET enable_progress_bar_print = false")
        if not read_only:
            self.con.execute(";\n".join([*(spec.ddl() for spec in TABLES.values()), INGEST_LOG_DDL]))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def ingest(
        self,
        table: str,
        data: Any,
        *,
        skip_bad: bool = False,
        rejects_path: str | Path | None = None,
        name: str | None = None,
        progress: ProgressCallback | None = None,
        dry_run: bool = False,
    ) -> IngestReport:
        """Load a file or in-memory table into ``table``; see :func:`cxlab.store.ingest.ingest`."""
        return ingest(
            self.con,
            table,
            data,
            self.config,
            skip_bad=skip_bad,
            rejects_path=rejects_path,
            name=name,
            progress=progress,
            dry_run=dry_run,
        )

    def counts(self) -> dict[str, int]:
        """Rows per canonical table."""
        sql = " UNION ALL ".join(
            f"SELECT '{name}' AS t, count(*) AS n FROM {quote_ident(name)}" for name in TABLES
        )
        return {t: int(n) for t, n in self.con.execute(sql).fetchall()}

    def ibis(self) -> BaseBackend:
        """An Ibis backend over this store's open connection."""
        return ibis.duckdb.from_connection(self.con)


def connect(target: Any = None, *, read_only: bool = True) -> BaseBackend:
    """An Ibis connection to a store.

    ``target`` is a path to a DuckDB file (default ``./cxlab.duckdb``), any Ibis backend URL
    (``duckdb://``, ``postgres://``, ``clickhouse://`` …), or a ``pyspark.sql.SparkSession``.
    """
    if target is None:
        target = DEFAULT_DB
    if hasattr(target, "sparkContext"):
        return ibis.pyspark.connect(target)
    text = str(target)
    if "://" in text:
        return ibis.connect(text)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such store (create one with `cxlab init` or `cxlab demo`)")
    con = ibis.duckdb.connect(str(path), read_only=read_only)
    con.raw_sql("SET TimeZone = 'UTC'; SET enable_progress_bar_print = false")
    return con
