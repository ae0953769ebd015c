"""Lifetime value of a store's customers: fit the purchase and spend models on the orders, predict, check.

The engine turns ``orders`` into one (frequency, recency, T, monetary value) row per customer; the models
are fitted on the distinct histories; every customer gets P(alive), expected purchases and CLV. With a
holdout, a second fit on the history before it is checked against the purchases made in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.customers.gammagamma import GammaGamma
from cxlab.customers.holdout import HoldoutCheck, holdout_check
from cxlab.customers.summary import UNIT_SECONDS, Cutoff, PurchaseSummary, last_order_time, purchase_summary
from cxlab.customers.value import (
    UNITS_PER_MONTH,
    PurchaseModel,
    customer_lifetime_value,
    discounted_purchases,
    make_model,
)


@dataclass(frozen=True)
class Settings:
    """How the lifetime value was computed."""

    model: str = "bgnbd"
    months: int = 12
    discount_rate: float = 0.01
    time_unit: str = "week"
    exact: bool = True
    holdout: float = 26.0
    """Holdout length in ``time_unit`` (0: no holdout check)."""


@dataclass(frozen=True)
class LifetimeValue:
    """Fitted models, one row of predictions per customer, and the holdout check."""

    purchases: PurchaseModel
    spend: GammaGamma | None
    customers: pd.DataFrame
    calibration_end: str
    settings: Settings
    holdout: HoldoutCheck | None = None
    clock: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Customers, highest CLV first."""
        return self.customers.copy()

    def to_dict(self, top: int = 20) -> dict[str, Any]:
        c = self.customers
        s = self.settings
        return {
            "method": self.method,
            "calibration_end": self.calibration_end,
            "time_unit": s.time_unit,
            "clock": self.clock,
            "months": s.months,
            "discount_rate": s.discount_rate,
            "purchases": self.purchases.to_dict(),
            "spend": self.spend.to_dict() if self.spend is not None else None,
            "customers": len(c),
            "expected_purchases_total": float(c["expected_purchases"].sum()),
            "clv_total": float(c["clv"].sum()) if "clv" in c else None,
            "holdout": self.holdout.to_dict() if self.holdout is not None else None,
            "top": c.head(top).to_dict(orient="records"),
        }

    @property
    def method(self) -> str:
        spend = f" and {self.spend.method}" if self.spend is not None else ""
        s = self.settings
        return (
            f"{self.purchases.method}{spend}; CLV = discounted expected spend over {s.months} months at "
            f"{s.discount_rate:.1%} a month"
        )

    def summary(self) -> str:
        c = self.customers
        total = f"; total CLV {c['clv'].sum():,.0f}" if "clv" in c else ""
        check = f" {self.holdout.summary()}" if self.holdout is not None else ""
        return (
            f"{self.method}; fitted on {len(c):,} customers up to {self.calibration_end} ({self.clock}); "
            f"{c['expected_purchases'].sum():,.0f} purchases expected in the next {self.settings.months} months"
            f"{total}.{check}"
        )

    def figure(self) -> go.Figure:
        """The holdout check when there is one, else the distribution of P(alive)."""
        if self.holdout is not None:
            return self.holdout.figure()
        fig = go.Figure(go.Histogram(x=self.customers["p_alive"], nbinsx=40))
        fig.update_layout(
            title="Probability alive", xaxis_title="P(alive)", yaxis_title="customers", height=340
        )
        return fig


def _end(con: BaseBackend, calibration_end: str | date | datetime | None) -> str | date | datetime:
    return calibration_end if calibration_end is not None else last_order_time(con.table("orders"))


def predict_customers(
    summary: PurchaseSummary, model: PurchaseModel, spend: GammaGamma | None, settings: Settings
) -> pd.DataFrame:
    """Per customer: P(alive), expected purchases in the horizon, expected spend and CLV (highest first)."""
    f = summary.frame
    x, t, tt = f["frequency"].to_numpy(float), f["recency"].to_numpy(float), f["T"].to_numpy(float)
    horizon = settings.months * UNITS_PER_MONTH[settings.time_unit]
    out = pd.DataFrame(
        {
            "customer_id": f["customer_id"],
            "frequency": f["frequency"],
            "recency": t,
            "T": tt,
            "p_alive": model.probability_alive(x, t, tt),
            "expected_purchases": model.expected_purchases(horizon, x, t, tt),
        }
    )
    if spend is not None and "monetary_value" in f:
        m = f["monetary_value"].to_numpy(float)
        out["monetary_value"] = m
        out["expected_spend"] = spend.expected_spend(x, np.where(x > 0, m, 0.0))
        out["clv"] = customer_lifetime_value(
            model,
            spend,
            x,
            t,
            tt,
            m,
            months=settings.months,
            discount_rate=settings.discount_rate,
            time_unit=settings.time_unit,
        )
        out["clv_if_alive"] = out["expected_spend"] * discounted_purchases(
            model,
            x,
            t,
            tt,
            months=settings.months,
            discount_rate=settings.discount_rate,
            time_unit=settings.time_unit,
            if_alive=True,
        )
        return out.sort_values(["clv", "customer_id"], ascending=[False, True], ignore_index=True)
    return out.sort_values(["expected_purchases", "customer_id"], ascending=[False, True], ignore_index=True)


def fit_models(summary: PurchaseSummary, model: str) -> tuple[PurchaseModel, GammaGamma | None]:
    """Fit the purchase model on every customer and Gamma-Gamma on the repeat buyers with spend."""
    f = summary.frame
    purchases = make_model(model)
    purchases.fit(f["frequency"], f["recency"], f["T"])
    spend: GammaGamma | None = None
    if "monetary_value" in f:
        rep = f[(f["frequency"] > 0) & (f["monetary_value"] > 0)]
        if len(rep) >= 10:
            spend = GammaGamma().fit(rep["frequency"], rep["monetary_value"])
    return purchases, spend


def lifetime_value(
    con: BaseBackend,
    *,
    calibration_end: str | date | datetime | None = None,
    settings: Settings | None = None,
) -> LifetimeValue:
    """Fit on the store's ``orders`` up to ``calibration_end`` (default: the last order) and predict.

    With ``settings.holdout > 0`` the model is also fitted on the history up to ``holdout`` time units
    before the end and its predictions for those last units are compared with the purchases made.
    """
    s = settings or Settings()
    orders = con.table("orders")
    end = _end(con, calibration_end)
    summary = purchase_summary(orders, end, time_unit=s.time_unit, period=s.time_unit, exact=s.exact)
    if summary.frame.empty:
        raise ValueError("no orders with a customer id before the calibration end")
    purchases, spend = fit_models(summary, s.model)
    check = None
    if s.holdout > 0:
        check = holdout_for(orders, end, s)
    return LifetimeValue(
        purchases=purchases,
        spend=spend,
        customers=predict_customers(summary, purchases, spend, s),
        calibration_end=summary.calibration_end,
        settings=s,
        holdout=check,
        clock=summary.clock,
    )


def holdout_for(orders: Any, end: str | date | datetime, s: Settings) -> HoldoutCheck:
    """Fit on the history up to ``s.holdout`` units before ``end`` and check against the rest."""
    cut = Cutoff.parse(end)
    split = cut.limit - timedelta(seconds=s.holdout * UNIT_SECONDS[s.time_unit])
    cal = purchase_summary(
        orders, split, observation_end=end, time_unit=s.time_unit, period=s.time_unit, exact=s.exact
    )
    f = cal.frame
    if f.empty:
        raise ValueError(f"no customers before the holdout period (split at {split:%Y-%m-%d %H:%M})")
    model = make_model(s.model)
    model.fit(f["frequency"], f["recency"], f["T"])
    duration = float(f["duration_holdout"].iloc[0])
    return holdout_check(
        model, f["frequency"], f["recency"], f["T"], f["frequency_holdout"], duration, time_unit=s.time_unit
    )
