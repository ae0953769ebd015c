"""Journey map, paths (loops collapsed) and retention cohorts against hand-computed tiny stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest

from cxlab.journey import journey_map, paths, retention

MakeStore = Callable[[Any], Any]

MAP_ROWS = [  # person, hours, event, touchpoint
    ("p1", 0, "ad_click", "search_ad"), ("p1", 2, "page_view", "site"), ("p1", 5, "add_to_cart", "cart"),
    ("p2", 0, "ad_click", "search_ad"),                                       # drops off
    ("p3", 0, "email_sent", "newsletter"), ("p3", 1, "ad_click", "social_ad"),  # back to awareness, then
    ("p3", 4, "page_view", "site"),                                           # consideration again
    ("p4", 0, "page_view", "site"), ("p4", 1, "ad_click", "search_ad"),       # awareness after consideration
]  # fmt: skip


def test_map_counts_people_and_next_stage(make_store: MakeStore) -> None:
    with make_store(MAP_ROWS) as s:
        m = journey_map(s.ibis(), s.config)
    t = m.to_frame().set_index("touchpoint")
    assert t.loc["search_ad", "people"] == 3
    assert t.loc["search_ad", "next_stage"] == 1  # only p1 acts at consideration after search_ad
    assert t.loc["social_ad", "next_stage"] == 1 and t.loc["social_ad", "median_hours"] == pytest.approx(3)
    assert t.loc["site", "people"] == 3 and t.loc["site", "next_stage"] == 1  # p1 → cart
    assert t.loc["search_ad", "median_hours"] == pytest.approx(2)
    flows = m.flows.set_index(["from_stage", "to_stage"])
    assert flows.loc[("consideration", "awareness"), "people"] == 2  # p3 and p4 go back
    assert m.people == 4


PATH_ROWS = [
    ("p1", 0, "x", "site"), ("p1", 1, "x", "site"), ("p1", 2, "x", "cart"), ("p1", 3, "x", "site"),
    ("p1", 4, "x", "checkout"),
    ("p2", 0, "x", "search_ad"), ("p2", 1, "x", "site"), ("p2", 2, "x", "cart"), ("p2", 3, "x", "cart"),
    ("p2", 4, "x", "site"), ("p2", 5, "x", "checkout"),
    ("p3", 0, "x", "cart"), ("p3", 1, "x", "checkout"),
]  # fmt: skip


def test_paths_from_and_to_with_loops_collapsed(make_store: MakeStore) -> None:
    with make_store(PATH_ROWS) as s:
        con, cfg = s.ibis(), s.config
        p = paths(con, cfg, start="site", depth=3).to_frame().set_index("path")["units"].to_dict()
        assert p == {"site > cart > site": 2}
        raw = paths(con, cfg, start="site", depth=3, collapse_loops=False).to_frame()
        assert dict(zip(raw["path"], raw["units"], strict=True)) == {
            "site > site > cart": 1,
            "site > cart > cart": 1,
        }
        to = paths(con, cfg, end="checkout", depth=3).to_frame()
        assert dict(zip(to["path"], to["units"], strict=True)) == {
            "cart > site > checkout": 2,
            "cart > checkout": 1,
        }
        assert to["share"].sum() == pytest.approx(1.0)


def test_retention_cohorts_by_hand(make_store: MakeStore) -> None:
    orders = [  # customer, date
        ("a", "2024-01-05"), ("a", "2024-02-10"), ("a", "2024-04-01"),
        ("b", "2024-01-20"),
        ("c", "2024-02-03"), ("c", "2024-02-20"), ("c", "2024-03-15"),
    ]  # fmt: skip
    with make_store([("a", 0, "page_view", "site")]) as s:
        s.ingest(
            "orders",
            pa.table(
                {
                    "order_id": [f"o{i}" for i in range(len(orders))],
                    "customer_id": [c for c, _ in orders],
                    "ts": pa.array([datetime.fromisoformat(d) for _, d in orders], pa.timestamp("us")),
                    "revenue": [10.0] * len(orders),
                    "currency": ["EUR"] * len(orders),
                }
            ),
        )
        r = retention(s.ibis(), s.config, period="month")
    m = r.matrix()
    jan, feb = m.loc["2024-01-01"], m.loc["2024-02-01"]
    assert jan[0] == 1.0 and jan[1] == 0.5 and jan[2] == 0.0 and jan[3] == 0.5  # a returns in Feb and Apr
    assert feb[0] == 1.0 and feb[1] == 1.0 and pd_isna(feb.get(3))  # c in March; no data after April
    assert r.customers == 3
    curve = r.curve.set_index("days")
    # within 30 days: c (17 days) of a, b, c; within 60 days: only a, b observed that long (data ends
    # 1 April, c started 3 Feb), and a's second order came after 36 days
    assert (curve.loc[30, "customers"], curve.loc[30, "repeaters"]) == (3, 1)
    assert (curve.loc[60, "customers"], curve.loc[60, "repeaters"]) == (2, 1)


def pd_isna(x: object) -> bool:
    import pandas as pd

    return x is None or bool(pd.isna(x))
