"""Channel performance on events without ``session_id`` (issue 12, point 10): sessions are derived from
30-minute inactivity, and the result equals the one on the same events with session ids assigned by a
brute-force reference (plain Python over each person's sorted events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cxlab.channels import build_journeys, channel_performance
from cxlab.store import Store

TIMEOUT_S = 30 * 60
OUTSIDE = {"email_sent"}  # sent to the customer: never part of a visit


def random_events(seed: int, people: int = 40) -> list[dict[str, Any]]:
    """Clicks (with a channel), page views, carts and purchases (without), and e-mails sent, at gaps around
    the 30-minute timeout (exactly 30 minutes included)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-03-01").value // 10**9
    rows: list[dict[str, Any]] = []
    clicks = [("ad_click", "paid_search"), ("ad_click", "social_ads"), ("organic_click", "organic_search"),
              ("email_click", "email")]  # fmt: skip
    for p in range(people):
        t = start + int(rng.integers(0, 86_400 * 20))
        for _ in range(int(rng.integers(1, 25))):
            t += int(rng.choice([60, 600, TIMEOUT_S, TIMEOUT_S + 1, 3 * 3600, int(rng.integers(1, 4000))]))
            r = rng.random()
            if r < 0.25:
                event, channel = clicks[int(rng.integers(0, len(clicks)))]
            elif r < 0.35:
                event, channel = "email_sent", "email"
            elif r < 0.45:
                event, channel = "page_view", "direct" if rng.random() < 0.5 else None
            else:
                event, channel = str(rng.choice(["page_view", "add_to_cart", "purchase"])), None
            rows.append(
                {
                    "event_id": f"e{len(rows):06d}",
                    "ts": pd.Timestamp(t, unit="s"),
                    "customer_id": f"c{p:03d}",
                    "event": event,
                    "channel": channel,
                    "revenue": float(rng.integers(5, 200)) if event == "purchase" else None,
                }
            )
    return rows


def brute_force_sessions(rows: list[dict[str, Any]]) -> list[str | None]:
    """Per person, in time order (ties by event id): a new session after more than 30 minutes without an
    event inside the shop; e-mails sent get no session."""
    sid: list[str | None] = [None] * len(rows)
    by_person: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if r["event"] not in OUTSIDE:
            by_person.setdefault(r["customer_id"], []).append(i)
    for person, idx in by_person.items():
        idx.sort(key=lambda i: (rows[i]["ts"], rows[i]["event_id"]))
        n, last = 0, None
        for i in idx:
            t = rows[i]["ts"]
            if last is None or (t - last).total_seconds() > TIMEOUT_S:
                n += 1
            sid[i] = f"{person}/{n}"
            last = t
    return sid


def store_of(path: Path, rows: list[dict[str, Any]], session_ids: list[str | None]) -> Store:
    s = Store(path)
    frame = pd.DataFrame(rows).assign(session_id=session_ids)
    s.ingest(
        "events",
        pa.table(
            {
                "event_id": frame["event_id"],
                "ts": pa.array(frame["ts"], pa.timestamp("us")),
                "customer_id": frame["customer_id"],
                "session_id": pa.array(frame["session_id"], pa.string()),
                "event": frame["event"],
                "channel": pa.array(frame["channel"], pa.string()),
                "revenue": pa.array(frame["revenue"], pa.float64()),
            }
        ),
    )
    return s


COUNTS = ["visitors", "new_visitors", "sessions", "converting_sessions", "buyers", "orders",
          "new_customer_orders", "revenue", "session_conversion_rate", "conversion_rate", "aov"]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_derived_sessions_equal_explicit_brute_force_sessions(tmp_path: Path, seed: int) -> None:
    rows = random_events(seed)
    with (
        store_of(tmp_path / "none.duckdb", rows, [None] * len(rows)) as bare,
        store_of(tmp_path / "ref.duckdb", rows, brute_force_sessions(rows)) as ref,
    ):
        got = channel_performance(bare.ibis(), bare.config)
        want = channel_performance(ref.ibis(), ref.config)
        pd.testing.assert_frame_equal(got.table[["channel", *COUNTS]], want.table[["channel", *COUNTS]])
        assert got.table["converting_sessions"].sum() > 0  # the bug: 0% conversion for every channel
        assert got.derived_sessions == got.table["sessions"].sum() and want.derived_sessions == 0
        assert "derived from 30-minute inactivity" in got.summary()
        assert "derived" not in want.summary()
        trend = got.trend.set_index(["channel", "period"])["orders"]
        pd.testing.assert_series_equal(trend, want.trend.set_index(["channel", "period"])["orders"])
        # attribution's journeys are built on the same visits
        pd.testing.assert_frame_equal(
            build_journeys(bare.ibis()).to_frame(), build_journeys(ref.ibis()).to_frame()
        )


def test_a_sessionless_click_then_purchase_is_one_converting_visit(tmp_path: Path) -> None:
    rows = [
        {"event_id": "1", "ts": pd.Timestamp("2024-05-01 10:00"), "customer_id": "c1", "event": "email_sent",
         "channel": "email", "revenue": None},
        {"event_id": "2", "ts": pd.Timestamp("2024-05-01 10:10"), "customer_id": "c1", "event": "ad_click",
         "channel": "paid_search", "revenue": None},
        {"event_id": "3", "ts": pd.Timestamp("2024-05-01 10:40"), "customer_id": "c1", "event": "page_view",
         "channel": None, "revenue": None},  # 30 minutes: the same visit
        {"event_id": "4", "ts": pd.Timestamp("2024-05-01 10:45"), "customer_id": "c1", "event": "purchase",
         "channel": None, "revenue": 40.0},
        {"event_id": "5", "ts": pd.Timestamp("2024-05-01 11:16"), "customer_id": "c1", "event": "page_view",
         "channel": None, "revenue": None},  # 31 minutes later, no channel: not a visit through a channel
    ]  # fmt: skip
    with store_of(tmp_path / "s.duckdb", rows, [None] * len(rows)) as s:
        t = channel_performance(s.ibis(), s.config).table.set_index("channel")
    assert list(t.index) == ["paid_search"]  # the e-mail sent is not a visit
    assert t.loc["paid_search", ["sessions", "converting_sessions", "orders"]].tolist() == [1, 1, 1]
    assert t.loc["paid_search", "revenue"] == 40.0
