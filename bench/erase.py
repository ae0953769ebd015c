"""Erasing one customer: ``cxlab privacy erase`` vs deleting their rows by hand (the issue's target: under 5 s
on the 50,000-customer demo store).

The peer is what a shop did before: ``DELETE … WHERE customer_id = ?`` on every canonical table, then
``CHECKPOINT`` (which leaves their anonymous browsing, voice rows and embeddings behind, and no tombstone).
Both run on their own copy of the same store, on the same customers (those with the most rows, the worst
case), alternating; cxlab is timed as the command a user types (a fresh process: imports included) and as
the library call.

    python bench/erase.py [--db demo-out/cxlab.duckdb] [--customers 5]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from cxlab.privacy.erase import erase
from cxlab.schema.tables import TABLES


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for name in (src.name, "cxlab.toml", "cxlab.secret"):
        if (src.parent / name).exists():
            shutil.copy2(src.parent / name, dst / name)
    return dst / src.name


def _by_hand(db: Path, customer: str) -> None:
    con = duckdb.connect(str(db))
    for name, spec in TABLES.items():
        if "customer_id" in spec.column_names:
            con.execute(f'DELETE FROM "{name}" WHERE customer_id = ?', [customer])
    con.execute("CHECKPOINT")
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("demo-out/cxlab.duckdb"))
    ap.add_argument("--customers", type=int, default=5)
    args = ap.parse_args()
    if not args.db.exists():
        sys.exit(f"{args.db}: no store; build the demo shop first (make demo)")
    with duckdb.connect(str(args.db), read_only=True) as con:
        top = [
            r[0]
            for r in con.execute(
                "SELECT customer_id FROM events WHERE customer_id IS NOT NULL GROUP BY 1 "
                f"ORDER BY count(*) DESC, 1 LIMIT {args.customers}"
            ).fetchall()
        ]
    cxlab = Path(sys.executable).with_name("cxlab")
    with tempfile.TemporaryDirectory() as tmp:
        ours, lib, peer = (
            _copy(args.db, Path(tmp) / "a"),
            _copy(args.db, Path(tmp) / "b"),
            _copy(args.db, Path(tmp) / "c"),
        )
        print(f"{'customer':<12} {'rows':>7} {'cxlab command':>14} {'cxlab call':>11} {'by hand':>9}")
        for c in top:
            t0 = time.perf_counter()
            out = subprocess.run(
                [str(cxlab), "privacy", "erase", c, "--db", str(ours), "--json"],
                capture_output=True,
                text=True,
            )
            t_cmd = time.perf_counter() - t0
            assert out.returncode == 0, out.stderr
            t0 = time.perf_counter()
            res = erase(lib, c)
            t_lib = time.perf_counter() - t0
            t0 = time.perf_counter()
            _by_hand(peer, c)
            t_hand = time.perf_counter() - t0
            rows = sum(res.rows_removed.values())
            print(f"{c:<12} {rows:>7,} {t_cmd:>13.2f}s {t_lib:>10.2f}s {t_hand:>8.2f}s")


if __name__ == "__main__":
    main()
