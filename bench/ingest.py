"""Ingest throughput: cxlab's checked, idempotent, atomic ingest vs DuckDB's own bulk load.

The practical limit is DuckDB's ``INSERT INTO events SELECT * FROM read_parquet(...)`` (or ``read_csv``)
into the same table: no checks, no idempotency. Both run in this process, on the same files, each into a
fresh database file, alternating, and the medians are compared.

    python bench/ingest.py [--events 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import duckdb

from cxlab.demo import generate
from cxlab.schema import EVENTS
from cxlab.store import Store

DATA = Path(__file__).parent / "data"


def make_inputs(n_events: int) -> dict[str, Path]:
    """Exactly ``n_events`` demo events as Parquet and CSV (built once, then reused)."""
    out = DATA / f"ingest-{n_events}"
    files = {"parquet": out / "events.parquet", "csv": out / "events.csv"}
    if all(f.exists() for f in files.values()):
        return files
    customers = max(1000, int(n_events / 80))
    while True:
        demo = generate(out / "demo", customers=customers, seed=1)
        if demo.counts["events"] >= n_events:
            break
        customers = int(customers * 1.2 * n_events / demo.counts["events"])
    parts = ", ".join(f"'{p}'" for p in demo.files["events"])
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_parquet([{parts}]) LIMIT {n_events}) TO '{files['parquet']}' "
        "(FORMAT parquet)"
    )
    con.execute(f"COPY (SELECT * FROM read_parquet('{files['parquet']}')) TO '{files['csv']}' (HEADER)")
    return files


def fresh_db(path: Path) -> Path:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    return path


def duckdb_load(db: Path, fmt: str, f: Path) -> float:
    con = duckdb.connect(str(fresh_db(db)))
    con.execute(EVENTS.ddl())
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    t = time.perf_counter()
    con.execute(f"INSERT INTO events SELECT * FROM {reader}('{f}')")
    con.close()
    return time.perf_counter() - t


def cxlab_load(db: Path, f: Path) -> tuple[float, float]:
    """Seconds for the first load, and for loading the same file again (all rows already stored)."""
    with Store(fresh_db(db)) as store:
        t = time.perf_counter()
        report = store.ingest("events", f)
        first = time.perf_counter() - t
        t = time.perf_counter()
        again = store.ingest("events", f)
        second = time.perf_counter() - t
    assert report.stored == report.rows_read and again.stored == 0
    return first, second


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    files = make_inputs(args.events)
    db = DATA / "bench.duckdb"
    print(f"{args.events:,} events, median of {args.repeat} runs, DuckDB {duckdb.__version__}")
    print(f"{'format':<8} {'duckdb INSERT':>14} {'cxlab ingest':>13} {'ratio':>6} {'re-ingest':>10}")
    for fmt, f in files.items():
        base, ours, again = [], [], []
        for _ in range(args.repeat):
            base.append(duckdb_load(db, fmt, f))
            first, second = cxlab_load(db, f)
            ours.append(first)
            again.append(second)
        b, o, a = statistics.median(base), statistics.median(ours), statistics.median(again)
        print(f"{fmt:<8} {b:>13.2f}s {o:>12.2f}s {o / b:>6.2f} {a:>9.2f}s", flush=True)
    fresh_db(db)


if __name__ == "__main__":
    main()
