"""Lifetime value of a store's customers: fit the purchase and spend models on the orders, predict, check.

The engine turns ``orders`` (in the shop's reporting currency, see :mod:`cxlab.currency`) into one
(frequency, recency, T, monetary value) row per customer; the models are fitted on the distinct histories;
every customer gets P(alive), expected purchases and CLV. Customers whose first purchase is at the end of
calibration (T = 0) carry no information for the purchase model: they are left out of its fit and predicted
as new customers. With a holdout, a second fit on the history before it is checked against the purchases
made in it.

The default purchase model is MBG/NBD (for ``clv`` and ``churn`` alike): unlike BG/NBD it lets a customer
with a single order be gone already, so one-off buyers from long ago do not keep P(alive) = 1, which is what
real shops, with many one-off buyers, need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.currency import shop_orders
from cxlab.customers.fitting import ConvergenceError
from cxlab.customers.gammagamma import GammaGamma
from cxlab.customers.holdout import HoldoutCheck, holdout_check
from cxlab.customers.summary import UNIT_SECONDS, Cutoff, PurchaseSummary, last_order_time, purchase_summary
from cxlab.customers.value import (
    DEFAULT_MODEL,
    UNITS_PER_MONTH,
    PurchaseModel,
    customer_lifetime_value,
    discounted_purchases,
    make_model,
)
from cxlab.display import count, interval, missing, money, number, pct
from cxlab.errors import MissingData, require_rows

MIN_REPEAT_BUYERS = 10
"""Repeat buyers with a positive spend needed to fit the Gamma-Gamma spend model."""
ALIVE_FLAT = 0.99
"""P(alive) at or above this for every customer means the fit sees no drop-out: flagged as degenerate."""
UNRELIABLE = (
    "Warning: the model could not be fitted reliably on these orders, so treat these figures with care "
    "(the method details say why)."
)
"""What a summary says, in plain words, when the fit is degenerate (the reason goes to the details)."""


@dataclass(frozen=True)
class Settings:
    """How the lifetime value was computed."""

    model: str = DEFAULT_MODEL
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
    currency: str = ""
    notes: list[str] = field(default_factory=list)
    """Currency notes (conversions, orders left out) to show with the money figures."""

    def to_frame(self) -> pd.DataFrame:
        """Customers, highest CLV first."""
        return self.customers.copy()

    @property
    def new_customers(self) -> int:
        """Customers whose first purchase is at the calibration end (T = 0), predicted as new."""
        return self.purchases.n_new_

    @property
    def degenerate_reason(self) -> str | None:
        """Why the purchase model's fit cannot be trusted, or None."""
        reason = fit_warning(self.purchases, self.customers["p_alive"])
        if self.spend is not None and self.spend.degenerate_reason_:
            spend = f"spend model: {self.spend.degenerate_reason_}"
            reason = f"{reason}; {spend}" if reason else spend
        return reason

    @property
    def degenerate(self) -> bool:
        return self.degenerate_reason is not None

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
            "currency": self.currency,
            "notes": list(self.notes),
            "degenerate": self.degenerate,
            "degenerate_reason": self.degenerate_reason,
            "purchases": self.purchases.to_dict(),
            "spend": self.spend.to_dict() if self.spend is not None else None,
            "customers": len(c),
            "new_customers": self.new_customers,
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
        """What the customers are expected to be worth, in plain words; the method is in :meth:`details`."""
        c = self.customers
        months = self.settings.months
        notes = "".join(f" Note: {n}." for n in self.notes)
        text = (
            f"The {count(len(c))} customers who have ordered are expected to place about "
            f"{count(round(c['expected_purchases'].sum()))} more orders in the next {months} months"
        )
        if "clv" in c:
            total = float(c["clv"].sum())
            top = float(c["clv"].head(max(1, len(c) // 10)).sum())  # highest CLV first
            share = (
                f"; the most valuable 10% of them account for {pct(top / total, 0)} of it" if total else ""
            )
            text += f", worth {money(total, self.currency)} in today's money{share}."
        else:
            text += "; too few customers ordered twice to put a money value on them."
        if self.holdout is not None:
            h = self.holdout
            err = h.relative_error
            off = (
                f" (the forecast was {pct(abs(err), 0)} {'too high' if err > 0 else 'too low'})"
                if math.isfinite(err)
                else ""
            )
            text += (
                f" Checked on the past: fitted on the orders up to {h.duration:g} {h.time_unit}s before the "
                f"end, the model expected {count(round(h.predicted_total))} orders in those {h.time_unit}s "
                f"and {count(round(h.actual_total))} were placed{off}."
            )
        if self.degenerate:
            text += f" {UNRELIABLE}"
        return text + notes

    def details(self) -> str:
        """The models, their parameters with intervals, n, the holdout check and any fit warning."""
        c = self.customers
        new = (
            f" {count(self.new_customers)} customers made their first purchase at the calibration end "
            "(T = 0): they carry no information for the purchase model, so they were left out of its fit "
            "and are predicted as new customers."
            if self.new_customers
            else ""
        )
        models: list[PurchaseModel | GammaGamma] = [self.purchases]
        if self.spend is not None:
            models.append(self.spend)
        params = "; ".join(
            f"{m.method}: "
            + ", ".join(
                f"{r.param} {number(r.estimate)} ("
                + (
                    "interval could not be estimated"
                    if missing(r.ci_low) or missing(r.ci_high)
                    else f"95% CI {interval(r.ci_low, r.ci_high, number)}"
                )
                + ")"
                for r in m.to_frame().itertuples()
            )
            for m in models
        )
        check = f" {self.holdout.summary()}" if self.holdout is not None else ""
        warn = f" Warning: {self.degenerate_reason}." if self.degenerate else ""
        return (
            f"{self.method}; fitted on n = {count(self.purchases.n_)} customers with orders up to "
            f"{self.calibration_end} ({self.clock}), {count(len(c))} predicted.{new} Parameters: {params}."
            f"{check}{warn}"
        )

    def figure(self) -> go.Figure:
        """The check on the past when there is one, else how many customers are likely still active."""
        if self.holdout is not None:
            h = self.holdout
            fig = h.figure()
            fig.update_layout(
                title=f"Check on the past: orders per customer in the last {h.duration:g} {h.time_unit}s, "
                "placed vs expected",
                xaxis_title=f"repeat orders before those {h.time_unit}s",
                yaxis_title="orders per customer",
            )
            return fig
        fig = go.Figure(go.Histogram(x=self.customers["p_alive"] * 100, nbinsx=40))
        fig.update_layout(
            title="How likely each customer is still active",
            xaxis_title="chance still active (%)",
            yaxis_title="customers",
            height=340,
        )
        return fig


def fit_warning(model: PurchaseModel, p_alive: pd.Series) -> str | None:
    """The purchase model's degenerate-fit reason, or that P(alive) is about 1 for every customer."""
    if model.degenerate_reason_:
        return model.degenerate_reason_
    if len(p_alive) > 1 and bool((p_alive >= ALIVE_FLAT).all()):
        return (
            f"degenerate fit: P(alive) >= {ALIVE_FLAT} for every customer, the model sees no drop-out; "
            "churn and CLV figures are not reliable — try another --model or a longer history"
        )
    return None


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


def fit_models(frame: pd.DataFrame, model: str) -> tuple[PurchaseModel, GammaGamma | None]:
    """Fit the purchase model on the customers of ``frame`` (``frequency, recency, T`` [``monetary_value``];
    those with T = 0 are left out, see the module docstring) and Gamma-Gamma on the repeat buyers with
    spend, when there are at least :data:`MIN_REPEAT_BUYERS` of them."""
    purchases = make_model(model)
    purchases.fit(frame["frequency"], frame["recency"], frame["T"])
    spend: GammaGamma | None = None
    if "monetary_value" in frame:
        rep = frame[(frame["frequency"] > 0) & (frame["monetary_value"] > 0)]
        if len(rep) >= MIN_REPEAT_BUYERS:
            spend = GammaGamma().fit(rep["frequency"], rep["monetary_value"])
    return purchases, spend


def lifetime_value(
    con: BaseBackend,
    *,
    calibration_end: str | date | datetime | None = None,
    settings: Settings | None = None,
    config: Config | None = None,
) -> LifetimeValue:
    """Fit on the store's ``orders`` up to ``calibration_end`` (default: the last order) and predict.

    Amounts are in the shop's reporting currency (``config``; see :func:`cxlab.currency.shop_orders`).
    With ``settings.holdout > 0`` the model is also fitted on the history up to ``holdout`` time units
    before the end and its predictions for those last units are compared with the purchases made.
    """
    s = settings or Settings()
    require_rows(con, "orders", "Customer lifetime value", ["customer_id"])
    shop = shop_orders(con, config)
    orders = shop.table
    end = calibration_end if calibration_end is not None else last_order_time(orders)
    summary = purchase_summary(orders, end, time_unit=s.time_unit, period=s.time_unit, exact=s.exact)
    if summary.frame.empty:
        raise MissingData(
            f"customer lifetime value needs orders with a customer id up to {summary.calibration_end}"
        )
    purchases, spend = fit_models(summary.frame, s.model)
    check, notes = None, list(shop.notes)
    if s.holdout > 0:
        try:
            check = holdout_for(orders, end, s)
        except (MissingData, ConvergenceError, ValueError) as e:  # the check is extra: CLV stands without it
            notes.append(f"holdout check not run: {e}")
    return LifetimeValue(
        purchases=purchases,
        spend=spend,
        customers=predict_customers(summary, purchases, spend, s),
        calibration_end=summary.calibration_end,
        settings=s,
        holdout=check,
        clock=summary.clock,
        currency=shop.currency,
        notes=notes,
    )


def holdout_for(orders: Any, end: str | date | datetime, s: Settings) -> HoldoutCheck:
    """Fit on the history up to ``s.holdout`` units before ``end`` and check against the rest."""
    split = Cutoff.parse(end).earlier(s.holdout * UNIT_SECONDS[s.time_unit])
    cal = purchase_summary(
        orders, split, observation_end=end, time_unit=s.time_unit, period=s.time_unit, exact=s.exact
    )
    f = cal.frame
    if f.empty:
        raise MissingData(
            f"the holdout check needs customers before the holdout period (split at {split}); "
            "use a shorter --holdout or 0"
        )
    model = make_model(s.model)
    model.fit(f["frequency"], f["recency"], f["T"])
    duration = float(f["duration_holdout"].iloc[0])
    return holdout_check(
        model, f["frequency"], f["recency"], f["T"], f["frequency_holdout"], duration, time_unit=s.time_unit
    )
