"""The assistant on the evaluation set (``tests/assist/data/eval/<lang>.csv``) and its answer latency.

Per language and split: the share of answerable questions answered right (target ≥ 0.90), of questions no
FAQ answers handed over (target ≥ 0.95), of angry messages handed over as angry; then the latency of
``Assistant.ask`` after the index is loaded (target: p95 < 100 ms), on a store with orders so that order
questions read the customer's orders and events.

    python bench/assist.py                       # a fresh index of the demo FAQ in a temporary store
    python bench/assist.py --db demo-out/cxlab.duckdb   # the demo store (its index, its customers' orders)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.assist.evaluate import evaluate, read_questions
from cxlab.assist.knowledge import demo_faq
from cxlab.assist.service import build_index, load_assistant
from cxlab.store import Store

EVAL = Path(__file__).resolve().parents[1] / "tests" / "assist" / "data" / "eval"
LANGUAGES = ("nl", "da", "en", "de")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="a store with an assistant index (default: a fresh one)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the latency measurement")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.duckdb"
        with Store(db) as store:
            if args.db is None:
                start = time.perf_counter()
                build_index(store.con, store.config, demo_faq())
                print(f"index of the demo FAQ built in {time.perf_counter() - start:.1f} s")
            start = time.perf_counter()
            assistant = load_assistant(store.con, store.config)
            assistant.ask("warmup")
            print(f"assistant loaded in {time.perf_counter() - start:.2f} s")
            frames = []
            for split in ("dev", "test"):
                qs = [q for lang in LANGUAGES for q in read_questions(EVAL / f"{lang}.csv", split)]
                summary = evaluate(assistant, qs).summary_frame()
                summary.insert(0, "split", split)
                frames.append(summary)
            pd.set_option("display.width", 200)
            print(pd.concat(frames).drop(columns="p95_ms").to_string(index=False, float_format="%.3f"))
            latency(store, assistant, args.repeat)


def latency(store: Store, assistant: object, repeat: int) -> None:
    """p50/p95/max of one answer, over the whole evaluation set, asked by customers with orders."""
    from cxlab.assist.answer import Assistant

    assert isinstance(assistant, Assistant)
    customers = [r[0] for r in store.con.execute(
        "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT 200"
    ).fetchall()]  # fmt: skip
    qs = [q for lang in LANGUAGES for q in read_questions(EVAL / f"{lang}.csv")]
    events = store.con.execute("SELECT count(*) FROM events").fetchone()
    ms: list[float] = []
    for r in range(repeat):
        for i, q in enumerate(qs):
            customer = customers[(i + r) % len(customers)] if customers else None
            start = time.perf_counter()
            assistant.ask(q.text, customer)
            ms.append((time.perf_counter() - start) * 1000)
    a = np.asarray(ms)
    print(
        f"latency of ask() over {len(a)} answers ({len(qs)} questions × {repeat}, customers with orders: "
        f"{len(customers)}, events in the store: {events[0] if events else 0:,}): p50 {np.percentile(a, 50):.1f} ms, "
        f"p95 {np.percentile(a, 95):.1f} ms, max {a.max():.1f} ms"
    )


if __name__ == "__main__":
    main()
