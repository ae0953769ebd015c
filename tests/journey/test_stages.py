"""The stage funnel counts people by the furthest stage they got to, so a later stage is never above an
earlier one, and shows beside it who did something at each stage themselves."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cxlab.journey import stage_funnel
from cxlab.store import Store


def test_people_per_stage_by_furthest_stage_and_from_previous(tmp_path: Path) -> None:
    rows = [  # person, touchpoint
        ("p1", "search_ad"),
        ("p1", "site"),
        ("p1", "checkout"),
        ("p1", "delivery"),
        ("p2", "site"),
        ("p2", "cart"),  # skipped awareness
        ("p3", "search_ad"),
        ("p3", "search_ad"),  # repeats count once
        ("p4", "review"),  # only advocacy
        ("p5", "unmapped_touchpoint"),  # a person with no stage
    ]
    table = pa.table(
        {
            "event_id": [str(i) for i in range(len(rows))],
            "ts": ["2024-05-01"] * len(rows),
            "customer_id": [p for p, _ in rows],
            "event": ["x"] * len(rows),
            "touchpoint": [t for _, t in rows],
        }
    )
    with Store(tmp_path / "cxlab.duckdb") as s:
        s.ingest("events", table)
        res = stage_funnel(s.ibis(), s.config)
    t = res.to_frame().set_index("stage")
    assert res.people == 5
    # furthest stage: p1 retention, p2 conversion, p3 awareness, p4 advocacy, p5 none
    assert t["people"].tolist() == [4, 3, 3, 2, 1]
    assert t["seen"].tolist() == [2, 2, 2, 1, 1]  # did something at the stage itself
    assert (t["people"].diff().dropna() <= 0).all()  # never more people at a later stage
    assert t.loc["consideration", "from_previous"] == 3 and t.loc["consideration", "previous"] == 4
    assert t.loc["retention", "rate_from_previous"] == 2 / 3
    assert t.loc["awareness", "share_of_all"] == 4 / 5
    assert res.buyers is None  # no purchase events: nobody is said to have bought
    assert "2 people were not seen at awareness but got further" in res.headline()


def test_messages_only_received_do_not_move_people_on(tmp_path: Path) -> None:
    """A review request e-mail sent is not the person reaching advocacy; opening it is."""
    rows = [
        ("p1", "site", "page_view"),
        ("p1", "review_request", "email_sent"),
        ("p2", "site", "page_view"),
        ("p2", "review_request", "email_sent"),
        ("p2", "review_request", "email_open"),
        ("p2", "checkout", "purchase"),
    ]
    table = pa.table(
        {
            "event_id": [str(i) for i in range(len(rows))],
            "ts": ["2024-05-01"] * len(rows),
            "customer_id": [p for p, _, _ in rows],
            "event": [e for _, _, e in rows],
            "touchpoint": [t for _, t, _ in rows],
        }
    )
    with Store(tmp_path / "cxlab.duckdb") as s:
        s.ingest("events", table)
        res = stage_funnel(s.ibis(), s.config)
    t = res.to_frame().set_index("stage")
    assert t.loc["advocacy", "people"] == 1 and t.loc["consideration", "people"] == 2
    assert res.buyers == 1 and "1 (50%) bought something" in res.headline()
