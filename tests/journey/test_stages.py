"""The stage funnel counts people per stage, whatever order they took."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cxlab.journey import stage_funnel
from cxlab.store import Store


def test_people_per_stage_and_from_previous(tmp_path: Path) -> None:
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
    assert t["people"].tolist() == [2, 2, 2, 1, 1]
    assert t.loc["consideration", "from_previous"] == 1  # p1 had awareness and consideration
    assert t.loc["conversion", "from_previous"] == 2
    assert t.loc["retention", "from_previous"] == 1 and t.loc["advocacy", "from_previous"] == 0
    assert t.loc["awareness", "share_of_all"] == 2 / 5
