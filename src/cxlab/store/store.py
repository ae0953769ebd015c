"""The project store: a DuckDB file holding the canonical tables, with ``cxlab.toml`` beside it."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb
import ibis
from ibis.backends import BaseBackend

from cxlab.automate.tables import DDL as AUTOMATE_DDL
from cxlab.config import CONFIG_NAME, Config, default_toml
from cxlab.privacy import audit
from cxlab.privacy.keys import SECRET_ENV, SecretError, keyed, load_secret, secret_path
from cxlab.privacy.migrate import META, META_DDL, mark_keyed
from cxlab.privacy.tables import DDL as PRIVACY_DDL
from cxlab.privacy.tables import TOMBSTONES
from cxlab.schema.tables import TABLES, quote_ident
from cxlab.store import served
from cxlab.store.engine import (
    SparkTarget,
    is_engine_url,
    is_spark_connect,
    parse_target,
    spark_backend,
    target_from_config,
)
from cxlab.store.ingest import IngestReport, ProgressCallback, ingest, reconcile_ingests

T = TypeVar("T")

DB_NAME = "cxlab.duckdb"
SECRET_CHECK = "secret_check"
"""``_cxlab_meta`` key of the secret's fingerprint: HMAC(secret, "secret_check"), which reveals nothing of it."""
DEFAULT_DB = Path(DB_NAME)

INGEST_LOG_DDL = """CREATE TABLE IF NOT EXISTS _cxlab_ingests (
  ts TIMESTAMP, "table" VARCHAR, file VARCHAR, rows_read BIGINT, stored BIGINT, duplicate BIGINT, rejected BIGINT
);
ALTER TABLE _cxlab_ingests ADD COLUMN IF NOT EXISTS id VARCHAR;
ALTER TABLE _cxlab_ingests ADD COLUMN IF NOT EXISTS status VARCHAR DEFAULT 'done';
ALTER TABLE _cxlab_ingests ADD COLUMN IF NOT EXISTS rows_before BIGINT;
ALTER TABLE _cxlab_ingests ADD COLUMN IF NOT EXISTS pid INTEGER"""
"""The ingest log; see :mod:`cxlab.store.ingest` for ``status`` (pending, done, recovered, interrupted)."""


class StoreError(ValueError):
    """The store can't be opened: in use by another process, its folder missing, not readable."""


def _holder(pid: int) -> str:
    """The command line of process ``pid`` as a person typed it (``cxlab report --db x``), if readable."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return f"PID {pid}"
    argv = [a for a in argv if a]
    if len(argv) > 1 and Path(argv[0]).name.startswith("python") and not argv[1].startswith("-"):
        argv = argv[1:]  # the interpreter running the cxlab script
    if not argv:
        return f"PID {pid}"
    return f"PID {pid}: " + " ".join([Path(argv[0]).name, *argv[1:]])


def open_error(path: Path, e: duckdb.Error) -> StoreError:
    """A one-line :class:`StoreError` for DuckDB's failure to open the store at ``path``."""
    text = str(e)
    lock = re.search(r"Could not set lock.*?\(PID (\d+)\)", text, re.S)
    url = served.server_url(path, int(lock.group(1))) if lock else None
    if url:
        return StoreError(
            f"{path}: the store is held by `cxlab serve` at {url} (PID {lock.group(1) if lock else '?'}); "
            f"use its read API ({url}/v1/...) or dashboard, or stop the server and run the command again"
        )
    if lock:
        return StoreError(
            f"{path}: the store is in use by another command ({_holder(int(lock.group(1)))}); "
            "wait for it to finish and try again (commands that only read can run side by side)"
        )
    if not path.parent.is_dir():
        return StoreError(
            f"{path}: folder {path.parent} does not exist (create it first, or use `cxlab init`)"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(e).__name__
    return StoreError(f"{path}: cannot open the store: {first.removeprefix('IO Error: ')}")


def init_project(directory: str | Path, db_name: str = DB_NAME) -> Path:
    """Create ``directory`` with a default ``cxlab.toml``, a store and the store's secret (``cxlab.secret``,
    mode 0600, unless ``CXLAB_SECRET`` is set), each kept if present; returns the store's path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cfg = d / CONFIG_NAME
    if not cfg.exists():
        cfg.write_text(default_toml(), encoding="utf-8")
    with Store(d / db_name) as store:
        store.secret  # noqa: B018 - created (and audited) now, not on the first import
    return d / db_name


class Store:
    """An open DuckDB store. Creates the canonical tables on first open; use as a context manager."""

    keep_journey_layout: bool = True
    """Whether :meth:`ingest` keeps the journey layout current (its own tests turn it off to test refresh)."""

    def __init__(
        self, db_path: str | Path = DEFAULT_DB, *, config: Config | None = None, read_only: bool = False
    ):
        self.path = Path(db_path)
        self.read_only = read_only
        self._memo: dict[str, Any] = {}
        self.config = config or Config.for_store(self.path)
        if read_only and not self.path.exists():
            raise FileNotFoundError(
                f"{self.path}: no such store (create one with `cxlab init` or `cxlab demo`)"
            )
        shared = served.connection_for(self.path)
        self._owns_con = shared is None or not served.is_scoped(shared)
        if shared is not None:  # inside the server that holds this store (see cxlab.store.served)
            self.con = shared
            return
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as e:
            raise open_error(self.path, e) from e
        self.con.execute("SET TimeZone = 'UTC'; SET enable_progress_bar_print = false")
        if not read_only:
            new = not self.con.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_name = 'customers'"
            ).fetchall()
            self.con.execute(
                ";\n".join(
                    [
                        *(spec.ddl() for spec in TABLES.values()),
                        INGEST_LOG_DDL,
                        PRIVACY_DDL,
                        META_DDL,
                        AUTOMATE_DDL,
                    ]
                )
            )
            if new:  # created keyed: contact data arrives as keyed hashes (see cxlab.privacy.migrate)
                mark_keyed(self.con)
            reconcile_ingests(self.con)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_con:
            self.con.close()

    @cached_property
    def secret(self) -> bytes:
        """The store's secret for keyed hashes, checked against the fingerprint the store keeps of it.

        A store opened for writing without a secret gets one (audited) unless it already holds data keyed
        with another: then a missing or different secret (a restore without ``cxlab.secret``, a stray
        ``CXLAB_SECRET``) is refused, since new keys would no longer match the stored ones or the tombstones
        of erased customers."""
        existed = bool(os.environ.get(SECRET_ENV)) or secret_path(self.path).exists()
        self.con.execute(META_DDL)
        known = self.con.execute(f"SELECT value FROM {META} WHERE key = ?", [SECRET_CHECK]).fetchall()
        if known and not existed:
            raise SecretError(
                f"{secret_path(self.path)}: missing; this store's data is keyed with a secret: put its "
                f"cxlab.secret back beside the store (or set {SECRET_ENV} to it)"
            )
        secret = load_secret(self.path, create=not self.read_only)
        check = keyed(secret, SECRET_CHECK)
        if known and known[0][0] != check:
            where = SECRET_ENV if os.environ.get(SECRET_ENV) else str(secret_path(self.path))
            raise SecretError(f"{where}: not the secret this store's data is keyed with")
        if not known and not self.read_only:
            self.con.execute(f"INSERT INTO {META} VALUES (?, ?)", [SECRET_CHECK, check])
        if not existed:
            audit.record(self.con, "secret", detail={"created": str(secret_path(self.path))})
        return secret

    def _has_tombstones(self) -> bool:
        return bool(self.con.execute(f"SELECT 1 FROM {TOMBSTONES} LIMIT 1").fetchall())

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
        encoding: str | None = None,
        date_format: str | None = None,
    ) -> IngestReport:
        """Load a file or in-memory table into ``table``; see :func:`cxlab.store.ingest.ingest`. New events
        bring the journey layout up to date (:mod:`cxlab.journey.layout`), so read-only commands can use it."""
        self._memo.clear()
        report = ingest(
            self.con,
            table,
            data,
            self.config,
            skip_bad=skip_bad,
            rejects_path=rejects_path,
            name=name,
            progress=progress,
            dry_run=dry_run,
            encoding=encoding,
            date_format=date_format,
            secret=self.secret if self._has_tombstones() else None,
        )
        if table == "events" and report.stored and not dry_run and self.keep_journey_layout:
            from cxlab.journey.layout import refresh

            refresh(self.con)
        return report

    def counts(self) -> dict[str, int]:
        """Rows per canonical table."""
        sql = " UNION ALL ".join(
            f"SELECT '{name}' AS t, count(*) AS n FROM {quote_ident(name)}" for name in TABLES
        )
        return {t: int(n) for t, n in self.con.execute(sql).fetchall()}

    @property
    def project_dir(self) -> Path:
        """The project's folder: ``cxlab.toml`` and the declarations beside it (flows, FAQ, catalog)."""
        return self.path.parent

    def ingest_log(self, limit: int) -> list[tuple[Any, ...]]:
        """The latest ``limit`` ingests, newest first: ts, table, file, rows read, stored, duplicate, rejected,
        status."""
        return self.con.execute(
            'SELECT ts, "table", file, rows_read, stored, duplicate, rejected, status FROM _cxlab_ingests '
            f"ORDER BY ts DESC LIMIT {int(limit)}"
        ).fetchall()

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, run once per open store and ``key``: the report's sections and "what to do next"
        share one SWOT, one churn model, one set of themes. Ingesting through this store forgets them."""
        if key not in self._memo:
            self._memo[key] = compute()
        return cast(T, self._memo[key])

    def ibis(self) -> BaseBackend:
        """An Ibis backend over this store's open connection."""
        return ibis.duckdb.from_connection(self.con)


def connect(target: Any = None, *, read_only: bool = True) -> BaseBackend:
    """An Ibis connection to a store.

    ``target`` is a path to a DuckDB file (default ``./cxlab.duckdb``), a Spark target
    (``spark://local[2]?tables=DIR``, ``sc://host:15002?tables=DIR``; see :mod:`cxlab.store.engine`), any Ibis
    backend URL (``duckdb://``, ``postgres://``, ``clickhouse://`` …), or a ``pyspark.sql.SparkSession``.
    """
    if target is None:
        target = DEFAULT_DB
    if hasattr(target, "sparkContext"):
        return ibis.pyspark.connect(target)
    text = str(target)
    if is_engine_url(text):
        return spark_backend(parse_target(text))
    if "://" in text:
        return ibis.connect(text)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such store (create one with `cxlab init` or `cxlab demo`)")
    shared = served.connection_for(path)
    if shared is not None:
        return ibis.duckdb.from_connection(shared)
    try:
        con = ibis.duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as e:
        raise open_error(path, e) from e
    con.raw_sql("SET TimeZone = 'UTC'; SET enable_progress_bar_print = false")
    return con


class SparkStore(Store):
    """A store whose canonical tables live in a lakehouse and are queried with Spark (:mod:`cxlab.store.engine`).
    ``ibis()`` is the Spark backend; ``con`` is a private in-memory DuckDB for cxlab's own working tables
    (caches of model outputs), never the canonical tables. Opened with ``read_only=False``, files are ingested
    into the lake's folder without Spark (:mod:`cxlab.store.lake_ingest`)."""

    def __init__(self, target: SparkTarget, *, read_only: bool = True):
        self.target = target
        self.path = Path(target.tables or target.database or target.master)
        self.read_only = read_only
        self._memo = {}
        self._owns_con = True
        self._backend: BaseBackend | None = None
        self.config = target.config()
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'; SET enable_progress_bar_print = false")

    @property
    def project_dir(self) -> Path:
        """The folder of the shop's ``cxlab.toml``: ``config=`` / ``[engine]``'s file, else the tables' folder
        (``cxlab export parquet`` copies the config and the flows there)."""
        if self.target.config_path is not None:
            return self.target.config_path.parent
        return (
            Path(self.target.tables) if self.target.tables and "://" not in self.target.tables else Path(".")
        )

    def ibis(self) -> BaseBackend:
        """The Ibis PySpark backend over the target's tables (registered once per store)."""
        if self._backend is None:
            self._backend = spark_backend(self.target)
        return self._backend

    def _release(self) -> None:
        """Let go of this store's Spark session: a Spark Connect session is released on the server (a local
        one shares the process's context and just goes with its views)."""
        if self._backend is not None and is_spark_connect(self._backend):
            self._backend._session.stop()
        self._backend = None

    def close(self) -> None:
        self._release()
        self.con.close()

    def counts(self) -> dict[str, int]:
        """Rows per canonical table, counted by Spark."""
        con = self.ibis()
        return {name: int(con.table(name).count().execute()) for name in TABLES}

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
        encoding: str | None = None,
        date_format: str | None = None,
    ) -> IngestReport:
        """Load a file or in-memory table into ``table`` of the lake; see
        :func:`cxlab.store.lake_ingest.ingest_to_lake`. Spark reads the new files on the next :meth:`ibis`."""
        from cxlab.store.lake_ingest import ingest_to_lake, lake_folder

        if self.read_only:
            raise StoreError(f"{self.target.url}: opened read-only; ingest opens it with read_only=False")
        self._memo.clear()
        self._release()  # registered views list the files they were made with
        return ingest_to_lake(
            lake_folder(self.target),
            table,
            data,
            self.config,
            skip_bad=skip_bad,
            rejects_path=rejects_path,
            name=name,
            progress=progress,
            dry_run=dry_run,
            encoding=encoding,
            date_format=date_format,
        )

    def ingest_log(self, limit: int) -> list[tuple[Any, ...]]:
        """The latest ``limit`` ingests into the lake's folder, newest first (none for a catalog or a remote
        folder); columns as :meth:`Store.ingest_log`."""
        from cxlab.store.lake_ingest import read_log

        tables = self.target.tables
        if tables is None or "://" in tables:
            return []
        return read_log(self.con, Path(tables), limit)

    @cached_property
    def secret(self) -> bytes:
        """The lake's secret for keyed hashes (``DIR/cxlab.secret``), created when opened for writing; see
        :func:`cxlab.store.lake_ingest.lake_secret`."""
        from cxlab.store.lake_ingest import lake_folder, lake_secret

        return lake_secret(lake_folder(self.target), create=not self.read_only)


def open_store(db: str | Path = DEFAULT_DB, *, read_only: bool = True) -> Store:
    """The store a command's ``--db`` names: a DuckDB file (:class:`Store`), a Spark target URL, or a project's
    ``cxlab.toml`` whose ``[engine]`` points at Spark (:class:`SparkStore`). Only a ``cxlab.toml`` named
    itself switches the engine: a DuckDB file always means that file, for every command."""
    text = str(db)
    if is_engine_url(text):
        return SparkStore(parse_target(text, must_exist=read_only), read_only=read_only)
    path = Path(text)
    if path.suffix == ".toml":
        target = target_from_config(path, Config.load(path))
        if target is None:
            raise ValueError(f"{path}: has no [engine] url; give the store (a .duckdb file) or add [engine]")
        return SparkStore(target, read_only=read_only)
    return Store(path, read_only=read_only)
