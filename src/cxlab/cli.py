"""The ``cxlab`` command: a thin Typer shell over the library, one sub-command group per capability.

Conventions (output, exit codes, common options) live in :mod:`cxlab.clitools`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cxlab.automate.cli import app as flows_app
from cxlab.channels.cli import app as channels_app
from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    JsonOpt,
    console,
    emit_json,
    err,
    errors_as_exit,
    fail,
    fit_width,
    progress_bar,
)
from cxlab.config import CONFIG_NAME
from cxlab.customers.cli import app as customers_app
from cxlab.experiments.cli import changes_app, experiment_app
from cxlab.journey.cli import app as journey_app
from cxlab.personalize.cli import app as recommend_app
from cxlab.privacy.cli import app as privacy_app
from cxlab.schema.tables import TABLES
from cxlab.server.cli import keys_app, serve
from cxlab.store import DB_NAME, IngestError, Store, init_project
from cxlab.store.importers import ImportResult
from cxlab.store.ingest import IngestReport
from cxlab.voice.cli import app as voice_app

app = typer.Typer(
    help="cxlab: customer-experience workbench for e-commerce.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _settings() -> None:
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


def _ingest_table(table: str) -> str:
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
    table: Annotated[str, typer.Argument(help=f"Canonical table: {', '.join(TABLES)}.")],
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
) -> None:
    """Load files into a table: idempotent (known keys are skipped) and atomic per file."""
    _ingest_table(table)
    reports: list[IngestReport] = []
    failed: IngestError | None = None
    with errors_as_exit():
        try:
            with Store(db) as store:
                for f, out in zip(files, _rejects_paths(rejects, files), strict=True):
                    with progress_bar(f.is_file() and f.stat().st_size > BIG_FILE) as progress:
                        try:
                            reports.append(
                                store.ingest(
                                    table,
                                    f,
                                    skip_bad=skip_bad,
                                    rejects_path=out,
                                    progress=progress,
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
                    table, reports, dry_run, json_, ok=failed is None and len(reports) == len(files)
                )
    if failed is not None:
        fail(
            f"{failed} — nothing from this file was stored"
            + (" (use --skip-bad to store the good rows)" if failed.report.rejected else "")
        )


def _show_reports(table: str, reports: list[IngestReport], dry_run: bool, json_: bool, ok: bool) -> None:
    if json_:
        files = [r.to_dict() for r in reports]
        emit_json({"table": table, "dry_run": dry_run, "files": files, "ok": ok})
    else:
        _print_reports(reports, dry_run)


def _print_reports(reports: list[IngestReport], dry_run: bool) -> None:
    erased = any(r.erased for r in reports)
    t = Table(title="checked (dry run)" if dry_run else "ingested")
    for col in ("file", "table", "read", "stored", "duplicate", "rejected", *(("erased",) if erased else ())):
        t.add_column(col, justify="left" if col in ("file", "table") else "right")
    for r in reports:
        counts = (r.rows_read, r.stored, r.duplicate, r.rejected, *((r.erased,) if erased else ()))
        t.add_row(escape(r.file), r.table, *(f"{n:,}" for n in counts))
    console.print(t)
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


app.add_typer(customers_app, name="customers", help="RFM segments, personas, lifetime value, churn risk.")
app.add_typer(
    channels_app, name="channels", help="Channel performance and attribution (heuristic, Markov, Shapley)."
)
app.add_typer(
    journey_app, name="journey", help="Journey map, funnels, paths, retention, strengths & weaknesses."
)
app.add_typer(experiment_app, name="experiment", help="A/B tests: frequentist, Bayesian, sequential; power.")
app.add_typer(changes_app, name="changes", help="The change log: every change and its measured effect.")
app.add_typer(voice_app, name="voice", help="Voice of the customer: NPS/CSAT/CES, sentiment, themes, tone.")
app.add_typer(
    recommend_app, name="recommend", help="Recommendations: fit, look up, similar products, evaluate models."
)
app.add_typer(
    flows_app,
    name="flows",
    help="Automated flows: plan, run and measure them (holdouts, consent, caps, exactly-once).",
)
app.add_typer(
    privacy_app, name="privacy", help="Privacy: erase/export a customer, consent, retention, audit log."
)

app.add_typer(
    keys_app, name="keys", help="API keys of the server: write (send data), read (analyses), admin."
)
app.command("serve")(serve)

import_app = typer.Typer(
    help="Import shop exports (Shopify, GA4) into the canonical tables.", no_args_is_help=True
)
app.add_typer(import_app, name="import")


def _store_import(db: Path, result: ImportResult, label: str, json_: bool) -> None:
    """Check every table an importer produced, then store them (each table atomic, all idempotent)."""
    reports: list[IngestReport] = []
    with errors_as_exit(), Store(db) as store:
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


def _import_secret(db: Path) -> bytes:
    """The secret an importer keys contact data with: the store's, once its old plain hashes are migrated."""
    from cxlab.privacy.migrate import is_keyed

    with Store(db) as store:
        if not is_keyed(store.con):
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


@app.command()
def status(db: DbOpt = DEFAULT_DB, json_: JsonOpt = False) -> None:
    """Rows per table and the ingest history of a store."""
    with errors_as_exit(), Store(db, read_only=True) as store:
        counts = store.counts()
        log = store.con.execute(
            'SELECT ts, "table", file, rows_read, stored, duplicate, rejected, status FROM _cxlab_ingests '
            "ORDER BY ts DESC LIMIT 20"
        ).fetchall()
    if json_:
        emit_json(
            {
                "db": str(db),
                "tables": counts,
                "ingests": [
                    dict(
                        zip(
                            ("ts", "table", "file", "rows_read", "stored", "duplicate", "rejected", "status"),
                            r,
                            strict=True,
                        )
                    )
                    for r in log
                ],
            }
        )
        return
    t = Table(title=escape(str(db)))
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        t.add_row(name, f"{n:,}")
    console.print(t)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo store, its data and report.")
    ] = Path("demo-out"),
    customers: Annotated[int, typer.Option(min=1, help="Simulated people (prospects who visit).")] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same shop.")] = 42,
    db: Annotated[
        Path | None, typer.Option("--db", help="The store to (re)build (default: OUT/cxlab.duckdb).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Build a realistic demo shop, ingest it, run every analysis and write OUT/report.html."""
    from cxlab.pipeline import run_demo

    with errors_as_exit():
        if json_:
            run = run_demo(out, customers, seed, db=db)
        else:
            with err.status("building the demo store") as status:
                run = run_demo(out, customers, seed, db=db, step=lambda msg: status.update(msg))
    if json_:
        emit_json(run.to_dict())
        if run.not_run:
            raise typer.Exit(1)
        return
    t = Table(title="demo store")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in run.tables.items():
        t.add_row(name, f"{n:,}")
    console.print(t)
    console.print(escape(f"store   {run.db}\ntruth   {run.truth}\nreport  {run.report}"))
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

    with errors_as_exit(), Store(db, read_only=True) as store:
        run = build_report(store, output)
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
