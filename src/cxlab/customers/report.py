"""The customers part of the HTML report: RFM segments, lifetime value with its holdout check, personas and
churn risk. ``section(store)`` is the one section the report registers; ``SECTIONS`` has them one by one."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cxlab.customers.churn import churn_risk
from cxlab.customers.lifetime import lifetime_value
from cxlab.customers.personas import personas
from cxlab.customers.rfm import rfm_segments
from cxlab.report.section import Section
from cxlab.store import Store


def _pct(x: float) -> str:
    return "–" if pd.isna(x) else f"{100 * x:.1f}%"


def _money(x: float, currency: str) -> str:
    return "–" if pd.isna(x) else f"{currency} {x:,.0f}"


def rfm_section(store: Store) -> Section:
    res = rfm_segments(store.ibis())
    t = res.to_frame()
    cur = store.config.shop.currency
    shown = pd.DataFrame(
        {
            "segment": t["segment"],
            "customers": t["customers"].map("{:,}".format),
            "% of customers": t["share"].map(_pct),
            "% of revenue": t["revenue_share"].map(_pct),
            "days since last order": t["recency_days"].map(lambda x: "–" if pd.isna(x) else f"{x:,.0f}"),
            "orders": t["frequency"].map(lambda x: "–" if pd.isna(x) else f"{x:.1f}"),
            "revenue per customer": t["monetary"].map(lambda x: _money(x, cur)),
        }
    )
    return Section("customers-rfm", "RFM segments", res.summary(), [res.figure()], shown)


def clv_section(store: Store) -> Section:
    res = lifetime_value(store.ibis())
    rows = [res.purchases.to_frame().assign(model=res.purchases.method)]
    if res.spend is not None:
        rows.append(res.spend.to_frame().assign(model=res.spend.method))
    t = pd.concat(rows, ignore_index=True)
    shown = pd.DataFrame(
        {
            "model": t["model"],
            "parameter": t["param"],
            "estimate": t["estimate"].map("{:.4g}".format),
            "standard error": t["se"].map("{:.2g}".format),
            "95% CI": [f"{lo:.4g} – {hi:.4g}" for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
        }
    )
    return Section("customers-clv", "Customer lifetime value", res.summary(), [res.figure()], shown)


def personas_section(store: Store) -> Section:
    res = personas(store.ibis())
    t = res.to_frame()
    shown = pd.DataFrame(
        {
            "persona": [f"{p}. {n}" for p, n in zip(t["persona"], t["name"], strict=True)],
            "customers": t["customers"].map("{:,}".format),
            "% of revenue": t["revenue_share"].map(_pct),
            "channels": t["channels"],
            "touchpoints": t["touchpoints"],
            "typical journey": t["journey"],
            "top pains": t["pains"],
        }
    )
    return Section("customers-personas", "Personas", res.summary(), [res.figure()], shown)


def churn_section(store: Store) -> Section:
    res = churn_risk(store.ibis())
    t = res.top(15)
    cur = store.config.shop.currency
    shown = pd.DataFrame(
        {
            "rank": t["rank"],
            "customer": t["customer_id"],
            "orders": t["orders"],
            "P(alive)": t["p_alive"].map("{:.2f}".format),
            "change": t["p_alive_change"].map("{:+.2f}".format),
            "value if active": t["value_if_alive"].map(lambda x: _money(x, cur)),
            "value at risk": t["value_at_risk"].map(lambda x: _money(x, cur)),
        }
    )
    return Section("customers-churn", "Churn risk", res.summary(), [res.figure()], shown)


SECTIONS: list[Callable[[Store], Section]] = [rfm_section, clv_section, personas_section, churn_section]


def section(store: Store) -> Section:
    """One report section for customers: every summary, every figure, and the persona cards as the table."""
    parts = [make(store) for make in SECTIONS]
    personas_part = parts[2]
    return Section(
        "customers",
        "Customers: segments, lifetime value, personas and churn risk",
        " ".join(p.summary for p in parts),
        [f for p in parts for f in p.figures],
        personas_part.table,
    )
