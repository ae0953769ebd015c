"""The lakehouse layout: every canonical table as Parquet under ``DIR/<table>/``, events partitioned by date.

``DIR/events/date=2026-11-30/part-<uuid>.parquet``, ``DIR/orders/part-<uuid>.parquet``, …, and the shop's
``cxlab.toml`` at ``DIR/cxlab.toml``: what ``cxlab export parquet`` writes, what ingest-to-lakehouse appends to,
and what a Spark target (``spark://…?tables=DIR``, see :mod:`cxlab.store.engine`) reads. Hive-style
partition folders, so Spark, DuckDB, Trino or ClickHouse read it as is.

Files are written by DuckDB's ``COPY … (FORMAT parquet, PARTITION_BY …)`` into a temporary folder inside
``DIR`` (same file system), then moved into place with ``os.replace``, one whole file at a time: a reader
never sees half a file, and an interrupted write leaves whole files only (a rerun of an ingest skips the keys
already stored).

``DIR/_cxlab_meta.json`` holds the fingerprint of the secret the lake's contact data is keyed with (an export
carries the store's; see :func:`cxlab.store.lake_ingest.lake_secret`), so that an ingest with another secret
is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from cxlab.config import CONFIG_NAME
from cxlab.privacy.migrate import META
from cxlab.privacy.tables import TOMBSTONES
from cxlab.schema.tables import TABLES, quote_ident
from cxlab.store.store import SECRET_CHECK, StoreError

PARTITIONED: dict[str, str] = {"events": "ts"}
"""Tables partitioned by the UTC date of a timestamp column, in a ``date=YYYY-MM-DD`` folder."""
PARTITION_COLUMN = "date"
TMP_PREFIX = ".cxlab-tmp-"
META_NAME = "_cxlab_meta.json"


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


@contextmanager
def writer_lock(out: Path) -> Iterator[None]:
    """Hold the lake's writer lock (an exclusive ``flock`` on the folder itself, so no lock file is left
    behind; not waited for) while the body runs: one ingest or export at a time."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise StoreError(
                f"{out}: another ingest or export is writing to this lake; wait for it and try again"
            ) from e
        for stale in out.glob(f"{TMP_PREFIX}*"):  # left by a writer that was killed: staged rows, old tables
            shutil.rmtree(stale)
        yield
    finally:
        os.close(fd)  # releases the lock


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


def export_tables(
    con: duckdb.DuckDBPyConnection, out: Path, config_text: str, project: Path | None = None
) -> dict[str, int]:
    """Write every canonical table of the store open on ``con`` under ``out`` (see module docstring), replacing
    the tables already there; rows written per table. The shop's ``cxlab.toml`` (``config_text``) and the
    project folder's declarations that analyses read beside it (:data:`PROJECT_FOLDERS`) go along.

    All tables are written into a temporary folder first; then each table's folder is swapped in whole. The
    fingerprint of the store's secret goes with them (``_cxlab_meta.json``), when the store has one."""
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not (out / CONFIG_NAME).is_file():
        raise FileExistsError(
            f"{out}: not empty and not a lake cxlab wrote (no {CONFIG_NAME}); export into an empty folder"
        )
    with writer_lock(out):
        return _export(con, out, config_text, project)


PROJECT_FOLDERS = ("flows",)
"""Folders of a project that analyses read beside ``cxlab.toml`` (flows: an experiment's planned split)."""


def _export(
    con: duckdb.DuckDBPyConnection, out: Path, config_text: str, project: Path | None
) -> dict[str, int]:
    tmp = temporary(out)
    counts: dict[str, int] = {}
    try:
        for table in TABLES:
            write_relation(con, table, f"SELECT * FROM {quote_ident(table)}", tmp)
            ((counts[table],),) = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall()
        (tmp / CONFIG_NAME).write_text(config_text, encoding="utf-8")
        if _has_table(con, TOMBSTONES):  # the erased stay erased: a lake ingest refuses them too
            (tmp / TOMBSTONES).mkdir()
            con.execute(
                f"COPY {TOMBSTONES} TO {_sql_string(str(tmp / TOMBSTONES / f'part-{uuid.uuid4()}.parquet'))} "
                "(FORMAT parquet)"
            )
        folders = [f for f in PROJECT_FOLDERS if project is not None and (project / f).is_dir()]
        for f in folders:
            assert project is not None
            shutil.copytree(project / f, tmp / f)
        old = out / f"{TMP_PREFIX}old-{uuid.uuid4().hex}"
        old.mkdir()
        for name in [*TABLES, *folders, *([TOMBSTONES] if (tmp / TOMBSTONES).is_dir() else [])]:
            if (out / name).exists():
                os.replace(out / name, old / name)
            os.replace(tmp / name, out / name)
        os.replace(tmp / CONFIG_NAME, out / CONFIG_NAME)
        shutil.rmtree(old)
        check = _secret_check(con)
        if check is not None:
            write_meta(out, {**read_meta(out), SECRET_CHECK: check})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return counts


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
    )


def _secret_check(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the secret the store open on ``con`` is keyed with, if it keeps one."""
    if not _has_table(con, META):
        return None
    rows = con.execute(f"SELECT value FROM {META} WHERE key = ?", [SECRET_CHECK]).fetchall()
    return str(rows[0][0]) if rows else None


def read_meta(out: Path) -> dict[str, str]:
    """The lake's ``_cxlab_meta.json`` (empty when it has none)."""
    path = out / META_NAME
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}


def write_meta(out: Path, meta: dict[str, str]) -> None:
    """Replace the lake's ``_cxlab_meta.json`` whole."""
    part = out / f"{TMP_PREFIX}{uuid.uuid4().hex}.json"
    part.write_text(json.dumps(meta, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(part, out / META_NAME)


def parquet_glob(out: Path, table: str) -> str:
    """A DuckDB ``read_parquet`` source for ``table`` in the layout under ``out`` (hive partitions read back)."""
    return f"read_parquet({_sql_string(str(out / table / '**' / '*.parquet'))}, hive_partitioning = false, union_by_name = true)"
