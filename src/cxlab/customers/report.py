"""The customers' sections of the report, one analysis each: RFM segments, lifetime value with its holdout
check, personas and churn risk. A section that can't run on the store raises :class:`cxlab.errors.MissingData`
(no orders with a customer); money is in the shop's reporting currency, with its notes in the summary.

Each section says what was found in plain words (``summary``) and keeps the method, fit quality and n in
``details``; column headers are words ("chance still active", not P(alive))."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from cxlab.customers.churn import ChurnRisk, churn_risk
from cxlab.customers.lifetime import LifetimeValue, lifetime_value
from cxlab.customers.personas import personas
from cxlab.customers.rfm import rfm_segments
from cxlab.display import count, money, number, pct, points
from cxlab.report.section import Section, titled
from cxlab.store import Store

VALUE_GROUPS = ((0, 10, "most valuable 10%"), (10, 50, "next 40%"), (50, 100, "other 50%"))
"""Customers by expected value, highest first: (from, to) in percent of the customers, and a name."""


@titled("Customer segments")
def rfm_section(store: Store) -> Section:
    """Customers and revenue per RFM segment."""
    res = rfm_segments(store.ibis(), config=store.config)
    t = res.to_frame()
    shown = pd.DataFrame(
        {
            "segment": t["segment"],
            "customers": t["customers"].map(count),
            "% of customers": t["share"].map(pct),
            "% of revenue": t["revenue_share"].map(pct),
            "days since last order (average)": t["recency_days"].map(lambda x: number(x, 3)),
            "orders per customer": t["frequency"].map(lambda x: number(x, 2)),
            "revenue per customer": t["monetary"].map(lambda x: money(x, res.currency)),
        }
    )
    return Section(
        "customers-rfm", "Customer segments", res.summary(), [res.figure()], shown, details=res.details()
    )


def value_groups(res: LifetimeValue) -> pd.DataFrame:
    """The customers in :data:`VALUE_GROUPS` by expected value: how many, their expected orders and value
    over the horizon, and their average chance of still being active (what a shop owner can act on, where
    the models' parameters go to the details)."""
    c = res.customers
    key = "clv" if "clv" in c else "expected_purchases"
    c = c.sort_values(key, ascending=False, ignore_index=True)
    n = len(c)
    rows = []
    for lo, hi, name in VALUE_GROUPS:
        part = c.iloc[n * lo // 100 : n * hi // 100]
        if part.empty:
            continue
        value = float(part["clv"].sum()) if "clv" in part else float("nan")
        rows.append(
            {
                "group": name,
                "customers": count(len(part)),
                f"orders expected in {res.settings.months} months": count(
                    round(part["expected_purchases"].sum())
                ),
                "expected value": money(value, res.currency),
                "value per customer": money(value / len(part), res.currency),
                "chance still active (average)": pct(part["p_alive"].mean(), 0),
            }
        )
    return pd.DataFrame(rows)


@titled("Customer lifetime value")
def clv_section(store: Store) -> Section:
    """What the customers are expected to be worth, by value group; the models and their check in details."""
    res = lifetime_value(store.ibis(), config=store.config)
    return Section(
        "customers-clv",
        "Customer lifetime value",
        res.summary(),
        [res.figure()],
        value_groups(res),
        details=res.details(),
    )


@titled("Personas")
def personas_section(store: Store) -> Section:
    """Behavioural personas as cards."""
    res = personas(store.ibis(), config=store.config)
    t = res.to_frame()
    shown = pd.DataFrame(
        {
            "persona": [f"{p}. {n}" for p, n in zip(t["persona"], t["name"], strict=True)],
            "customers": t["customers"].map(count),
            "% of revenue": t["revenue_share"].map(pct),
            "order value": t["mean_order_value"].map(lambda x: money(x, res.currency)),
            "main channels": t["channels"],
            "typical journey": t["journey"],
            "top pains": t["pains"],
        }
    )
    return Section(
        "customers-personas", "Personas", res.summary(), [res.figure()], shown, details=res.details()
    )


def shop_churn(store: Store) -> ChurnRisk:
    """The store's churn risk, computed once per open store (the report section and "what to do next" share
    it)."""
    return store.memo("churn", lambda: churn_risk(store.ibis(), config=store.config))


@titled("Churn risk")
def churn_section(store: Store) -> Section:
    """The customers with the most value at risk."""
    res = shop_churn(store)
    t = res.top(15)
    unit = res.settings.time_unit
    shown = pd.DataFrame(
        {
            "rank": t["rank"].map(count),
            "customer": t["customer_id"],
            "orders": t["orders"].map(count),
            "chance still active": t["p_alive"].map(lambda x: pct(x, 0)),
            f"change in {res.lookback:g} {unit}s": t["p_alive_change"].map(lambda x: points(x, 0)),
            "worth if still active": t["value_if_alive"].map(lambda x: money(x, res.currency)),
            "value at risk": t["value_at_risk"].map(lambda x: money(x, res.currency)),
        }
    )
    figures = [res.figure()] if np.isfinite(t["value_at_risk"]).any() else []
    return Section("customers-churn", "Churn risk", res.summary(), figures, shown, details=res.details())


SECTIONS: list[Callable[[Store], Section]] = [rfm_section, clv_section, personas_section, churn_section]
