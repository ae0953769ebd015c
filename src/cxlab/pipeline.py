"""End-to-end workflow behind ``cxlab demo``: simulate the shop, ingest it, run every analysis, report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cxlab.demo import DEFAULT_CUSTOMERS, generate
from cxlab.demo.assist import simulate_assistant
from cxlab.demo.flows import write_flow_files
from cxlab.display import count
from cxlab.privacy.keys import load_secret
from cxlab.progress import Progress
from cxlab.report import render_report
from cxlab.report.sections import NotRun, build_sections
from cxlab.store import DB_NAME, Store, init_project
from cxlab.voice.analysis import analyze_feedback


@dataclass(frozen=True)
class DemoRun:
    """Where ``cxlab demo`` put things, and what the store holds."""

    db: Path
    report: Path
    truth: Path
    tables: dict[str, int]
    not_run: list[NotRun]
    """Report sections that could not run (none on a healthy demo)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "db": str(self.db),
            "report": str(self.report),
            "truth": str(self.truth),
            "tables": self.tables,
            "not_run": [
                {"section": n.id, "reason": n.reason, "missing_data": n.missing_data} for n in self.not_run
            ],
        }


@dataclass(frozen=True)
class ReportRun:
    """A written report: where it is, and the sections that could not run (missing data or a failure)."""

    path: Path
    not_run: list[NotRun]

    @property
    def failed(self) -> list[NotRun]:
        """Sections that failed for another reason than missing data (``cxlab report`` then exits 1)."""
        return [n for n in self.not_run if not n.missing_data]

    def to_dict(self) -> dict[str, object]:
        return {
            "report": str(self.path),
            "not_run": [
                {"section": n.id, "reason": n.reason, "missing_data": n.missing_data} for n in self.not_run
            ],
        }


def build_report(store: Store, path: Path, subtitle: str = "", progress: Progress | None = None) -> ReportRun:
    """Run every analysis on ``store`` and write the self-contained HTML report to ``path``; each analysis
    stands alone, so one that can't run is listed in the report (and in the result) and the rest still runs.
    ``progress`` is told the report sections done of all."""
    built = build_sections(store, progress=progress)
    title = f"{store.config.shop.name}: cxlab report"
    return ReportRun(render_report(built.sections, path, title=title, subtitle=subtitle), built.not_run)


INGEST_PHASES = {"checking": (0.0, 0.5), "storing": (0.5, 1.0)}
"""Share of one file's ingest each of its phases covers (DuckDB reports its progress on each statement)."""


class _IngestProgress:
    """Turns the ingest's ``(phase, percent)`` reports on file ``i`` of ``n`` into ``(what, rows, total)``."""

    def __init__(self, what: str, total: int, files: int, progress: Progress) -> None:
        self.what, self.total, self.files, self.progress = what, total, files, progress
        self.file = 0
        self.shown = 0

    def __call__(self, phase: str, pct: float) -> None:
        lo, hi = INGEST_PHASES.get(phase, (0.0, 0.0))
        share = (self.file + lo + (hi - lo) * min(max(pct, 0.0), 100.0) / 100.0) / self.files
        done = round(self.total * share)
        if done > self.shown:  # a phase without a share (finding bad rows) moves nothing; never backwards
            self.shown = done
            self.progress(self.what, done, self.total)


def _ingest(store: Store, table: str, files: list[Path], rows: int, progress: Progress | None) -> None:
    """Ingest ``files`` into ``table``, telling ``progress`` ``("storing <table>", rows so far, rows)``."""
    if progress is None:  # no one watching: no polling thread in the ingest either
        for f in files:
            store.ingest(table, f)
        return
    tell = _IngestProgress(f"storing {table}", rows, len(files), progress)
    progress(tell.what, 0, rows)
    for i, f in enumerate(files):
        tell.file = i
        store.ingest(table, f, progress=tell)
    progress(tell.what, rows, rows)


def run_demo(
    out: str | Path,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = 42,
    db: str | Path | None = None,
    progress: Progress | None = None,
) -> DemoRun:
    """Build the demo store (``db``, default ``out/cxlab.duckdb``; an earlier one is replaced), its data and
    ``truth.json`` in ``out``, declare its flows beside the store's ``cxlab.toml`` and write its report.

    ``progress`` is told each step's units done of all: people simulated, rows stored per table, feedback texts
    read (embedded), report sections run."""
    out = Path(out)
    db = Path(db) if db is not None else out / DB_NAME
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    init_project(db.parent, db.name)
    demo = generate(
        out, customers=customers, seed=seed, secret=load_secret(db, create=True), progress=progress
    )
    write_flow_files(db.parent, demo.files["customers"], seed)
    with Store(db) as store:
        for table, files in demo.files.items():
            _ingest(store, table, files, demo.counts[table], progress)
        simulate_assistant(store, seed, progress=progress)
        analyze_feedback(store, progress=progress)
        built = build_report(
            store,
            out / "report.html",
            subtitle=f"Demo shop: {count(customers)} simulated customers, seed {seed}",
            progress=progress,
        )
        tables = store.counts()
    return DemoRun(db=db, report=built.path, truth=demo.truth_path, tables=tables, not_run=built.not_run)
