"""The key figures: the last 30 days of the data against the 30 before, each checked against a count by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from cxlab.errors import MissingData
from cxlab.report.kpis import key_figures, overview_section
from cxlab.store import Store

LAST = dt.date(2024, 6, 30)  # the latest day in the store: the period is 2024-06-01 .. 06-30


def _day(days_before_last: int) -> str:
    return f"{LAST - dt.timedelta(days=days_before_last)} 12:00"


def _store(tmp_path: Path) -> Path:
    """Now (last 30 days): 3 orders of 100, 200, 300; people a, b, c, d, e visit, b and c buy; NPS answers
    10, 10, 9, 3 (+50). Before (the 30 days before): 2 orders of 100 and 100; people f, g visit, f buys; NPS
    answers 10, 0 (0). Older than 60 days: one order of 1,000 and one visitor, in neither period."""
    orders = [(0, 100.0), (5, 200.0), (29, 300.0), (30, 100.0), (59, 100.0), (60, 1000.0)]
    visits = [("a", 0, "page_view"), ("b", 1, "page_view"), ("b", 1, "purchase"), ("c", 29, "purchase"),
              ("d", 3, "page_view"), ("e", 4, "page_view"), ("f", 31, "purchase"), ("g", 59, "page_view"),
              ("h", 61, "page_view")]  # fmt: skip
    nps = [(0, 10.0), (1, 10.0), (2, 9.0), (3, 3.0), (30, 10.0), (40, 0.0)]
    db = tmp_path / "cxlab.duckdb"
    with Store(db) as s:
        s.ingest(
            "orders",
            pa.table(
                {
                    "order_id": [f"o{i}" for i in range(len(orders))],
                    "customer_id": ["a"] * len(orders),
                    "ts": [_day(d) for d, _ in orders],
                    "revenue": [r for _, r in orders],
                    "currency": ["EUR"] * len(orders),
                }
            ),
        )
        s.ingest(
            "events",
            pa.table(
                {
                    "event_id": [f"e{i}" for i in range(len(visits))],
                    "ts": [_day(d) for _, d, _ in visits],
                    "customer_id": [p for p, _, _ in visits],
                    "event": [e for _, _, e in visits],
                }
            ),
        )
        s.ingest(
            "feedback",
            pa.table(
                {
                    "feedback_id": [f"f{i}" for i in range(len(nps))],
                    "ts": [_day(d) for d, _ in nps],
                    "source": ["nps"] * len(nps),
                    "score": [x for _, x in nps],
                }
            ),
        )
    return db


def test_key_figures_match_a_count_by_hand(tmp_path: Path) -> None:
    with Store(_store(tmp_path), read_only=True) as s:  # read-only: the periods are temporary views
        kpis = key_figures(s)
    assert kpis is not None
    assert (kpis.start, kpis.end) == (dt.date(2024, 6, 1), LAST)
    assert (kpis.prev_start, kpis.prev_end) == (dt.date(2024, 5, 2), dt.date(2024, 5, 31))
    cards = {k.name: (k.value, k.previous, k.change, k.direction) for k in kpis.cards}
    assert cards["Revenue"] == ("EUR 600", "EUR 200", "+200.0%", 1)
    assert cards["Orders"] == ("3", "2", "+50.0%", 1)
    assert cards["Average order value"] == ("EUR 200.00", "EUR 100.00", "+100.0%", 1)
    assert cards["Conversion"] == ("40.0%", "50.0%", "-10.0 points", -1)  # 2 of 5 against 1 of 2
    assert cards["Active customers"] == ("5", "2", "+150.0%", 1)
    assert cards["NPS"] == ("50", "0", "+50 points", 1)  # (3 - 1) / 4 promoters - detractors


def test_the_section_puts_the_figures_first_and_the_row_counts_in_its_details(tmp_path: Path) -> None:
    with Store(_store(tmp_path), read_only=True) as s:
        section = overview_section(s)
    assert section.id == "overview" and section.title == "Key figures"
    assert section.summary.startswith("The last 30 days (2024-06-01 to 2024-06-30) against the 30 before: ")
    assert "revenue EUR 600 (+200.0%)" in section.summary and "NPS 50 (+50 points)" in section.summary
    assert section.table is not None
    assert list(section.table.columns) == ["figure", "last 30 days", "30 days before", "change"]
    assert "Rows stored per table: events 9, customers 0, orders 6" in section.details
    assert "2 of 5 visitors bought" in section.details
    assert "NPS: too few answers (4) for a range" in section.details


def test_a_table_without_rows_is_not_measured_not_zero(tmp_path: Path) -> None:
    db = _store(tmp_path)
    with Store(db) as s:
        s.con.execute("DELETE FROM orders")
        names = [k.name for k in key_figures(s).cards]  # type: ignore[union-attr]
    assert names == ["Conversion", "Active customers", "NPS"]


def test_an_empty_store_has_no_period(tmp_path: Path) -> None:
    with Store(tmp_path / "cxlab.duckdb") as s:
        assert key_figures(s) is None
        with pytest.raises(MissingData, match="need events, orders or feedback"):
            overview_section(s)
