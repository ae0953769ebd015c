"""The customers' sections of the report, one analysis each: RFM segments, lifetime value with its holdout
check, personas and churn risk. A section that can't run on the store raises :class:`cxlab.errors.MissingData`
(no orders with a customer); money is in the shop's reporting currency, with its notes in the summary."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cxlab.customers.churn import ChurnRisk, churn_risk
from cxlab.customers.lifetime import lifetime_value
from cxlab.customers.personas import personas
from cxlab.customers.rfm import rfm_segments
from cxlab.display import DASH, count, interval, money, number, pct
from cxlab.report.section import Section
from cxlab.store import Store


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
            "days since last order": t["recency_days"].map(lambda x: number(x, 3)),
            "orders": t["frequency"].map(lambda x: number(x, 2)),
            "revenue per customer": t["monetary"].map(lambda x: money(x, res.currency)),
        }
    )
    return Section("customers-rfm", "RFM segments", res.summary(), [res.figure()], shown)


def clv_section(store: Store) -> Section:
    """The purchase and spend models' parameters, the holdout check and the lifetime value."""
    res = lifetime_value(store.ibis(), config=store.config)
    rows = [res.purchases.to_frame().assign(model=res.purchases.method)]
    if res.spend is not None:
        rows.append(res.spend.to_frame().assign(model=res.spend.method))
    t = pd.concat(rows, ignore_index=True)
    shown = pd.DataFrame(
        {
            "model": t["model"],
            "parameter": t["param"],
            "estimate": t["estimate"].map(number),
            "standard error": t["se"].map(lambda x: number(x, 2)),
            "95% CI": [interval(lo, hi, number) for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
        }
    )
    return Section("customers-clv", "Customer lifetime value", res.summary(), [res.figure()], shown)


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
            "channels": t["channels"],
            "touchpoints": t["touchpoints"],
            "typical journey": t["journey"],
            "top pains": t["pains"],
        }
    )
    return Section("customers-personas", "Personas", res.summary(), [res.figure()], shown)


def shop_churn(store: Store) -> ChurnRisk:
    """The store's churn risk, computed once per open store (the report section and "what to do next" share
    it)."""
    return store.memo("churn", lambda: churn_risk(store.ibis(), config=store.config))


def churn_section(store: Store) -> Section:
    """The customers with the most value at risk."""
    res = shop_churn(store)
    t = res.top(15)
    shown = pd.DataFrame(
        {
            "rank": t["rank"],
            "customer": t["customer_id"],
            "orders": t["orders"].map(count),
            "P(alive)": t["p_alive"].map(lambda x: number(x, 2)),
            "change": t["p_alive_change"].map(lambda x: DASH if pd.isna(x) else f"{x:+.2f}"),
            "value if active": t["value_if_alive"].map(lambda x: money(x, res.currency)),
            "value at risk": t["value_at_risk"].map(lambda x: money(x, res.currency)),
        }
    )
    return Section("customers-churn", "Churn risk", res.summary(), [res.figure()], shown)


SECTIONS: list[Callable[[Store], Section]] = [rfm_section, clv_section, personas_section, churn_section]
