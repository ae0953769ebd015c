"""End-to-end workflow behind ``cxlab demo``: simulate the shop, ingest it, run every analysis, report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cxlab.demo import generate
from cxlab.report import render_report
from cxlab.report.sections import build_sections
from cxlab.store import DB_NAME, Store, init_project
from cxlab.voice.analysis import analyze

Step = Callable[[str], None]


@dataclass(frozen=True)
class DemoRun:
    """Where ``cxlab demo`` put things, and what the store holds."""

    db: Path
    report: Path
    truth: Path
    tables: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        return {
            "db": str(self.db),
            "report": str(self.report),
            "truth": str(self.truth),
            "tables": self.tables,
        }


def build_report(store: Store, path: Path, subtitle: str = "") -> Path:
    """Run every analysis on ``store`` and write the self-contained HTML report to ``path``."""
    return render_report(
        build_sections(store), path, title=f"{store.config.shop.name}: cxlab report", subtitle=subtitle
    )


def run_demo(
    out: str | Path, customers: int, seed: int, db: str | Path | None = None, step: Step | None = None
) -> DemoRun:
    """Build the demo store (``db``, default ``out/cxlab.duckdb``; an earlier one is replaced), its data and
    ``truth.json`` in ``out``, and write its report."""
    say = step or (lambda _msg: None)
    out = Path(out)
    say(f"simulating {customers:,} customers (seed {seed})")
    demo = generate(out, customers=customers, seed=seed)
    db = Path(db) if db is not None else out / DB_NAME
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    init_project(db.parent, db.name)
    with Store(db) as store:
        for table, files in demo.files.items():
            say(f"ingesting {table}")
            for f in files:
                store.ingest(table, f)
        say("reading the feedback texts: language, embeddings, sentiment")
        analyze(store)
        say("running the analyses and writing the report")
        report = build_report(
            store, out / "report.html", subtitle=f"Demo shop: {customers:,} simulated customers, seed {seed}"
        )
        tables = store.counts()
    return DemoRun(db=db, report=report, truth=demo.truth_path, tables=tables)
