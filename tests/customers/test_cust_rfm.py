"""RFM scores, segments and movement on a shop small enough to score by hand."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from cxlab.customers import rfm_movement, rfm_scores, rfm_segments
from cxlab.customers.rfm import NOT_YET, SEGMENT_GRID, SEGMENTS
from cxlab.store import Store

# customer: (order dates, value of each order). Ranks by design (5 = best):
#   A: R5 F5 M5 | B: R1 F4 M4 | C: R4 F1 M1 | D: R3 F3 M3 | E: R2 F2 M2
ORDERS = {
    "A": (["2024-01-05", "2024-02-05", "2024-03-05", "2024-03-15", "2024-03-30"], 100.0),
    "B": (["2023-10-01", "2023-11-01", "2023-12-01", "2024-01-10"], 90.0),
    "C": (["2024-03-20"], 50.0),
    "D": (["2023-12-15", "2024-02-01", "2024-03-01"], 80.0),
    "E": (["2024-01-01", "2024-02-01"], 70.0),
}


@pytest.fixture
def shop(tmp_path: Path) -> Store:
    rows = [(c, d, v) for c, (dates, v) in ORDERS.items() for d in dates]
    s = Store(tmp_path / "cxlab.duckdb")
    s.ingest(
        "orders",
        pa.table(
            {
                "order_id": [f"o{i}" for i in range(len(rows))],
                "customer_id": [r[0] for r in rows],
                "ts": [f"{r[1]} 12:00" for r in rows],
                "revenue": [r[2] for r in rows],
                "currency": ["EUR"] * len(rows),
            }
        ),
    )
    return s


def test_scores_and_segments_by_hand(shop: Store) -> None:
    t = rfm_scores(shop.ibis().table("orders"), "2024-03-31").execute().set_index("customer_id")
    assert t.loc[list("ABCDE"), "r"].tolist() == [5, 1, 4, 3, 2]
    assert t.loc[list("ABCDE"), "f"].tolist() == [5, 4, 1, 3, 2]
    assert t.loc[list("ABCDE"), "m"].tolist() == [5, 4, 1, 3, 2]
    assert t.loc["A", "recency_days"] == pytest.approx(1.5)  # last order at noon, as-of day ends at midnight
    assert t.loc["B", "monetary"] == 360.0 and t.loc["D", "frequency"] == 3
    assert t.loc[list("ABCDE"), "segment"].tolist() == [
        "Champions",
        "Can't lose them",
        "Promising",
        "Need attention",
        "About to sleep",
    ]


def test_ties_share_the_lower_score(shop: Store) -> None:
    # on 2024-01-31 A, B, D and E have ordered; A and E once each up to then -> both F = 1
    t = rfm_scores(shop.ibis().table("orders"), "2024-01-31").execute().set_index("customer_id")
    assert sorted(t.index) == ["A", "B", "D", "E"]
    assert t.loc["A", "f"] == t.loc["E", "f"] == t.loc["D", "f"] == 1  # D: 1 order by then too
    assert t.loc["B", "f"] == 5  # percent rank 1


def test_segment_table_adds_up(shop: Store) -> None:
    res = rfm_segments(shop.ibis(), "2024-03-31")
    t = res.to_frame().set_index("segment")
    assert list(t.index) == list(SEGMENTS)
    assert t["customers"].sum() == res.customers == 5
    assert t.loc["Champions", "revenue"] == 500.0
    assert t["revenue_share"].sum() == pytest.approx(1.0)
    assert t.loc["Champions", "revenue_share"] == pytest.approx(500 / 1290)
    assert "5 customers have ordered" in res.summary() and "n = 5 customers" in res.details()


def test_movement_between_dates(shop: Store) -> None:
    m = rfm_movement(shop.ibis(), "2024-01-31", "2024-03-31")
    t = m.to_frame()
    assert t["customers"].sum() == 5
    assert t.loc[t["from_segment"] == NOT_YET, "customers"].sum() == 1  # C ordered first in March
    assert m.matrix().to_numpy().sum() == 5
    with pytest.raises(ValueError, match="not before"):
        rfm_movement(shop.ibis(), "2024-03-31", "2024-01-31")


def test_grid_covers_every_score_pair_with_the_eleven_segments() -> None:
    assert set(SEGMENT_GRID) == {(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert set(SEGMENT_GRID.values()) == set(SEGMENTS) and len(SEGMENTS) == 11
