"""The change log on a shop small enough to count by hand: ids, overlaps, before/after KPIs, evidence."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from cxlab.experiments.changelog import NOT_CAUSAL, add_change, change_impact, change_log, next_change_id
from cxlab.experiments.definitions import parse_metrics
from cxlab.store import Store

T0 = datetime(2025, 3, 3)
METRICS = parse_metrics(
    tomllib.loads('[m.orders]\ntype = "mean"\nsource = "orders"\nvalue = "count"\nwindow = "30d"')["m"]
)


def _at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat(sep=" ")


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "cxlab.duckdb")
    rows = []
    # before: 5 checkouts, 2 purchases over four people; after: 5 checkouts, 4 purchases over four people
    people = {
        "p1": (-10, ["checkout", "checkout", "purchase"]),
        "p2": (-9, ["checkout"]),
        "p3": (-8, ["checkout", "purchase"]),
        "p4": (-3, ["checkout"]),
        "p5": (1, ["checkout", "purchase"]),
        "p6": (2, ["checkout", "purchase", "checkout", "purchase"]),
        "p7": (3, ["checkout"]),
        "p8": (20, ["checkout", "purchase"]),
        "p9": (40, ["checkout", "purchase"]),  # outside the 28-day window
    }
    for person, (day, events) in people.items():
        for i, ev in enumerate(events):
            rows.append((f"{person}-{i}", _at(day + i / 24), person, ev, "checkout"))
    rows.append(("x1", _at(-60), "p1", "page_view", "site"))
    ids, ts, cust, ev, tp = zip(*rows, strict=True)
    s.ingest(
        "events", pa.table({"event_id": ids, "ts": ts, "customer_id": cust, "event": ev, "touchpoint": tp})
    )
    s.ingest(
        "feedback",
        pa.table(
            {
                "feedback_id": [f"f{i}" for i in range(6)],
                "ts": [_at(d) for d in (-5, -4, -2, 2, 3, 5)],
                "source": ["ces"] * 6,
                "touchpoint": ["checkout"] * 6,
                "score": [4.0, 5.0, 6.0, 6.0, 7.0, 7.0],
            }
        ),
    )
    s.ingest(
        "exposures",
        pa.table(
            {
                "experiment_id": ["exp1"] * 4,
                "variant": ["control", "control", "new", "new"],
                "customer_id": ["p1", "p2", "p3", "p4"],
                "ts": ["2025-01-01 10:00", "2025-02-01 10:00", "2025-01-05 10:00", "2025-03-31 10:00"],
            }
        ),
    )
    s.ingest(
        "orders",
        pa.table(
            {
                "order_id": ["o1", "o2"],
                "customer_id": ["p1", "p3"],
                "ts": ["2025-02-01 12:00", "2025-02-01 12:00"],
                "revenue": [10.0, 20.0],
                "currency": ["EUR", "EUR"],
            }
        ),
    )
    yield s
    s.close()


def test_ids_dates_and_duplicates(shop: Store) -> None:
    assert next_change_id(shop.ibis()) == "CH001"
    first = add_change(shop, "checkout", "one-page checkout", ts=T0)
    assert first["change_id"] == "CH001"
    cet = timezone(timedelta(hours=1))
    second = add_change(shop, "site", "new home page", ts=datetime(2025, 5, 1, 10, 0, tzinfo=cet))
    assert second["change_id"] == "CH002" and second["ts"] == datetime(2025, 5, 1, 9, 0)  # stored as UTC
    add_change(shop, "site", "manual id", change_id="CH010")
    assert next_change_id(shop.ibis()) == "CH011"
    with pytest.raises(ValueError, match="already exists"):
        add_change(shop, "site", "again", change_id="CH010")
    with pytest.raises(ValueError, match="needs a touchpoint"):
        add_change(shop, " ", "nothing")
    now = add_change(shop, "site", "now")["ts"]
    assert abs(now - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)


def test_overlapping_changes_on_a_touchpoint_are_flagged(shop: Store) -> None:
    add_change(shop, "checkout", "redesign", ts=T0, change_id="A")
    add_change(shop, "checkout", "new payment button", ts=T0 + timedelta(days=10), change_id="B")
    add_change(shop, "checkout", "copy tweak", ts=T0 + timedelta(days=60), change_id="C")
    add_change(shop, "site", "home page", ts=T0 + timedelta(days=1), change_id="D")
    add_change(
        shop, "email", "tested subject line", ts=datetime(2025, 1, 1), experiment_id="exp1", change_id="E"
    )
    add_change(shop, "email", "new footer", ts=datetime(2025, 3, 20), change_id="F")  # during exp1
    log = change_log(shop.ibis(), window_days=28)
    flags = dict(zip(log.table["change_id"], log.table["overlaps"], strict=True))
    assert flags == {"E": ["F"], "A": ["B"], "D": [], "B": ["A"], "F": ["E"], "C": []}
    assert "2 overlap" not in log.summary() and "4 overlap" in log.summary()
    assert change_log(shop.ibis(), window_days=5).table.set_index("change_id").loc["A", "overlaps"] == []


def test_before_after_impact_with_kpis_by_hand(shop: Store) -> None:
    add_change(shop, "checkout", "one-page checkout", ts=T0, change_id="CH1")
    impact = change_impact(shop.ibis(), "CH1", METRICS)
    assert impact.evidence == "before_after" and not impact.causal
    assert NOT_CAUSAL in impact.warnings and "not causal" in impact.summary()
    assert impact.result is not None and not impact.result.srm.applies
    t = impact.result.to_frame().set_index(["metric", "arm"])
    kpi = "purchase per checkout"
    assert t.loc[(kpi, "before"), "n"] == 4 and t.loc[(kpi, "after"), "n"] == 4
    assert t.loc[(kpi, "before"), "mean"] == pytest.approx(2 / 5)
    assert t.loc[(kpi, "after"), "mean"] == pytest.approx(4 / 5)
    assert t.loc[(kpi, "after"), "lift_relative"] == pytest.approx(1.0)
    ces = t.loc[("ces score (mean)", "after")]
    assert ces["lift_relative"] == pytest.approx((20 / 3) / 5 - 1)
    # the before/after Welch interval of the CES means, from scipy on the raw scores
    from scipy import stats

    ref = stats.ttest_ind([6.0, 7.0, 7.0], [4.0, 5.0, 6.0], equal_var=False)
    assert [ces["ci_absolute_low"], ces["ci_absolute_high"]] == pytest.approx(list(ref.confidence_interval()))
    doc = impact.to_dict()
    assert doc["causal"] is False and doc["window_days"] == 28 and doc["result"]["srm_p_value"] is None


def test_impact_of_a_tested_change_is_the_experiment(shop: Store) -> None:
    add_change(shop, "email", "subject line", ts=datetime(2025, 1, 1), experiment_id="exp1", change_id="E1")
    add_change(shop, "shipping_sms", "nothing measured here", ts=T0, change_id="S1")
    impact = change_impact(shop.ibis(), "E1", METRICS)
    assert impact.evidence == "experiment" and impact.causal and impact.warnings == []
    assert impact.result is not None and impact.result.arms == ("control", "new")
    assert impact.result.to_frame()["n"].tolist() == [2, 2]
    empty = change_impact(shop.ibis(), "S1", METRICS)
    assert empty.evidence == "none" and empty.result is None and "no events" in empty.summary()
    with pytest.raises(KeyError, match="no change 'nope'"):
        change_impact(shop.ibis(), "nope", METRICS)
