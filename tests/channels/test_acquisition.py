"""Channel conversion on a store small enough to count by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pytest

from cxlab.channels import channel_conversion
from cxlab.store import Store


def events(rows: list[tuple[str, str, str | None, str | None, str, str | None]]) -> pa.Table:
    ids, ts, cust, anon, ev, ch = zip(*rows, strict=True)
    return pa.table(
        {"event_id": ids, "ts": ts, "customer_id": cust, "anonymous_id": anon, "event": ev, "channel": ch}
    )


@pytest.fixture
def shop(tmp_path: Path) -> Store:
    s = Store(tmp_path / "cxlab.duckdb")
    s.ingest(
        "events",
        events(
            [
                # anonymous a1 arrives by social ad, later signs up as c1 and buys: acquired by social_ads, converted
                ("1", "2024-05-01 10:00", None, "a1", "ad_click", "social_ads"),
                ("2", "2024-05-02 10:00", "c1", "a1", "purchase", "direct"),
                # c2 arrives by paid search, buys before? no: buys after; then clicks social later (not acquisition)
                ("3", "2024-05-01 09:00", "c2", None, "ad_click", "paid_search"),
                ("4", "2024-05-03 09:00", "c2", None, "purchase", None),
                ("5", "2024-05-04 09:00", "c2", None, "ad_click", "social_ads"),
                # a3 by social never buys; a4 by paid search never buys
                ("6", "2024-05-01 11:00", None, "a3", "ad_click", "social_ads"),
                ("7", "2024-05-01 12:00", None, "a4", "ad_click", "paid_search"),
                # c5 bought before the first tagged touch: not converted by that channel
                ("8", "2024-04-01 12:00", "c5", None, "purchase", None),
                ("9", "2024-05-01 12:00", "c5", None, "ad_click", "paid_search"),
            ]
        ),
    )
    s.ingest(
        "orders",
        pa.table(
            {
                "order_id": ["o1", "o2"],
                "customer_id": ["c1", "c2"],
                "ts": ["2024-05-02 10:00", "2024-05-03 09:00"],
                "revenue": [50.0, 70.0],
                "currency": ["EUR", "EUR"],
                "channel": ["direct", "paid_search"],
            }
        ),
    )
    return s


def test_people_buyers_orders_by_channel(shop: Store) -> None:
    t = channel_conversion(shop.ibis()).to_frame().set_index("channel")
    assert t.loc["social_ads", ["people", "buyers"]].tolist() == [2, 1]
    assert t.loc["paid_search", ["people", "buyers"]].tolist() == [3, 1]
    assert t.loc["paid_search", "revenue"] == 70.0 and t.loc["direct", "orders"] == 1
    assert t.loc["direct", "people"] == 0 and math.isnan(t.loc["direct", "conversion_rate"])
    # Wilson 95% for 1 of 3, from the closed form
    z, n, p = 1.959963984540054, 3, 1 / 3
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert t.loc["paid_search", "ci_low"] == pytest.approx(centre - half, abs=1e-12)
    assert t.loc["paid_search", "ci_high"] == pytest.approx(centre + half, abs=1e-12)
