"""A realistic, deterministic simulation of a multi-channel webshop with planted, known effects.

``generate(out_dir, customers, seed)`` writes the six canonical tables as Parquet under ``out_dir/data``
and the planted effects (and how they came out in the data) to ``out_dir/truth.json``. The same
``(customers, seed)`` gives byte-identical files. Customers are simulated in batches, each with its own
random stream, and streamed to disk, so memory stays flat from a thousand to a million customers.
"""

from __future__ import annotations

import json
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxlab.demo import params as P
from cxlab.demo.catalog import make_catalog
from cxlab.demo.experiment import changes_table
from cxlab.demo.simulate import Batch, simulate_batch
from cxlab.demo.truth import Stats, build_truth
from cxlab.demo.writer import TableWriters

__all__ = ["DemoResult", "generate"]

MAX_WORKERS = 4
CATALOG_STREAM = 2**31
"""Spawn key of the catalog's random stream (batches use 0, 1, 2, ...)."""


@dataclass(frozen=True)
class DemoResult:
    """What :func:`generate` wrote."""

    out_dir: Path
    files: dict[str, list[Path]]
    """Table name -> Parquet files (``data/<table>/part-NNNNN.parquet``)."""
    truth_path: Path
    truth: dict[str, Any] = field(repr=False)
    counts: dict[str, int] = field(default_factory=dict)
    """Rows per table."""


def generate(
    out_dir: str | Path, customers: int = 20_000, seed: int = 42, *, workers: int | None = None
) -> DemoResult:
    """Simulate ``customers`` prospects (everyone who visits) and write the demo shop to ``out_dir``.

    Batches are simulated on ``workers`` threads (default: the CPU count, at most 4) and written in order,
    so the output does not depend on ``workers``.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    catalog = make_catalog(np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(CATALOG_STREAM,)))))
    stats = Stats()
    starts = range(0, customers, P.BATCH_SIZE)
    n_workers = max(1, min(workers if workers is not None else (os.cpu_count() or 1), MAX_WORKERS, len(starts)))
    with TableWriters(out / "data", P.EVENTS_PER_PART) as writers, ThreadPoolExecutor(n_workers) as pool:
        pending: deque[Future[Batch]] = deque()

        def drain(keep: int) -> None:
            while len(pending) > keep:
                batch = pending.popleft().result()
                for name, table in batch.tables.items():
                    writers.write(name, table)
                stats.add(batch.stats)

        for b, first in enumerate(starts):
            pending.append(pool.submit(simulate_batch, seed, b, first, min(P.BATCH_SIZE, customers - first), catalog))
            drain(n_workers)
        drain(0)
        writers.write("changes", changes_table())
    counts = dict(writers.counts)
    truth = build_truth(seed, customers, stats, catalog, counts)
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return DemoResult(out_dir=out, files={k: list(v) for k, v in writers.files.items()}, truth_path=truth_path,
                      truth=truth, counts=counts)
