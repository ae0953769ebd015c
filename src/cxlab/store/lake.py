"""The lakehouse layout: every canonical table as Parquet under ``DIR/<table>/``, events partitioned by date.

``DIR/events/date=2026-11-30/part-<uuid>.parquet``, ``DIR/orders/part-<uuid>.parquet``, …, and the shop's
``cxlab.toml`` at ``DIR/cxlab.toml``: what ``cxlab export parquet`` writes, what ingest-to-lakehouse appends to,
and what a Spark target (``spark://…?tables=DIR``, see :mod:`cxlab.store.engine`) reads. Hive-style
partition folders, so Spark, DuckDB, Trino or ClickHouse read it as is.

Files are written by DuckDB's ``COPY … (FORMAT parquet, PARTITION_BY …)`` into a temporary folder inside
``DIR`` (same file system), then moved into place with ``os.replace``, one whole file at a time: a reader
never sees half a file, and an interrupted write leaves whole files only (a rerun of an ingest skips the keys
already stored).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb

from cxlab.config import CONFIG_NAME
from cxlab.schema.tables import TABLES, quote_ident

PARTITIONED: dict[str, str] = {"events": "ts"}
"""Tables partitioned by the UTC date of a timestamp column, in a ``date=YYYY-MM-DD`` folder."""
PARTITION_COLUMN = "date"
TMP_PREFIX = ".cxlab-tmp-"


def _sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def write_relation(con: duckdb.DuckDBPyConnection, table: str, select_sql: str, tmp: Path) -> list[Path]:
    """Write the rows of ``select_sql`` (canonical columns of ``table``) as Parquet under ``tmp/<table>/``,
    partitioned as the layout says; the files written, relative to ``tmp``."""
    dest = tmp / table
    dest.mkdir(parents=True, exist_ok=True)
    cols = ", ".join(quote_ident(c) for c in TABLES[table].column_names)
    by = PARTITIONED.get(table)
    if by is not None:
        con.execute(
            f"COPY (SELECT {cols}, CAST({quote_ident(by)} AS DATE) AS {PARTITION_COLUMN} FROM ({select_sql})) "
            f"TO {_sql_string(str(dest))} (FORMAT parquet, PARTITION_BY ({PARTITION_COLUMN}), "
            f"FILENAME_PATTERN 'part-{{uuid}}', OVERWRITE_OR_IGNORE)"
        )
    else:
        con.execute(
            f"COPY (SELECT {cols} FROM ({select_sql})) "
            f"TO {_sql_string(str(dest / f'part-{uuid.uuid4()}.parquet'))} (FORMAT parquet)"
        )
    return sorted(p.relative_to(tmp) for p in dest.rglob("*.parquet"))


def temporary(out: Path) -> Path:
    """A new temporary folder inside ``out`` (created), for files that are committed with :func:`commit`."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    tmp.mkdir()
    return tmp


def commit(tmp: Path, files: Iterable[Path], out: Path) -> None:
    """Move each of ``files`` (relative to ``tmp``) to the same place under ``out``, one whole file at a time,
    then remove ``tmp``."""
    for rel in files:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / rel, target)
    shutil.rmtree(tmp, ignore_errors=True)


def export_tables(con: duckdb.DuckDBPyConnection, out: Path, config_text: str) -> dict[str, int]:
    """Write every canonical table of the store open on ``con`` under ``out`` (see module docstring), replacing
    the tables already there; rows written per table.

    All tables are written into a temporary folder first; then each table's folder is swapped in whole."""
    out = Path(out)
    tmp = temporary(out)
    counts: dict[str, int] = {}
    try:
        for table in TABLES:
            write_relation(con, table, f"SELECT * FROM {quote_ident(table)}", tmp)
            ((counts[table],),) = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall()
        (tmp / CONFIG_NAME).write_text(config_text, encoding="utf-8")
        old = out / f"{TMP_PREFIX}old-{uuid.uuid4().hex}"
        old.mkdir()
        for table in TABLES:
            if (out / table).exists():
                os.replace(out / table, old / table)
            os.replace(tmp / table, out / table)
        os.replace(tmp / CONFIG_NAME, out / CONFIG_NAME)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return counts


def parquet_glob(out: Path, table: str) -> str:
    """A DuckDB ``read_parquet`` source for ``table`` in the layout under ``out`` (hive partitions read back)."""
    return f"read_parquet({_sql_string(str(out / table / '**' / '*.parquet'))}, hive_partitioning = false, union_by_name = true)"
