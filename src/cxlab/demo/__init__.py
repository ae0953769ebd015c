"""A realistic, deterministic simulation of a multi-channel webshop with planted, known effects.

``generate(out_dir, customers, seed)`` writes the six canonical tables as Parquet under ``out_dir/data``
and the planted effects (and how they came out in the data) to ``out_dir/truth.json``. The same
``(customers, seed)`` gives byte-identical files. Customers are simulated in batches, each with its own
random stream, and streamed to disk, so memory stays flat from a thousand to a million customers.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxlab.demo import params as P
from cxlab.demo.experiment import changes_table
from cxlab.demo.simulate import make_demo_catalog, simulate_chunk
from cxlab.demo.spend import spend_table
from cxlab.demo.truth import Stats, build_truth
from cxlab.demo.writer import PartWriters, clear
from cxlab.progress import Progress, silent
from cxlab.schema import TABLES

__all__ = ["DEFAULT_CUSTOMERS", "FULL_CUSTOMERS", "DemoResult", "generate"]

MAX_WORKERS = 8
DEFAULT_CUSTOMERS = 20_000
"""People simulated by ``cxlab demo`` and ``make demo``: a few minutes on two cores, every planted effect found."""
FULL_CUSTOMERS = 50_000
"""People simulated by ``cxlab demo --full`` and ``make demo-full``."""
SIMULATING = "simulating people"


@dataclass(frozen=True)
class DemoResult:
    """What :func:`generate` wrote."""

    out_dir: Path
    files: dict[str, list[Path]]
    """Table name -> its Parquet files, ``data/<table>/part-NNNNN.parquet`` (one per chunk of customers)."""
    truth_path: Path
    truth: dict[str, Any] = field(repr=False)
    counts: dict[str, int] = field(default_factory=dict)
    """Rows per table."""


def generate(
    out_dir: str | Path,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = 42,
    *,
    workers: int = 1,
    secret: bytes | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Simulate ``customers`` prospects (everyone who visits) and write the demo shop to ``out_dir``.

    ``secret``: the store's secret (:func:`cxlab.privacy.keys.load_secret`): customers' e-mail and phone
    are then stored as its keyed hashes (the same secret gives the same files).

    Chunks of ``CHUNK_SIZE`` customers (one part file per table each) are simulated one after the other,
    or with ``workers > 1`` in that many spawned processes (the calling script then needs the usual
    ``if __name__ == "__main__":`` guard). The output does not depend on ``workers``.

    ``progress`` is told ``("simulating people", done, customers)`` after each batch (each chunk with workers).
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    out = Path(out_dir)
    data = out / "data"
    clear(data)
    chunks = [
        (seed, c, first, min(P.CHUNK_SIZE, customers - first), str(data), secret)
        for c, first in enumerate(range(0, customers, P.CHUNK_SIZE))
    ]
    n_workers = max(1, min(workers, MAX_WORKERS, len(chunks)))
    report = progress or silent
    report(SIMULATING, 0, customers)
    if n_workers == 1:

        def after(first: int) -> Callable[[int], None]:
            return lambda k: report(SIMULATING, first + k, customers)

        results = [simulate_chunk(*args, done=after(args[2])) for args in chunks]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_workers, mp_context=ctx) as pool:
            results = []
            for args, result in zip(
                chunks, pool.map(simulate_chunk, *zip(*chunks, strict=True)), strict=True
            ):
                results.append(result)
                report(SIMULATING, args[2] + args[3], customers)
    stats = Stats()
    counts = dict.fromkeys(TABLES, 0)
    files: dict[str, list[Path]] = {name: [] for name in TABLES}
    for chunk_stats, chunk_counts, chunk_files in results:
        stats.add(chunk_stats)
        for name, n in chunk_counts.items():
            counts[name] += n
            files[name].append(chunk_files[name])
    with PartWriters(data, 0, ("changes", "spend")) as w:
        w.write("changes", changes_table())
        w.write("spend", spend_table(seed, stats.paid_clicks))
    for name in ("changes", "spend"):
        counts[name] = w.counts[name]
        files[name] = [w.files[name]]
    truth = build_truth(seed, customers, stats, make_demo_catalog(seed), counts)
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return DemoResult(out_dir=out, files=files, truth_path=truth_path, truth=truth, counts=counts)
