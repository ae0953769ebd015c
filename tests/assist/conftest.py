"""A shop with hand-built customers in every order state and the demo FAQ's index, built once per session.

The data ends on 10 March 2026 (the store's horizon): a parcel promised by the 4th and not delivered is late.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cxlab.assist.answer import Assistant
from cxlab.assist.knowledge import demo_faq
from cxlab.assist.service import build_index, load_assistant
from cxlab.store import Store

# customer, language, order, ordered, [(event, ts, extra properties)]
SHOP: list[tuple[str, str, str, str, list[tuple[str, str, dict[str, object]]]]] = [
    ("C_SHIPPED", "nl", "O1001", "2026-03-08 10:00", [
        ("shipment_sent", "2026-03-09 07:30", {"carrier": "PostNL", "promised_by": "2026-03-11"}),
    ]),
    ("C_DELAYED", "de", "O1002", "2026-03-01 09:00", [
        ("shipment_sent", "2026-03-02 08:00", {"carrier": "DHL", "promised_by": "2026-03-04"}),
    ]),
    ("C_DELIVERED", "da", "O1003", "2026-02-20 12:00", [
        ("shipment_sent", "2026-02-21 08:00", {"carrier": "PostNord", "promised_by": "2026-02-23"}),
        ("delivered", "2026-02-23 14:00", {}),
    ]),
    ("C_REFUNDED", "en", "O1004", "2026-01-05 12:00", [
        ("shipment_sent", "2026-01-06 08:00", {"carrier": "Royal Mail", "promised_by": "2026-01-08"}),
        ("delivered", "2026-01-08 11:00", {}),
        ("return_requested", "2026-01-20 09:00", {"reason": "size"}),
        ("refund", "2026-01-25 10:00", {"amount": 59.9}),
    ]),
    ("C_RETURNED", "en", "O1005", "2026-02-01 12:00", [
        ("shipment_sent", "2026-02-02 08:00", {"carrier": "Royal Mail"}),
        ("delivered", "2026-02-04 11:00", {}),
        ("return_requested", "2026-03-05 09:00", {"reason": "size"}),
    ]),
    ("C_NOPROMISE", "en", "O1006", "2026-03-07 12:00", [
        ("shipment_sent", "2026-03-08 08:00", {"carrier": "Royal Mail"}),
    ]),
    ("C_OLD", "en", "O1007", "2025-12-20 12:00", [
        ("shipment_sent", "2025-12-21 08:00", {"carrier": "Royal Mail", "promised_by": "2025-12-23"}),
        ("delivered", "2025-12-22 11:00", {}),
    ]),
    ("C_PLACED", "nl", "O1008", "2026-03-10 08:00", []),
    ("C_TWO", "en", "O1009", "2026-01-10 12:00", [
        ("shipment_sent", "2026-01-11 08:00", {"carrier": "Royal Mail", "promised_by": "2026-01-13"}),
        ("delivered", "2026-01-12 11:00", {}),
    ]),
    ("C_TWO", "en", "O1010", "2026-03-06 12:00", [
        ("shipment_sent", "2026-03-07 08:00", {"carrier": "Royal Mail", "promised_by": "2026-03-09"}),
        ("delivered", "2026-03-09 16:00", {}),
    ]),
]  # fmt: skip
NO_ORDERS = "C_NOORDERS"
HORIZON = "2026-03-10 18:00"


def fill(store: Store) -> None:
    """Customers, orders and after-purchase events of :data:`SHOP`, plus a late page view (the horizon)."""
    con = store.con
    customers = {c: lang for c, lang, *_ in SHOP} | {NO_ORDERS: "en"}
    for c, lang in customers.items():
        con.execute(
            "INSERT INTO customers (customer_id, first_seen, language) VALUES (?, '2025-01-01', ?)", [c, lang]
        )
    n = 0
    for c, _, order, ordered, events in SHOP:
        con.execute(
            "INSERT INTO orders (order_id, customer_id, ts, revenue, currency) VALUES (?, ?, ?, 59.9, 'EUR')",
            [order, c, ordered],
        )
        for event, ts, extra in events:
            n += 1
            con.execute(
                "INSERT INTO events (event_id, ts, customer_id, event, touchpoint, properties) "
                "VALUES (?, ?, ?, ?, 'delivery', ?)",
                [f"E{n}", ts, c, event, json.dumps({"order_id": order, **extra})],
            )
    con.execute(
        "INSERT INTO events (event_id, ts, customer_id, event) VALUES ('E_LAST', ?, 'C_PLACED', 'page_view')",
        [HORIZON],
    )


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
