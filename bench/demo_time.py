"""Where ``cxlab demo``'s time goes: each step of :func:`cxlab.pipeline.run_demo` timed on its own.

Steps, in the demo's order: simulate the shop, declare its flows, ingest each table, read the feedback texts
(language, embedding, sentiment: ``analyze_feedback``'s own clock), each report section (in the report's order,
on one open store, so results a later section shares through ``Store.memo`` are counted where first computed),
and rendering the HTML. The time of ``make demo`` itself (with the CLI's start-up) is measured with ``time``;
see bench/RESULTS.md.

    python bench/demo_time.py [--customers 20000] [--seed 42] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from cxlab.demo import generate
from cxlab.demo.flows import write_flow_files
from cxlab.privacy.keys import load_secret
from cxlab.report import render_report
from cxlab.report.sections import _name, registered, run_sections
from cxlab.store import DB_NAME, Store, init_project
from cxlab.voice.analysis import analyze_feedback

T = TypeVar("T")


Row = tuple[str, float, float]
"""A step, its wall seconds and the CPU seconds of this process (all its threads) meanwhile."""


def timed(rows: list[Row], what: str, work: Callable[[], T]) -> T:
    """``work()``, its wall and CPU time appended to ``rows`` and printed as it finishes. On a shared machine
    the wall time depends on the others' load; the CPU time much less so."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = work()
    rows.append((what, time.perf_counter() - t0, time.process_time() - c0))
    print(f"{rows[-1][1]:8.1f} s wall {rows[-1][2]:8.1f} s CPU  {what}", flush=True)
    return out


def ingest_all(store: Store, table: str, files: list[Path]) -> None:
    for f in files:
        store.ingest(table, f)


def profile(out: Path, customers: int, seed: int) -> list[Row]:
    """The demo's steps on ``out`` (replaced), each timed."""
    rows: list[Row] = []
    db = out / DB_NAME
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    init_project(out, DB_NAME)
    demo = timed(
        rows,
        "simulate",
        lambda: generate(out, customers=customers, seed=seed, secret=load_secret(db, create=True)),
    )
    timed(rows, "declare flows", lambda: write_flow_files(out, demo.files["customers"], seed))
    with Store(db) as store:
        for table, files in demo.files.items():
            timed(rows, f"ingest {table}", partial(ingest_all, store, table, files))
        run = timed(rows, "read feedback texts", lambda: analyze_feedback(store))
        for part, seconds in run.seconds.items():
            rows.append((f"  of which {part}", seconds, float("nan")))
        print(f"          {run.summary()}", flush=True)
        sections = []
        for make in registered():
            built = timed(rows, f"section {_name(make)[0]}", partial(run_sections, store, [make]))
            sections.extend(built.sections)
        timed(rows, "render report", lambda: render_report(sections, out / "report.html", title="demo"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=None, help="Folder for the store (default: a temporary one).")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        t0, c0 = time.perf_counter(), time.process_time()
        rows = profile(out, args.customers, args.seed)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"\n| step ({args.customers:,} customers, seed {args.seed}) | wall s | share | CPU s |\n|---|---:|---:|---:|"
    )
    for what, seconds, cpu_s in rows:
        print(
            f"| {what} | {seconds:.1f} | {100 * seconds / total:.0f}% | {cpu_s:.1f} |".replace(
                "| nan |", "| |"
            )
        )
    print(f"| **total** | **{total:.1f}** | 100% | {cpu:.1f} |")


if __name__ == "__main__":
    main()
