"""Channel performance on a store small enough to count by hand, with and without a spend table."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd
import pytest

from cxlab.channels import SPEND, channel_performance
from cxlab.schema.tables import TableSpec


def add_spend(store: Any, rows: list[tuple[str, str, str, float]]) -> None:
    store.con.execute(SPEND.ddl())
    store.con.executemany("INSERT INTO spend VALUES (CAST(? AS DATE), ?, ?, ?)", rows)


def row(t: pd.DataFrame, channel: str) -> pd.Series:
    return t.set_index("channel").loc[channel]


def test_counts_per_channel(shop: Any) -> None:
    res = channel_performance(shop.ibis(), shop.config)
    t = res.table
    assert not res.has_spend and "cost" not in t
    cols = ["visitors", "new_visitors", "returning_visitors", "sessions", "converting_sessions", "buyers", "orders",
            "new_customer_orders", "returning_customer_orders"]  # fmt: skip
    assert row(t, "social_ads")[cols].tolist() == [3, 3, 0, 5, 0, 0, 0, 0, 0]
    assert row(t, "email")[cols].tolist() == [1, 0, 1, 2, 0, 0, 0, 0, 0]  # a session and a sessionless click
    assert row(t, "direct")[cols].tolist() == [1, 0, 1, 2, 2, 1, 2, 1, 1]
    assert row(t, "paid_search")[cols].tolist() == [2, 0, 2, 2, 1, 1, 1, 1, 0]
    assert row(t, "display")[cols].tolist() == [1, 1, 0, 1, 0, 0, 0, 0, 0]
    d = row(t, "direct")
    assert (d["revenue"], d["aov"], d["revenue_per_visitor"]) == (80.0, 40.0, 80.0)
    assert d["session_conversion_rate"] == 1.0 and d["conversion_rate"] == 1.0
    ps = row(t, "paid_search")
    z, n, p = 1.959963984540054, 2, 0.5  # Wilson 95% for 1 of 2, closed form
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (ps["session_ci_low"], ps["session_ci_high"]) == pytest.approx((centre - half, centre + half))
    assert math.isnan(row(t, "social_ads")["aov"])


def test_campaigns_period_and_trend(shop: Any) -> None:
    res = channel_performance(shop.ibis(), shop.config, by="campaign", start=datetime(2024, 5, 1))
    t = res.table.set_index(["channel", "campaign"])
    assert ("display", "display_prospecting") not in t.index  # March: before the period
    assert t.loc[("paid_search", "ps_brand"), "sessions"] == 1
    assert t.loc[("social_ads", "social_video"), "sessions"] == 2
    assert t.loc[("direct", "(none)"), "orders"] == 2
    monthly = channel_performance(shop.ibis(), shop.config, freq="month").trend
    direct = monthly[monthly["channel"] == "direct"].set_index("period")["orders"]
    assert direct.to_dict() == {pd.Timestamp("2024-05-01"): 1, pd.Timestamp("2024-06-01"): 1}


def test_cost_cpa_and_roas_from_spend(shop: Any) -> None:
    add_spend(shop, [("2024-04-01", "paid_search", "(none)", 10.0), ("2024-05-01", "social_ads", "social_video", 25.0),
                     ("2024-05-02", "social_ads", "social_video", 5.0), ("2024-05-02", "affiliate", "aff_x", 7.0)])  # fmt: skip
    res = channel_performance(shop.ibis(), shop.config)
    assert res.has_spend
    ps, social = row(res.table, "paid_search"), row(res.table, "social_ads")
    assert (ps["cost"], ps["cpa"], ps["cost_per_new_customer"], ps["roas"]) == (10.0, 10.0, 10.0, 2.0)
    assert social["cost"] == 30.0 and social["roas"] == 0.0 and math.isnan(social["cpa"])
    aff = row(res.table, "affiliate")  # money spent, no visit at all: still shown
    assert aff["cost"] == 7.0 and aff["sessions"] == 0 and aff["roas"] == 0.0
    may = channel_performance(shop.ibis(), shop.config, start=datetime(2024, 5, 1))
    assert row(may.table, "paid_search")["cost"] == 0.0  # April's spend is outside the period
    by_campaign = channel_performance(shop.ibis(), shop.config, by="campaign").table.set_index(
        ["channel", "campaign"]
    )
    assert by_campaign.loc[("social_ads", "social_video"), "cost"] == 30.0
    assert by_campaign.loc[("social_ads", "social_lookalike"), "cost"] == 0.0


def test_spend_spec_is_a_canonical_table_spec() -> None:
    assert isinstance(SPEND, TableSpec)
    assert SPEND.key == ("date", "channel", "campaign")
    assert SPEND.column("channel").enum_from == "channels" and SPEND.column("cost").min == 0.0
    assert all(SPEND.column(k).required for k in SPEND.key)  # a null key part would break idempotent ingest
    assert 'CREATE TABLE IF NOT EXISTS "spend"' in SPEND.ddl()


def test_bad_options(shop: Any) -> None:
    with pytest.raises(ValueError, match="by must be"):
        channel_performance(shop.ibis(), by="device")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="freq must be"):
        channel_performance(shop.ibis(), freq="year")  # type: ignore[arg-type]
