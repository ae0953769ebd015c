"""The ``cxlab`` command: a thin Typer shell over the library, one sub-command group per capability.

The root starts fast: it knows the name and one-line help of every group statically (:data:`LAZY`) and
imports a group's module only when that group runs (:class:`LazyGroup`), so ``cxlab --help`` and ``cxlab
--version`` pay for no engine, pandas or models. Conventions (output, exit codes, common options, tables,
progress) live in :mod:`cxlab.clitools`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from cxlab import __version__
from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    FitTable,
    JsonOpt,
    WideOpt,
    console,
    emit_json,
    err,
    errors_as_exit,
    fail,
    fit_width,
    progress,
    show_table,
)
from cxlab.display import cell, count

if TYPE_CHECKING:
    from typer._click import Command, Context

    from cxlab.store.importers import ImportResult
    from cxlab.store.ingest import IngestReport


@dataclass(frozen=True)
class Lazy:
    """A top-level group (a Typer app) or command (a function) that is imported only when it runs."""

    module: str
    attr: str
    help: str
    group: bool = True

    @property
    def available(self) -> bool:
        """Whether its module is part of this installation (checked without importing it)."""
        return Path(__file__).parent.joinpath(*self.module.split(".")[1:]).with_suffix(".py").is_file()

    def load(self, name: str) -> Command:
        """Import the module and build the click command, mounted as ``cxlab NAME``."""
        target = getattr(import_module(self.module), self.attr)
        holder = typer.Typer()
        holder.callback()(_nothing)  # a group holding the one command, so Typer keeps its name
        if self.group:
            holder.add_typer(target, name=name, help=self.help)
        else:
            holder.command(name, help=self.help)(target)
        root = typer.main.get_command(holder)
        assert isinstance(root, TyperGroup)
        return root.commands[name]


def _nothing() -> None:
    """The callback of the holder group in :meth:`Lazy.load`."""


LAZY: dict[str, Lazy] = {
    "next": Lazy(
        "cxlab.advise.cli",
        "next_command",
        "What to do next: the few actions worth most, with money at stake, certainty and the next step.",
        group=False,
    ),
    "journey": Lazy(
        "cxlab.journey.cli", "app", "Journey map, funnels, paths, retention, strengths & weaknesses."
    ),
    "channels": Lazy(
        "cxlab.channels.cli", "app", "Channel performance and attribution (heuristic, Markov, Shapley)."
    ),
    "experiment": Lazy(
        "cxlab.experiments.cli", "experiment_app", "A/B tests: frequentist, Bayesian, sequential; power."
    ),
    "changes": Lazy(
        "cxlab.experiments.cli", "changes_app", "The change log: every change and its measured effect."
    ),
    "voice": Lazy("cxlab.voice.cli", "app", "Voice of the customer: NPS/CSAT/CES, sentiment, themes, tone."),
    "customers": Lazy("cxlab.customers.cli", "app", "RFM segments, personas, lifetime value, churn risk."),
    "recommend": Lazy(
        "cxlab.personalize.cli",
        "app",
        "Recommendations: fit, look up, similar products, evaluate models.",
    ),
    "flows": Lazy(
        "cxlab.automate.cli",
        "app",
        "Automated flows: plan, run and measure them (holdouts, consent, caps, exactly-once).",
    ),
    "assist": Lazy(
        "cxlab.assist.cli",
        "app",
        "Self-service assistant: answers from the FAQ and order data, hands over the rest; its report.",
    ),
    "export": Lazy(
        "cxlab.store.cli", "app", "Export the store's tables (Parquet, for Spark and other engines)."
    ),
    "privacy": Lazy(
        "cxlab.privacy.cli", "app", "Privacy: erase/export a customer, consent, retention, audit log."
    ),
    "keys": Lazy(
        "cxlab.server.cli", "keys_app", "API keys of the server: write (send data), read (analyses), admin."
    ),
    "serve": Lazy(
        "cxlab.server.cli",
        "serve",
        "Run the collector API, the read API and the dashboard on one store.",
        group=False,
    ),
}
"""Every lazily loaded group and command: its module, the attribute there, and its one-line help."""

ORDER = ("init", "ingest", "import", "status", "demo", "report", "next", *LAZY)
"""The order of the commands in ``cxlab --help``: getting started first, then what to do, then the groups."""


class LazyCommands(MutableMapping[str, "Command"]):
    """The root's commands: the ones defined here, plus :data:`LAZY`'s, imported on first access.

    Listing the names imports nothing; looking one up imports that one; walking the items (the server's
    read API does, to build its routes) imports every group."""

    def __init__(self, loaded: Mapping[str, Command]) -> None:
        self._loaded = dict(loaded)

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded:
            spec = LAZY.get(name)
            if spec is None or not spec.available:
                raise KeyError(name)
            self._loaded[name] = spec.load(name)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        names = [*self._loaded, *(n for n, s in LAZY.items() if n not in self._loaded and s.available)]
        rank = {n: i for i, n in enumerate(ORDER)}
        return iter(sorted(names, key=lambda n: rank.get(n, len(rank))))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __setitem__(self, name: str, command: Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def loaded(self, name: str) -> bool:
        return name in self._loaded


class LazyGroup(TyperGroup):
    """The root group: lists every command without importing it; imports a group when it runs."""

    def __init__(self, *, commands: Any = None, **attrs: Any) -> None:
        super().__init__(commands=LazyCommands(commands or {}), **attrs)  # type: ignore[arg-type]
        self._listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        spec = LAZY.get(cmd_name)
        lazy = self.commands
        if (
            self._listing
            and spec is not None
            and isinstance(lazy, LazyCommands)
            and not lazy.loaded(cmd_name)
        ):
            return TyperCommand(cmd_name, help=spec.help)  # for the help page's list: name and help only
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Context, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _show_version(value: bool) -> None:
    if value:
        console.print(f"cxlab {__version__}", markup=False)
        raise typer.Exit()


app = typer.Typer(
    cls=LazyGroup,
    help="cxlab: customer-experience workbench for e-commerce.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _settings(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Print the version of cxlab and exit."
        ),
    ] = False,
) -> None:
    """cxlab: customer-experience workbench for e-commerce."""
    fit_width()


@app.command()
def init(
    directory: Annotated[
        Path | None, typer.Argument(help="Project folder to create (default: here).")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Store to create instead of DIR/cxlab.duckdb.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Create a project: DIR/cxlab.toml (journey stages, touchpoints, channels) and DIR/cxlab.duckdb."""
    from cxlab.config import CONFIG_NAME
    from cxlab.store import DB_NAME, init_project

    if directory is not None and db is not None:
        fail("give a project folder or --db, not both")
    target = db if db is not None else (directory or Path(".")) / DB_NAME
    existed = target.exists() and (target.parent / CONFIG_NAME).exists()
    with errors_as_exit():
        db = init_project(target.parent, target.name)
    if json_:
        emit_json({"db": str(db), "config": str(db.parent / CONFIG_NAME), "created": not existed})
    elif existed:
        console.print(
            f"[bold]{escape(str(db))}[/] and {escape(str(db.parent / CONFIG_NAME))} already exist, kept",
            soft_wrap=True,
        )
    else:
        console.print(
            f"Created [bold]{escape(str(db))}[/] and {escape(str(db.parent / CONFIG_NAME))}", soft_wrap=True
        )


TABLE_NAMES = "events, customers, orders, feedback, exposures, changes, spend, consent"
"""The canonical tables, for ``ingest``'s help without importing the schema (a test checks it is complete)."""


def _ingest_table(table: str) -> str:
    from cxlab.schema.tables import TABLES

    if table not in TABLES:
        fail(f"unknown table {table!r} (expected one of {', '.join(TABLES)})")
    return table


BIG_FILE = 20 * 2**20


def _rejects_paths(rejects: Path | None, files: list[Path]) -> list[Path | None]:
    """Where each file's bad rows go: with several files, ``--rejects PATH`` becomes one file per input,
    ``PATH``'s name with the input's name before its suffix (``bad.csv`` → ``bad.jan.csv``, ``bad.feb.csv``)."""
    if rejects is None or len(files) == 1:
        return [rejects] * len(files)
    stems = [f.name.split(".")[0] for f in files]
    unique = len(set(stems)) == len(stems)
    return [
        rejects.with_name(f"{rejects.stem}.{stem if unique else f'{i + 1}-{stem}'}{rejects.suffix}")
        for i, stem in enumerate(stems)
    ]


@app.command()
def ingest(
    table: Annotated[str, typer.Argument(help=f"Canonical table: {TABLE_NAMES}.")],
    files: Annotated[list[Path], typer.Argument(help="CSV, JSON Lines or Parquet files (optionally .gz).")],
    db: DbOpt = DEFAULT_DB,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Store the good rows; write bad ones to a rejects file.")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Where the rejects go (default: FILE.rejects.csv). With several files, one per file: "
            "PATH's name with the file's name before the suffix (bad.csv → bad.jan.csv, bad.feb.csv)."
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Encoding of CSV/JSON Lines files, e.g. cp1252, latin-1, utf-16 "
            "(default: UTF-8 when the file is valid UTF-8, else UTF-16 with a BOM, else cp1252/latin-1)."
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="strptime format of text timestamps and dates, tried before ISO 8601, "
            "e.g. '%m/%d/%Y %H:%M' for 12/1/2010 8:26.",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count, store nothing.")] = False,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Load files into a table: idempotent (known keys are skipped) and atomic per file. --db may name a
    lakehouse (spark://local[2]?tables=DIR): files are then written as Parquet under DIR, without Spark."""
    from cxlab.store import IngestError, open_store

    _ingest_table(table)
    reports: list[IngestReport] = []
    failed: IngestError | None = None
    with errors_as_exit():
        try:
            with open_store(db, read_only=False) as store:
                for f, out in zip(files, _rejects_paths(rejects, files), strict=True):
                    with progress(not json_ and f.is_file() and f.stat().st_size > BIG_FILE) as bar:
                        try:
                            reports.append(
                                store.ingest(
                                    table,
                                    f,
                                    skip_bad=skip_bad,
                                    rejects_path=out,
                                    progress=bar,
                                    dry_run=dry_run,
                                    encoding=encoding,
                                    date_format=date_format,
                                )
                            )
                        except IngestError as e:
                            reports.append(e.report)
                            failed = failed or e
        finally:  # also when the store failed midway: show what was done before the one-line error
            if reports:
                _show_reports(
                    table,
                    reports,
                    dry_run,
                    json_,
                    ok=failed is None and len(reports) == len(files),
                    wide=wide,
                )
    if failed is not None:
        fail(
            f"{failed} — nothing from this file was stored"
            + (" (use --skip-bad to store the good rows)" if failed.report.rejected else "")
        )


def _show_reports(
    table: str, reports: list[IngestReport], dry_run: bool, json_: bool, ok: bool, wide: bool = False
) -> None:
    if json_:
        files = [r.to_dict() for r in reports]
        emit_json({"table": table, "dry_run": dry_run, "files": files, "ok": ok})
    else:
        _print_reports(reports, dry_run, wide)


def _print_reports(reports: list[IngestReport], dry_run: bool, wide: bool = False) -> None:
    erased = any(r.erased for r in reports)
    t = FitTable("checked (dry run)" if dry_run else "ingested", keep=2)
    t.text("file")
    t.text("table")
    for col in ("read", "stored", "duplicates", "rejected", *(("erased",) if erased else ())):
        t.number(col, essential=col in ("stored", "rejected"))
    for r in reports:
        counts = (r.rows_read, r.stored, r.duplicate, r.rejected, *((r.erased,) if erased else ()))
        t.add_row(escape(r.file), r.table, *(count(n) for n in counts))
    show_table(t, wide)
    for r in reports:
        if r.encoding and r.encoding != "utf-8":
            err.print(f"note: {escape(r.file)} is not UTF-8; read as {escape(r.encoding)}", soft_wrap=True)
        if r.erased:
            err.print(
                f"note: {escape(r.file)}: {r.erased:,} row(s) of erased customers refused, not stored",
                soft_wrap=True,
            )
        if len(r.errors) > 1 or r.rejects_file or (dry_run and r.errors):
            for e in r.errors[:10]:
                err.print(escape(str(e)), soft_wrap=True)
        if r.rejects_file:
            console.print(f"bad rows of {escape(r.file)} written to {escape(r.rejects_file)}")


import_app = typer.Typer(
    help="Import shop exports (Shopify, GA4) into the canonical tables.", no_args_is_help=True
)
app.add_typer(import_app, name="import")


def _store_import(db: str | Path, result: ImportResult, label: str, json_: bool) -> None:
    """Check every table an importer produced, then store them (each table atomic, all idempotent), in a
    store or a lakehouse."""
    from cxlab.store import open_store

    reports: list[IngestReport] = []
    with errors_as_exit(), open_store(db, read_only=False) as store:
        order = [t for t in ("customers", "orders", "events") if t in result.tables]
        for table in order:  # refuse the whole import before storing any of it
            store.ingest(table, result.tables[table], name=f"{label} ({table})", dry_run=True)
        for table in order:
            reports.append(store.ingest(table, result.tables[table], name=f"{label} ({table})"))
    if json_:
        emit_json({"files": [r.to_dict() for r in reports], "warnings": result.warnings, "ok": True})
        return
    _print_reports(reports, dry_run=False)
    for w in result.warnings:
        err.print(f"warning: {escape(w)}", soft_wrap=True)


def _import_secret(db: str | Path) -> bytes:
    """The secret an importer keys contact data with: the store's, once its old plain hashes are migrated (a
    lakehouse's, ``DIR/cxlab.secret``, which was keyed from the start)."""
    from cxlab.privacy.migrate import is_keyed
    from cxlab.store import SparkStore, open_store

    with open_store(db, read_only=False) as store:
        if not isinstance(store, SparkStore) and not is_keyed(store.con):
            raise ValueError(
                f"{db}: holds contact hashes from before keyed hashing; run `cxlab privacy migrate-keys "
                f"--db {db}` first"
            )
        return store.secret


@import_app.command("shopify")
def import_shopify(
    file: Annotated[Path, typer.Argument(help="Shopify orders export (CSV, one row per line item).")],
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Shopify orders export → orders, customers (contact fields hashed), purchase events."""
    from cxlab.store.importers import import_shopify_orders

    with errors_as_exit():
        result = import_shopify_orders(file, secret=_import_secret(db))
    _store_import(db, result, str(file), json_)


@import_app.command("ga4")
def import_ga4(
    files: Annotated[
        list[Path], typer.Argument(help="GA4 BigQuery export: events_* as Parquet or JSON Lines.")
    ],
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """GA4 BigQuery export → events, channels by GA4's default channel grouping."""
    from cxlab.store.importers import import_ga4 as run_import

    with errors_as_exit():
        result = run_import(files, secret=_import_secret(db))
    _store_import(db, result, ", ".join(map(str, files)), json_)


INGEST_COLUMNS = ("ts", "table", "file", "rows_read", "stored", "duplicate", "rejected", "status")
HISTORY = 20
"""Ingests shown by ``status``, newest first."""


@app.command()
def status(db: DbOpt = DEFAULT_DB, json_: JsonOpt = False, wide: WideOpt = False) -> None:
    """Rows per table and the ingest history of a store (the latest 20 files, newest first)."""
    from cxlab.store import SparkStore, open_store
    from cxlab.store.engine import describe

    with errors_as_exit(), open_store(db) as store:
        counts = store.counts()
        engine = describe(store.target) if isinstance(store, SparkStore) else {"engine": "duckdb"}
        log = store.ingest_log(HISTORY)
    if json_:
        emit_json(
            {
                "db": str(db),
                **engine,
                "tables": counts,
                "ingests": [dict(zip(INGEST_COLUMNS, r, strict=True)) for r in log],
            }
        )
        return
    console.print(f"store  {escape(str(db))}", soft_wrap=True)
    t = FitTable("rows per table")
    t.text("table")
    t.number("rows")
    for name, n in counts.items():
        t.add_row(name, count(n))
    show_table(t, wide)
    h = FitTable(f"ingest history (latest {HISTORY}, newest first)", keep=3)
    for col in ("when", "table", "file"):
        h.text(col)
    for col in ("read", "stored", "duplicates", "rejected"):
        h.number(col, essential=col in ("stored", "rejected"))
    h.text("status", essential=True)
    for ts, table, file, *numbers, state in log:
        h.add_row(
            cell(ts), escape(str(table)), escape(str(file)), *(count(n) for n in numbers), escape(state)
        )
    if log:
        show_table(h, wide)
    else:
        console.print("nothing ingested yet (`cxlab ingest TABLE FILE` or `cxlab import`)")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo store, its data and report.")
    ] = Path("demo-out"),
    customers: Annotated[
        int | None,
        typer.Option(min=1, help="Simulated people (prospects who visit); default 20,000, a few minutes."),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="The full-size shop: 50,000 people (about twice as long).")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same shop.")] = 42,
    db: Annotated[
        Path | None, typer.Option("--db", help="The store to (re)build (default: OUT/cxlab.duckdb).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Build a realistic demo shop, ingest it, run every analysis and write OUT/report.html."""
    from cxlab.demo import DEFAULT_CUSTOMERS, FULL_CUSTOMERS
    from cxlab.pipeline import run_demo

    if full and customers is not None:
        fail("give --customers N or --full, not both")
    people = FULL_CUSTOMERS if full else customers or DEFAULT_CUSTOMERS
    with errors_as_exit(), progress(not json_) as bar:
        run = run_demo(out, people, seed, db=db, progress=bar)
    if json_:
        emit_json(run.to_dict())
        if run.not_run:
            raise typer.Exit(1)
        return
    t = FitTable("demo store")
    t.text("table")
    t.number("rows")
    for name, n in run.tables.items():
        t.add_row(name, count(n))
    show_table(t)
    console.print(escape(f"store   {run.db}\ntruth   {run.truth}\nreport  {run.report}"))
    if LAZY["next"].available:
        console.print(escape(f"next    cxlab next --db {run.db}"), soft_wrap=True)
    console.print(
        escape(f"live    cxlab keys create --role read --db {run.db} && cxlab serve --db {run.db}"),
        soft_wrap=True,
    )
    for skipped in run.not_run:
        err.print(f"not run  {escape(skipped.title)}: {escape(skipped.reason)}", soft_wrap=True)
    if run.not_run:
        raise typer.Exit(1)


@app.command()
def report(
    db: DbOpt = DEFAULT_DB,
    output: Annotated[Path, typer.Option("--out", help="Where to write the HTML report.")] = Path(
        "report.html"
    ),
    json_: JsonOpt = False,
) -> None:
    """Run every analysis on a store and write a self-contained HTML report."""
    from cxlab.pipeline import build_report
    from cxlab.store import open_store

    with errors_as_exit(), open_store(db) as store, progress(not json_) as bar:
        run = build_report(store, output, progress=bar)
    if json_:
        emit_json(run.to_dict())
    else:
        console.print(f"report  {escape(str(run.path))}")
        for n in run.not_run:
            err.print(f"not run  {escape(n.title)}: {escape(n.reason)}", soft_wrap=True)
    if run.failed:
        failed = ", ".join(n.title for n in run.failed)
        err.print(f"error: {escape(failed)} failed; the report lists why under 'What could not run'")
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    app()
