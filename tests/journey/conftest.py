"""Tiny stores built from event lists, for the journey tests (``make_store`` fixture)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from cxlab.demo import generate
from cxlab.demo.flows import write_flow_files
from cxlab.store import Store

T0 = datetime(2024, 5, 1)


def event_table(rows: Sequence[tuple[str, float, str, str | None]]) -> pa.Table:
    """rows: (person, hours after T0, event, touchpoint)."""
    return pa.table(
        {
            "event_id": [f"e{i:05d}" for i in range(len(rows))],
            "ts": pa.array([T0 + timedelta(hours=h) for _, h, _, _ in rows], pa.timestamp("us")),
            "customer_id": [p for p, _, _, _ in rows],
            "event": [e for _, _, e, _ in rows],
            "touchpoint": [tp for _, _, _, tp in rows],
        }
    )


def store_with(tmp: Path, rows: Sequence[tuple[str, float, str, str | None]]) -> Store:
    tmp.mkdir(parents=True, exist_ok=True)
    s = Store(tmp / "cxlab.duckdb")
    s.ingest("events", event_table(rows))
    return s


Rows = Sequence[tuple[str, float, str, str | None]]


def build_demo_store(out: Path, customers: int, seed: int) -> tuple[Path, dict[str, object]]:
    """A simulated shop ingested into ``out/cxlab.duckdb``: the database's path and the planted truth."""
    demo = generate(out, customers=customers, seed=seed)
    write_flow_files(out, demo.files["customers"], seed)
    with Store(out / "cxlab.duckdb") as s:
        for table, f in ((t, f) for t, fs in demo.files.items() for f in fs):
            s.ingest(table, f)
    return out / "cxlab.duckdb", demo.truth


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[Callable[[Rows], Store]]:
    opened: list[Store] = []

    def make(rows: Rows) -> Store:
        opened.append(store_with(tmp_path / f"s{len(opened)}", rows))
        return opened[-1]

    yield make
    for s in opened:
        s.close()
