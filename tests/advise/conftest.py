"""Stores for the "what to do next" tests: the demo shop (planted weak channel and touchpoint), the same shop's
orders alone, and an empty store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cxlab.store import Store
from tests.journey.conftest import build_demo_store

DEMO_CUSTOMERS = 6000
"""Big enough that the planted effects are found (both are very likely at this size), small enough to build
in about half a minute."""


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """The demo store's path and its planted truth."""
    return build_demo_store(tmp_path_factory.mktemp("advise-demo"), DEMO_CUSTOMERS, seed=11)


@pytest.fixture(scope="session")
def demo_store(demo: tuple[Path, dict[str, object]]) -> Iterator[Store]:
    """The demo store, open read-only for the whole session (its memo shared, as in one report run)."""
    with Store(demo[0], read_only=True) as s:
        yield s


@pytest.fixture(scope="session")
def orders_only(demo: tuple[Path, dict[str, object]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding only the demo shop's orders."""
    db = tmp_path_factory.mktemp("advise-orders") / "cxlab.duckdb"
    with Store(db) as s:
        for f in sorted((demo[0].parent / "data" / "orders").glob("*.parquet")):
            s.ingest("orders", f)
    return db
