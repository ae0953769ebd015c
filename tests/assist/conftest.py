"""A shop with hand-built customers in every order state and the demo FAQ's index, built once per session.

The data ends on 10 March 2026 (the store's horizon): a parcel promised by the 4th and not delivered is late.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from assist_shop import fill

from cxlab.assist.answer import Assistant
from cxlab.assist.knowledge import demo_faq
from cxlab.assist.service import build_index, load_assistant
from cxlab.store import Store


@pytest.fixture(scope="session")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with :data:`SHOP` and the demo FAQ's index, built once per test run (embedding the FAQ takes a
    minute) and shared by the xdist workers, which only read it."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    db = root / "assist-shop.duckdb"
    with (root / "assist-shop.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not db.exists():
            tmp = root / "assist-shop.building.duckdb"
            tmp.unlink(missing_ok=True)
            with Store(tmp) as store:
                fill(store)
                build_index(store.con, store.config, demo_faq())
            tmp.rename(db)
    return db


@pytest.fixture
def shop_copy(shop_db: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`shop_db` for a test that writes."""
    db = tmp_path / "shop.duckdb"
    shutil.copyfile(shop_db, db)
    return db


@pytest.fixture(scope="session")
def assistant(shop_db: Path) -> Iterator[Assistant]:
    """The shop's assistant on a read-only connection."""
    with Store(shop_db, read_only=True) as store:
        yield load_assistant(store.con, store.config)
