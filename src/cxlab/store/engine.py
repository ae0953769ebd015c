"""Which engine a command runs on: the DuckDB store (default) or Spark over the canonical tables in a lakehouse.

``--db`` takes a DuckDB file, or a Spark target over the canonical tables as Parquet (or Delta):

* ``spark://local[2]?tables=DIR``: an in-process Spark session (``local[N]``, ``yarn``, or a standalone master
  ``spark://host:7077?tables=…``);
* ``sc://HOST:PORT?tables=DIR``: a Spark Connect server (paths are read by the server);
* a project's ``cxlab.toml`` (or a store whose folder has one) with an ``[engine]`` section.

Query parameters (and ``[engine]`` keys): ``tables`` (a folder holding ``<table>/`` for each canonical table, as
``cxlab export parquet`` and ingest-to-lakehouse write it), or ``database`` (tables named like the canonical
ones in the Spark catalog); ``format`` (``parquet`` or ``delta``); ``config`` (the ``cxlab.toml`` with the shop's
stages and channels; default ``DIR/cxlab.toml``, else the packaged default).

Every canonical table is registered as a temporary view with the canonical schema (columns the files lack are
null; a table with no folder is empty), so analyses written in Ibis run unchanged. One Spark session per target
and process: starting one costs seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict

from cxlab.config import CONFIG_NAME, Config, ConfigError, section
from cxlab.schema.tables import TABLES

if TYPE_CHECKING:
    from ibis.backends import BaseBackend
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

SCHEMES = ("spark", "sc")
"""URL schemes of Spark targets: an in-process session (``spark``) and Spark Connect (``sc``)."""
FORMATS = ("parquet", "delta")
LOCAL_MASTERS = ("local", "yarn")
"""A ``spark://`` host naming a master itself (``local[2]``, ``yarn``); any other host is a standalone master."""


class EngineSettings(BaseModel):
    """``[engine]`` in ``cxlab.toml``: run commands on Spark over the shop's lakehouse tables."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    """``spark://local[4]``, ``spark://yarn``, ``spark://host:7077`` or ``sc://host:15002``."""
    tables: str | None = None
    """Folder (or object-store URL) with ``<table>/`` per canonical table; relative to ``cxlab.toml``."""
    database: str | None = None
    """A Spark catalog database holding the canonical tables (instead of ``tables``)."""
    format: Literal["parquet", "delta"] = "parquet"
    paths: dict[str, str] = {}
    """Per-table locations overriding ``tables/<table>`` (``events = "s3a://lake/events"``)."""
    conf: dict[str, str] = {}
    """Extra Spark settings (``"spark.driver.memory" = "8g"``) for an in-process session."""


@dataclass(frozen=True)
class SparkTarget:
    """A parsed Spark target: where the session comes from and where the canonical tables are."""

    url: str
    """The URL as given, for messages."""
    kind: Literal["local", "connect"]
    master: str
    """``local[2]``, ``yarn``, ``spark://host:7077``; or ``sc://host:port`` for Spark Connect."""
    tables: str | None = None
    database: str | None = None
    format: str = "parquet"
    config_path: Path | None = None
    paths: dict[str, str] = field(default_factory=dict)
    conf: dict[str, str] = field(default_factory=dict)

    def location(self, table: str) -> str | None:
        """Where ``table``'s files are, or None when it comes from the catalog (or nowhere)."""
        if table in self.paths:
            return self.paths[table]
        if self.tables is None:
            return None
        return f"{self.tables.rstrip('/')}/{table}"

    def config(self) -> Config:
        """The shop's config: ``config=`` / ``[engine]``'s file, ``cxlab.toml`` in the tables' folder, or the
        default."""
        if self.config_path is not None:
            return Config.load(self.config_path)
        if self.tables is not None and "://" not in self.tables:
            beside = Path(self.tables) / CONFIG_NAME
            if beside.exists():
                return Config.load(beside)
        return Config.default()


def is_engine_url(db: object) -> bool:
    """Whether ``db`` names a Spark target (``spark://…``, ``sc://…``) rather than a DuckDB file."""
    return isinstance(db, str) and db.split("://", 1)[0].lower() in SCHEMES and "://" in db


def _master(url: str) -> tuple[Literal["local", "connect"], str]:
    """The kind of session and its master from a target URL (see module docstring)."""
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme not in SCHEMES or not rest:
        raise ValueError(
            f"{url}: not a Spark target (expected spark://MASTER?tables=DIR or sc://HOST:PORT?…)"
        )
    host = rest.partition("?")[0].rstrip("/")
    if not host:
        raise ValueError(f"{url}: no {'master' if scheme == 'spark' else 'host:port'} after {scheme}://")
    if scheme == "sc":
        return "connect", f"sc://{host}"
    return "local", host if host.split("[", 1)[0].lower() in LOCAL_MASTERS else f"spark://{host}"


def parse_target(url: str, *, must_exist: bool = True) -> SparkTarget:
    """``spark://local[2]?tables=DIR`` / ``sc://host:15002?tables=DIR`` → :class:`SparkTarget`; a one-line
    ``ValueError`` naming what is wrong otherwise. ``must_exist``: a local ``DIR`` must be there already
    (reading); an ingest creates it."""
    kind, master = _master(url)
    pairs = [p.partition("=") for p in url.partition("?")[2].split("&") if p]
    query = {unquote(k): unquote(v) for k, _, v in pairs}  # a "+" in a path stays a "+"
    unknown = sorted(set(query) - {"tables", "database", "format", "config"})
    if unknown:
        raise ValueError(
            f"{url}: unknown parameter {unknown[0]!r} (expected tables, database, format, config)"
        )
    fmt = query.get("format", "parquet").lower()
    if fmt not in FORMATS:
        raise ValueError(f"{url}: format must be parquet or delta, got {fmt!r}")
    tables, database = query.get("tables") or None, query.get("database") or None
    if tables is None and database is None:
        raise ValueError(f"{url}: say where the tables are: ?tables=DIR (Parquet folders) or ?database=NAME")
    if (
        must_exist
        and tables is not None
        and "://" not in tables
        and kind == "local"
        and not Path(tables).is_dir()
    ):
        raise FileNotFoundError(
            f"{tables}: no such folder of tables (write one with `cxlab export parquet --out {tables}`)"
        )
    config = query.get("config")
    return SparkTarget(
        url=url,
        kind=kind,
        master=master,
        tables=tables,
        database=database,
        format=fmt,
        config_path=Path(config) if config else None,
    )


def target_from_config(config_file: Path, config: Config) -> SparkTarget | None:
    """The ``[engine]`` of a project's ``cxlab.toml`` as a target (paths relative to the file), or None."""
    settings = section(config, "engine", EngineSettings)
    if settings.url is None:
        return None
    if settings.tables is None and settings.database is None:
        raise ConfigError(
            f"{config_file}: engine: say where the tables are (tables = DIR or database = NAME)"
        )
    base = config_file.parent

    def resolve(p: str) -> str:
        return p if "://" in p or Path(p).is_absolute() else str(base / p)

    try:
        kind, master = _master(settings.url)
    except ValueError as e:
        raise ConfigError(f"{config_file}: engine.url: {e}") from e
    return SparkTarget(
        url=settings.url,
        kind=kind,
        master=master,
        tables=resolve(settings.tables) if settings.tables else None,
        database=settings.database,
        format=settings.format,
        config_path=config_file,
        paths={t: resolve(p) for t, p in settings.paths.items()},
        conf=settings.conf,
    )


# --- sessions ----------------------------------------------------------------------------------------------

_sessions: dict[tuple[str, tuple[tuple[str, str], ...]], SparkSession] = {}
_lock = threading.Lock()

LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}
"""Settings of an in-process session: UTC (the store's timestamps mean UTC), no web UI, no progress bars."""


def spark_session(target: SparkTarget) -> SparkSession:
    """The process's Spark session for ``target``: started on first use (seconds), then shared."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - pyspark is in the dev extra
        raise RuntimeError("Spark targets need pyspark: pip install 'pyspark[connect]>=4.0,<4.1'") from e
    key = (target.master, tuple(sorted(target.conf.items())))
    with _lock:
        if key in _sessions:
            return _sessions[key]
        kinds = {k[0].startswith("sc://") for k in _sessions}
        if kinds and kinds != {target.kind == "connect"}:
            raise ValueError(
                f"{target.url}: this process already runs a "
                f"{'Spark Connect' if target.kind != 'connect' else 'local Spark'} session; PySpark runs one kind "
                "per process (run the command in a process of its own)"
            )
        if target.kind == "connect":
            session = SparkSession.builder.remote(target.master).getOrCreate()
            session.conf.set("spark.sql.session.timeZone", "UTC")
        else:
            import os
            from importlib import resources

            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            log4j = resources.files("cxlab.store").joinpath("log4j2.properties")
            builder = SparkSession.builder.master(target.master).appName("cxlab")
            builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={log4j}")
            cores = _cores(target.master)
            for k, v in {**LOCAL_CONF, "spark.sql.shuffle.partitions": str(max(2, 2 * cores))}.items():
                builder = builder.config(k, v)
            for k, v in target.conf.items():
                builder = builder.config(k, v)
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
        _sessions[key] = session
        return session


def _cores(master: str) -> int:
    """Cores of a ``local[N]`` master (``local[*]``: this machine's), 2 for anything else."""
    import os

    inside = master.partition("[")[2].rstrip("]")
    if inside == "*":
        return os.cpu_count() or 2
    return int(inside) if inside.isdigit() else 2


def canonical_frame(
    spark: SparkSession, target: SparkTarget, table: str, found: set[str] | None = None
) -> DataFrame:
    """``table`` as a Spark DataFrame with exactly the canonical columns and types (see module docstring);
    its name is added to ``found`` when it has files (or a catalog table)."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = from_arrow_schema(TABLES[table].arrow_schema)
    where = target.location(table)
    if where is not None:
        df = _load(spark, target, where, schema)
    elif target.database is not None:
        df = spark.table(f"{target.database}.{table}")
    else:
        df = None
    if df is None:
        return spark.createDataFrame([], schema)
    if found is not None:
        found.add(table)
    have = {c.lower(): c for c in df.columns}
    cols = [
        (F.col(f"`{have[f.name.lower()]}`") if f.name.lower() in have else F.lit(None))
        .cast(f.dataType)
        .alias(f.name)
        for f in schema.fields
    ]
    return df.select(*cols)


NO_DATA = ("PATH_NOT_FOUND", "Path does not exist", "UNABLE_TO_INFER_SCHEMA", "Unable to infer schema")
"""Spark's words for a table folder that is missing or holds no files yet: read as an empty table."""


def _load(spark: SparkSession, target: SparkTarget, where: str, schema: StructType) -> DataFrame | None:
    """The files at ``where`` (read by the session, so a Spark Connect server reads its own paths), or None
    when there are none. Parquet is read with the canonical ``schema`` given, by column name: no pass over
    every file's footer to infer one, and a column a file lacks reads as null."""
    if target.kind == "local" and "://" not in where and not Path(where).exists():
        return None
    reader = spark.read.format(target.format)
    if target.format == "parquet":
        reader = reader.schema(schema)
    try:
        df = reader.load(where)
        df.columns  # noqa: B018 - resolves the schema now (Spark Connect reads lazily)
    except Exception as e:
        if any(word in str(e) for word in NO_DATA):
            return None
        raise
    return df


def spark_backend(target: SparkTarget) -> BaseBackend:
    """An Ibis PySpark backend over ``target`` with every canonical table registered as a temporary view.

    Each backend gets a session of its own (sharing the process's Spark context, or the Spark Connect server):
    temporary views belong to a session, so two stores over different lakes in one process (the server, the
    tests) never read each other's tables."""
    import ibis

    base = spark_session(target)
    if target.kind == "connect":
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.remote(target.master).create()
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    else:
        spark = base.newSession()
    found: set[str] = set()
    for table in TABLES:
        canonical_frame(spark, target, table, found).createOrReplaceTempView(table)
    if not found and target.tables is not None:  # a mistyped folder reads as no tables, not as an empty shop
        raise FileNotFoundError(
            f"{target.tables}: no canonical tables there (no {', '.join(TABLES)} folders); write them with "
            "`cxlab export parquet` or `cxlab ingest --db …`"
        )
    return ibis.pyspark.connect(spark)


def is_spark_connect(con: object) -> bool:
    """Whether ``con`` is an Ibis backend on a Spark Connect session. Its server doesn't report a plan built
    on a cached table as cached, so Ibis can't cache that plan again (callers skip the second cache)."""
    session = getattr(con, "_session", None)
    return type(session).__module__.startswith("pyspark.sql.connect")


def describe(target: SparkTarget) -> dict[str, Any]:
    """What ``cxlab status`` says about a Spark target."""
    return {
        "engine": "spark connect" if target.kind == "connect" else "spark",
        "master": target.master,
        "tables": target.tables,
        "database": target.database,
        "format": target.format,
    }
