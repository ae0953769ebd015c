"""A realistic, deterministic simulation of a multi-channel webshop with planted, known effects.

``generate(out_dir, customers, seed)`` writes the six canonical tables as Parquet under ``out_dir/data``
and the planted effects (and how they came out in the data) to ``out_dir/truth.json``. The same
``(customers, seed)`` gives byte-identical files. Customers are simulated in batches, each with its own
random stream, and streamed to disk, so memory stays flat from a thousand to a million customers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxlab.demo import params as P
from cxlab.demo.catalog import make_catalog
from cxlab.demo.experiment import changes_table
from cxlab.demo.simulate import simulate_batch
from cxlab.demo.truth import Stats, build_truth
from cxlab.demo.writer import TableWriters

__all__ = ["DemoResult", "generate"]

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


def generate(out_dir: str | Path, customers: int = 20_000, seed: int = 42) -> DemoResult:
    """Simulate ``customers`` prospects (everyone who visits) and write the demo shop to ``out_dir``."""
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    catalog = make_catalog(np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(CATALOG_STREAM,)))))
    stats = Stats()
    with TableWriters(out / "data", P.EVENTS_PER_PART) as writers:
        for b, first in enumerate(range(0, customers, P.BATCH_SIZE)):
            batch = simulate_batch(seed, b, first, min(P.BATCH_SIZE, customers - first), catalog)
            for name, table in batch.tables.items():
                writers.write(name, table)
            stats.add(batch.stats)
        writers.write("changes", changes_table())
    counts = dict(writers.counts)
    truth = build_truth(seed, customers, stats, catalog, counts)
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return DemoResult(out_dir=out, files={k: list(v) for k, v in writers.files.items()}, truth_path=truth_path,
                      truth=truth, counts=counts)
