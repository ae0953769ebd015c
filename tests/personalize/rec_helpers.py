"""Hand-built stores and files for the recommendation tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from cxlab.schema.tables import ITEM_TYPE
from cxlab.store import Store, init_project

T0 = datetime(2024, 1, 1)
Order = tuple[str, str | None, float, Sequence[str], str | None]
"""(order id, customer, days after T0, product ids, status)."""


def orders_table(orders: Sequence[Order]) -> pa.Table:
    item = ITEM_TYPE
    return pa.table(
        {
            "order_id": [o[0] for o in orders],
            "customer_id": pa.array([o[1] for o in orders], pa.string()),
            "ts": pa.array([T0 + timedelta(days=o[2]) for o in orders], pa.timestamp("us")),
            "revenue": [10.0 * len(o[3]) for o in orders],
            "currency": ["EUR"] * len(orders),
            "status": pa.array([o[4] for o in orders], pa.string()),
            "items": pa.array(
                [[{"product_id": p, "quantity": 1, "price": 10.0} for p in o[3]] for o in orders],
                pa.list_(item),
            ),
        }
    )


def orders_store(directory: Path, orders: Sequence[Order], toml_extra: str = "") -> Path:
    """A new store in ``directory`` holding ``orders`` (and ``toml_extra`` appended to its cxlab.toml)."""
    db = init_project(directory)
    if toml_extra:
        cfg = directory / "cxlab.toml"
        cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + toml_extra + "\n", encoding="utf-8")
    with Store(db) as s:
        s.ingest("orders", orders_table(orders))
    return db
