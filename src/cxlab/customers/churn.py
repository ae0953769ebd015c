"""Churn risk: customers ranked by the value at risk of losing them.

For each customer, from a purchase model fitted on the store's orders (in the shop's reporting currency;
MBG/NBD by default, as for lifetime value) and Gamma-Gamma spend:

* ``p_alive`` now, and ``p_alive_before`` from their history ``lookback`` time units earlier (same
  fitted parameters; 1 for customers whose first order came later), so ``p_alive_change`` shows who is
  slipping;
* ``value_if_alive``: discounted expected spend over the horizon if they are still active;
* ``value_at_risk = max(p_alive_before − p_alive, 0) · value_if_alive``: the expected value lost to the
  fall in P(alive) over the lookback — high for valuable customers who are slipping now, low for those
  long gone (nothing left to save) and for those still buying. ``clv`` is the expected value as things
  stand.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.currency import shop_orders
from cxlab.customers.lifetime import (
    MIN_REPEAT_BUYERS,
    UNRELIABLE,
    Settings,
    fit_models,
    fit_warning,
    predict_customers,
)
from cxlab.customers.summary import UNIT_SECONDS, Cutoff, last_order_time, purchase_summary
from cxlab.display import count, money, pct
from cxlab.errors import MissingData, require_rows


@dataclass(frozen=True)
class ChurnRisk:
    """Customers ranked by value at risk (highest first)."""

    table: pd.DataFrame
    as_of: str
    lookback: float
    settings: Settings
    method: str
    currency: str = ""
    notes: list[str] = field(default_factory=list)
    """Currency notes (conversions, orders left out) to show with the money figures."""
    new_customers: int = 0
    """Customers whose first order is on the churn date (T = 0): left out of the fit, predicted as new."""
    degenerate_reason: str | None = None
    """Why the purchase model's fit cannot be trusted (then the ranking is not reliable), or None."""

    @property
    def degenerate(self) -> bool:
        return self.degenerate_reason is not None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def top(self, n: int = 20) -> pd.DataFrame:
        return self.table.head(n).copy()

    def to_dict(self, top: int = 100) -> dict[str, Any]:
        t = self.table
        return {
            "method": self.method,
            "as_of": self.as_of,
            "lookback": self.lookback,
            "time_unit": self.settings.time_unit,
            "months": self.settings.months,
            "customers": len(t),
            "new_customers": self.new_customers,
            "currency": self.currency,
            "notes": list(self.notes),
            "degenerate": self.degenerate,
            "degenerate_reason": self.degenerate_reason,
            "value_at_risk_total": float(t["value_at_risk"].sum()),
            "top": t.head(top).to_dict(orient="records"),
        }

    def summary(self) -> str:
        """How much is at risk and who holds it, in plain words; the method is in :meth:`details`."""
        t = self.table
        total = float(t["value_at_risk"].sum())
        months = self.settings.months
        notes = "".join(f" Note: {n}." for n in self.notes)
        warn = f" {UNRELIABLE}" if self.degenerate else ""
        if not total:
            return (
                f"No customer became less likely to buy again over the last {self.lookback:g} "
                f"{self.settings.time_unit}s: nothing is at risk.{warn}{notes}"
            )
        n_top = max(1, len(t) // 10)
        top = float(t["value_at_risk"].head(n_top).sum())
        return (
            f"{money(total, self.currency)} of what customers are expected to spend in the next {months} "
            "months is at risk because they are buying less often than they used to. The "
            f"{count(n_top)} customers most at risk hold {pct(top / total, 0)} of it: they are the ones worth "
            f"a win-back.{warn}{notes}"
        )

    def details(self) -> str:
        """The models, the definition of value at risk, the date, n and any fit warning."""
        new = (
            f" {count(self.new_customers)} customers placed their first order on that day (T = 0): left out "
            "of the model's fit, predicted as new customers."
            if self.new_customers
            else ""
        )
        warn = f" Warning: {self.degenerate_reason}." if self.degenerate else ""
        return (
            f"{self.method}; on {self.as_of}; n = {count(len(self.table))} customers; 'chance still active' "
            f"is the model's P(alive).{new}{warn}"
        )

    def figure(self, n: int = 500) -> go.Figure:
        t = self.table.head(n)
        fig = go.Figure(
            go.Scatter(
                x=t["p_alive"] * 100,
                y=t["value_if_alive"],
                mode="markers",
                marker={
                    "size": 6,
                    "color": t["value_at_risk"],
                    "colorscale": "Reds",
                    "showscale": True,
                    "colorbar": {"title": {"text": f"value at risk ({html.escape(self.currency)})"}},
                },
                text=[html.escape(str(c)) for c in t["customer_id"]],  # Plotly renders hover text as HTML
                hovertemplate="%{text}<br>chance still active %{x:.0f}%<br>worth %{y:,.0f} "
                + html.escape(self.currency)
                + " if still active<extra></extra>",
            )
        )
        fig.update_layout(
            title=f"The {count(len(t))} customers with the most value at risk",
            xaxis_title="chance still active (%)",
            yaxis_title=f"value if still active ({self.currency})",
            height=420,
        )
        return fig


def churn_risk(
    con: BaseBackend,
    *,
    as_of: str | date | datetime | None = None,
    lookback: float = 13.0,
    settings: Settings | None = None,
    config: Config | None = None,
) -> ChurnRisk:
    """Rank the store's customers by value at risk on ``as_of`` (default: the last order); amounts in the
    shop's reporting currency (``config``)."""
    s = settings or Settings(holdout=0)
    require_rows(con, "orders", "Churn risk", ["customer_id"])
    shop = shop_orders(con, config)
    orders = shop.table
    end = as_of if as_of is not None else last_order_time(orders)
    now = purchase_summary(orders, end, time_unit=s.time_unit, period=s.time_unit, exact=s.exact)
    if now.frame.empty:
        raise MissingData(f"churn risk needs orders with a customer id up to {now.calibration_end}")
    model, spend = fit_models(now.frame, s.model)
    if spend is None:
        raise MissingData(
            f"churn risk needs order values and at least {MIN_REPEAT_BUYERS} repeat buyers to model spend"
        )
    pred = predict_customers(now, model, spend, s)
    before_end = Cutoff.parse(end).earlier(lookback * UNIT_SECONDS[s.time_unit])
    before = purchase_summary(
        orders, before_end, time_unit=s.time_unit, period=s.time_unit, exact=s.exact, value_col=None
    ).frame
    p_before = pd.Series(
        model.probability_alive(before["frequency"], before["recency"], before["T"]),
        index=before["customer_id"].to_numpy(),
    )
    t = pred.copy()
    t["orders"] = t["frequency"] + 1
    t["weeks_since_last_order" if s.time_unit == "week" else "days_since_last_order"] = t["T"] - t["recency"]
    t["p_alive_before"] = t["customer_id"].map(p_before).astype(float).fillna(1.0)
    t["p_alive_change"] = t["p_alive"] - t["p_alive_before"]
    t["value_if_alive"] = t["clv_if_alive"]
    t["value_at_risk"] = np.maximum(-t["p_alive_change"], 0.0) * t["value_if_alive"]
    t = t.sort_values(["value_at_risk", "customer_id"], ascending=[False, True], ignore_index=True)
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    since = "weeks_since_last_order" if s.time_unit == "week" else "days_since_last_order"
    cols = [
        "rank",
        "customer_id",
        "orders",
        since,
        "p_alive",
        "p_alive_before",
        "p_alive_change",
        "expected_spend",
        "value_if_alive",
        "clv",
        "value_at_risk",
    ]
    method = (
        f"{model.method} and {spend.method}; value at risk = fall in P(alive) over the last {lookback:g} "
        f"{s.time_unit}s × discounted expected spend over {s.months} months if active"
    )
    return ChurnRisk(
        t[cols],
        now.calibration_end,
        lookback,
        s,
        method,
        currency=shop.currency,
        notes=shop.notes,
        new_customers=model.n_new_,
        degenerate_reason=fit_warning(model, t["p_alive"]),
    )
