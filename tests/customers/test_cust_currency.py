"""Money in RFM, CLV, churn and personas is in the shop's reporting currency (issue 12, point 12): orders in
GBP in a EUR shop are converted with ``[shop.rates]`` or left out, and the summaries say so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlab.config import Config, default_toml
from cxlab.customers import Settings, churn_risk, lifetime_value, personas, rfm_segments
from cxlab.store import Store

RATE = 1.2


def _config(rates: bool) -> Config:
    text = default_toml()
    return Config.parse_toml(
        text.replace("[journey]", f"[shop.rates]\nGBP = {RATE}\n\n[journey]", 1) if rates else text
    )


def _orders(n: int = 120) -> pd.DataFrame:
    """Customers C0..C{n-1} with heterogeneous purchase rates; odd customers pay in GBP."""
    rng = np.random.default_rng(11)
    rows = []
    for c in range(n):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
        gap, life = rng.gamma(1.5, 20), day + pd.Timedelta(days=int(rng.exponential(200)))
        while day <= min(life, pd.Timestamp("2024-12-31")):
            rows.append((f"C{c}", day, round(float(rng.gamma(4, 10)), 2), "GBP" if c % 2 else "EUR"))
            day += pd.Timedelta(days=int(rng.exponential(gap)) + 1)
    df = pd.DataFrame(rows, columns=["customer_id", "ts", "revenue", "currency"])
    return df.assign(order_id=[f"o{i}" for i in range(len(df))])


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return _orders()


def _store(tmp_path: Path, orders: pd.DataFrame, rates: bool) -> Store:
    s = Store(tmp_path / f"shop{int(rates)}.duckdb", config=_config(rates))
    s.con.register("frame", orders)
    s.con.execute("INSERT INTO orders BY NAME SELECT * FROM frame")
    return s


def test_rfm_revenue_is_converted_or_left_out(tmp_path: Path, orders: pd.DataFrame) -> None:
    eur = orders[orders["currency"] == "EUR"]["revenue"].sum()
    gbp = orders[orders["currency"] == "GBP"]["revenue"].sum()
    with _store(tmp_path, orders, rates=True) as s:
        res = rfm_segments(s.ibis(), config=s.config)
        assert res.currency == "EUR" and res.customers == orders["customer_id"].nunique()
        assert res.table["revenue"].sum() == pytest.approx(eur + RATE * gbp)
        assert "converted at 1 GBP = 1.2 EUR" in res.summary()
    with _store(tmp_path, orders, rates=False) as s:
        res = rfm_segments(s.ibis(), config=s.config)
        assert res.customers == orders.loc[orders["currency"] == "EUR", "customer_id"].nunique()
        assert res.table["revenue"].sum() == pytest.approx(eur)
        assert "left out, no exchange rate to EUR" in res.summary()
        assert res.to_dict()["notes"] == res.notes and res.notes


def test_clv_and_churn_amounts_are_in_the_reporting_currency(tmp_path: Path, orders: pd.DataFrame) -> None:
    settings = Settings(model="bgnbd", holdout=0)
    with _store(tmp_path, orders, rates=True) as s:
        res = lifetime_value(s.ibis(), settings=settings, config=s.config)
        assert res.currency == "EUR" and len(res.customers) == orders["customer_id"].nunique()
        assert "worth EUR " in res.summary() and "converted at 1 GBP" in res.summary()
        assert res.to_dict()["currency"] == "EUR"
        # a GBP customer's mean repeat spend is their GBP spend times the rate
        gbp = orders[orders["currency"] == "GBP"]
        per_day = gbp.groupby(["customer_id", "ts"])["revenue"].sum()
        cid = per_day.groupby(level=0).size().idxmax()
        row = res.customers.set_index("customer_id").loc[cid]
        assert row["frequency"] == len(per_day[cid]) - 1 > 0
        assert row["monetary_value"] == pytest.approx(RATE * per_day[cid].iloc[1:].mean())
        churn = churn_risk(s.ibis(), config=s.config)
        assert churn.currency == "EUR" and churn.summary().startswith("EUR ")
    with _store(tmp_path, orders, rates=False) as s:
        res = lifetime_value(s.ibis(), settings=settings, config=s.config)
        assert set(res.customers["customer_id"]) == set(
            orders.loc[orders["currency"] == "EUR", "customer_id"]
        )
        assert "left out" in res.summary()


def test_personas_order_value_is_converted(tmp_path: Path, orders: pd.DataFrame) -> None:
    with _store(tmp_path, orders, rates=True) as s:
        res = personas(s.ibis(), k=3, config=s.config)
    converted = np.where(orders["currency"] == "GBP", RATE, 1.0) * orders["revenue"]
    per_customer = converted.groupby(orders["customer_id"]).mean()
    assert res.currency == "EUR" and "EUR " in res.summary()
    weighted = sum(c.mean_order_value * c.customers for c in res.cards) / res.customers
    assert weighted == pytest.approx(per_customer.mean())
