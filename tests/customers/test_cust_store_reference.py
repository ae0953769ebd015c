"""Store-level lifetime value and churn risk against lifetimes, on the CDNOW cohort loaded as a shop's orders.

The reference summary is computed here with pandas (exact clock in weeks: distinct purchase days, durations
to the end of the calibration day), the reference models are lifetimes' fitters on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from cxlab.customers import Settings, churn_risk, lifetime_value
from cxlab.store import Store

END = pd.Timestamp("1997-10-01")  # calibration end "1997-09-30": the whole day
WEEK = pd.Timedelta(days=7)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, cdnow_transactions: pd.DataFrame) -> Any:
    frame = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(cdnow_transactions))],
            "customer_id": cdnow_transactions["customer"],
            "ts": cdnow_transactions["date"],
            "revenue": cdnow_transactions["dollars"].astype(float),
            "currency": "EUR",
        }
    )
    s = Store(tmp_path_factory.mktemp("cdnow") / "cxlab.duckdb")
    s.con.register("frame", frame)
    s.con.execute("INSERT INTO orders BY NAME SELECT * FROM frame")
    yield s
    s.close()


def reference_summary(tx: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """frequency, recency, T (weeks, exact days) and mean repeat-day spend per customer, with pandas."""
    days = tx[tx["date"] < end].groupby(["customer", "date"], as_index=False)["dollars"].sum()
    first = days.groupby("customer")["date"].transform("min")
    days["repeat"] = days["date"] > first
    g = days.groupby("customer")
    out = pd.DataFrame(
        {
            "frequency": g["date"].count() - 1,
            "recency": (g["date"].max() - g["date"].min()) / WEEK,
            "T": (end - g["date"].min()) / WEEK,
            "monetary_value": days[days["repeat"]].groupby("customer")["dollars"].mean(),
        }
    ).fillna({"monetary_value": 0.0})
    return out


def test_lifetime_value_matches_lifetimes(lf: Any, store: Store, cdnow_transactions: pd.DataFrame) -> None:
    s = Settings(model="bgnbd", months=12, discount_rate=0.01, time_unit="week", exact=True, holdout=0)
    res = lifetime_value(store.ibis(), calibration_end="1997-09-30", settings=s)
    ref = reference_summary(cdnow_transactions, END)
    x, t, tt, m = (ref[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    bg = lf.BetaGeoFitter().fit(x, t, tt)
    for k in ("r", "alpha", "a", "b"):
        assert res.purchases.params_[k] == pytest.approx(bg.params_[k], rel=1e-5), k
    rep = x > 0
    gg = lf.GammaGammaFitter().fit(x[rep], m[rep])
    for k in ("p", "q", "v"):
        assert res.spend is not None and res.spend.params_[k] == pytest.approx(gg.params_[k], rel=1e-5), k
    bg.predict = bg.conditional_expected_number_of_purchases_up_to_time
    cols = (ref[c] for c in ("frequency", "recency", "T", "monetary_value"))
    clv = gg.customer_lifetime_value(bg, *cols, time=12, discount_rate=0.01, freq="W")
    ours = res.customers.set_index("customer_id").loc[ref.index]
    np.testing.assert_allclose(ours["clv"], clv.to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(ours["p_alive"], bg.conditional_probability_alive(x, t, tt), rtol=1e-5)
    assert res.customers["clv"].sum() == pytest.approx(float(clv.sum()), rel=1e-4)
    assert not res.degenerate and res.new_customers == 0


def test_churn_risk_matches_lifetimes(lf: Any, store: Store, cdnow_transactions: pd.DataFrame) -> None:
    s = Settings(model="mbgnbd", months=6, discount_rate=0.02, time_unit="week", exact=True, holdout=0)
    res = churn_risk(store.ibis(), as_of="1997-09-30", lookback=8, settings=s)
    now = reference_summary(cdnow_transactions, END)
    before = reference_summary(cdnow_transactions, END - 8 * WEEK)
    x, t, tt, m = (now[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    mbg = lf.ModifiedBetaGeoFitter().fit(x, t, tt)
    same = lf.ModifiedBetaGeoFitter()
    same.params_ = pd.Series(mbg.params_)
    p_now = pd.Series(mbg.conditional_probability_alive(x, t, tt), index=now.index)
    p_before = pd.Series(
        same.conditional_probability_alive(
            before["frequency"].to_numpy(float),
            before["recency"].to_numpy(float),
            before["T"].to_numpy(float),
        ),
        index=before.index,
    ).reindex(now.index, fill_value=1.0)  # customers who had not bought yet
    rep = x > 0
    gg = lf.GammaGammaFitter().fit(x[rep], m[rep])
    mbg.predict = mbg.conditional_expected_number_of_purchases_up_to_time
    clv = pd.Series(
        gg.customer_lifetime_value(
            mbg,
            *(now[c] for c in ("frequency", "recency", "T", "monetary_value")),
            time=6,
            discount_rate=0.02,
            freq="W",
        ).to_numpy(),
        index=now.index,
    )
    ours = res.to_frame().set_index("customer_id").loc[now.index]
    np.testing.assert_allclose(ours["p_alive"], p_now, rtol=1e-5)
    np.testing.assert_allclose(ours["p_alive_before"], p_before, rtol=1e-5)
    np.testing.assert_allclose(ours["clv"], clv, rtol=1e-4)
    # value if alive = CLV / P(alive); value at risk = fall in P(alive) times it
    np.testing.assert_allclose(ours["value_if_alive"], clv / p_now, rtol=1e-4)
    expected_risk = np.maximum(p_before - p_now, 0) * clv / p_now
    np.testing.assert_allclose(ours["value_at_risk"], expected_risk, rtol=1e-4, atol=1e-9)
    assert res.table["value_at_risk"].is_monotonic_decreasing
    assert list(res.table["rank"]) == list(range(1, len(now) + 1))
