"""Served stores for the server tests: a small demo shop, keys of every role, an in-process client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cxlab.server.app import create_app
from cxlab.server.keys import create
from cxlab.store import Store
from tests.journey.conftest import build_demo_store

DEMO_CUSTOMERS = 1500


@dataclass
class Served:
    """A store served in-process: its path, a client, and one key of each role."""

    db: Path
    client: TestClient
    keys: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def add_keys(db: Path) -> dict[str, str]:
    """One new key per role on the (not served) store at ``db``."""
    with Store(db) as s:
        return {
            role: create(s.con, role, f"test {role}")[0] for role in ("write", "read", "admin", "browser")
        }


def copy_store(src: Path, dest_dir: Path) -> Path:
    """Copy a store with its secret and config into ``dest_dir``; returns the copy's path."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    for f in src.parent.iterdir():
        if f.name.startswith("cxlab.") and f.is_file() and not f.name.endswith(".serve.json"):
            shutil.copy2(f, dest_dir / f.name)
    for name in ("flows", "contacts.csv"):  # the project's flows and the shop's contact file
        f = src.parent / name
        if f.is_dir():
            shutil.copytree(f, dest_dir / name, dirs_exist_ok=True)
        elif f.is_file():
            shutil.copy2(f, dest_dir / name)
    return dest_dir / src.name


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo shop (built once per test process); copy it before writing to it."""
    out = tmp_path_factory.mktemp("served-demo")
    db, _ = build_demo_store(out, DEMO_CUSTOMERS, seed=7)
    add_conversations(db)
    return db


def add_conversations(db: Path, n: int = 60) -> None:
    """Assistant exchanges (answered, handed over, rated) for the dashboard's assistant page: fixed replies,
    no index needed to report on them."""
    import datetime as dt

    from cxlab.assist.answer import Reply
    from cxlab.assist.record import Rows, exchange_rows, extend, feedback_rows, write_rows

    rows: Rows = {}
    with Store(db) as store:
        customers = [
            c
            for (c,) in store.con.execute("SELECT customer_id FROM customers ORDER BY 1 LIMIT 30").fetchall()
        ]
        end = store.con.execute("SELECT max(ts) FROM events").fetchone()[0]  # type: ignore[index]
        for i in range(n):
            at = end - dt.timedelta(days=10, hours=i)
            handed = i % 4 == 0
            reply = Reply("en", None if handed else "shipping_cost", None if handed else "€4.95", handed, 0.3 if handed else 0.9,
                          "low_confidence" if handed else None, "shipping_cost")  # fmt: skip
            customer = str(customers[i % len(customers)])
            part = exchange_rows(f"question {i % 7}", reply, conversation=f"c{i}", customer=customer, at=at)
            if not handed:
                part["events"] += feedback_rows(part["events"][1]["event_id"], i % 3 != 0, conversation=f"c{i}",
                                                customer=customer, at=at + dt.timedelta(minutes=2))["events"]  # fmt: skip
            extend(rows, part)
        write_rows(store, rows)


@pytest.fixture
def served(demo_db: Path, tmp_path: Path) -> Iterator[Served]:
    """The demo shop copied and served in-process (TestClient), with keys of each role."""
    db = copy_store(demo_db, tmp_path / "store")
    keys = add_keys(db)
    with TestClient(create_app(db)) as client:
        yield Served(db, client, keys)


@pytest.fixture
def empty_served(tmp_path: Path) -> Iterator[Served]:
    """A new, empty store served in-process, with keys of each role."""
    from cxlab.store import init_project

    db = init_project(tmp_path / "empty")
    keys = add_keys(db)
    with TestClient(create_app(db)) as client:
        yield Served(db, client, keys)
