"""End-to-end workflow behind ``cxlab demo``: simulate the shop, ingest it, run every analysis, report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cxlab.demo import generate
from cxlab.demo.flows import write_flow_files
from cxlab.privacy.keys import load_secret
from cxlab.report import render_report
from cxlab.report.sections import NotRun, build_sections
from cxlab.store import DB_NAME, Store, init_project
from cxlab.voice.analysis import analyze_feedback

Step = Callable[[str], None]


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


def build_report(store: Store, path: Path, subtitle: str = "") -> ReportRun:
    """Run every analysis on ``store`` and write the self-contained HTML report to ``path``; each analysis
    stands alone, so one that can't run is listed in the report (and in the result) and the rest still runs."""
    built = build_sections(store)
    title = f"{store.config.shop.name}: cxlab report"
    return ReportRun(render_report(built.sections, path, title=title, subtitle=subtitle), built.not_run)


def run_demo(
    out: str | Path, customers: int, seed: int, db: str | Path | None = None, step: Step | None = None
) -> DemoRun:
    """Build the demo store (``db``, default ``out/cxlab.duckdb``; an earlier one is replaced), its data and
    ``truth.json`` in ``out``, declare its flows beside the store's ``cxlab.toml`` and write its report."""
    say = step or (lambda _msg: None)
    out = Path(out)
    db = Path(db) if db is not None else out / DB_NAME
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    init_project(db.parent, db.name)
    say(f"simulating {customers:,} customers (seed {seed})")
    demo = generate(out, customers=customers, seed=seed, secret=load_secret(db, create=True))
    say("declaring the demo's flows (flows/demo.toml, [automate], contacts.csv)")
    write_flow_files(db.parent, demo.files["customers"], seed)
    with Store(db) as store:
        for table, files in demo.files.items():
            say(f"ingesting {table}")
            for f in files:
                store.ingest(table, f)
        say("reading the feedback texts: language, embeddings, sentiment")
        analyze_feedback(store)
        say("running the analyses and writing the report")
        report = build_report(
            store, out / "report.html", subtitle=f"Demo shop: {customers:,} simulated customers, seed {seed}"
        )
        tables = store.counts()
    return DemoRun(db=db, report=report.path, truth=demo.truth_path, tables=tables, not_run=report.not_run)
