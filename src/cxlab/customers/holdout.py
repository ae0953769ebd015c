"""Calibration/holdout check: purchases a model predicts for a holdout period against those made.

Customers are grouped by their number of repeat purchases in the calibration period (the last group
open-ended); per group the mean actual and mean predicted purchases in the holdout are compared, as in
Fader, Hardie & Lee (2005, fig. 4) and ``lifetimes``' ``plot_calibration_purchases_vs_holdout_purchases``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from cxlab.customers.fitting import as_float
from cxlab.display import pct

if TYPE_CHECKING:
    from cxlab.customers.value import PurchaseModel


@dataclass(frozen=True)
class HoldoutCheck:
    """Mean actual vs predicted holdout purchases per calibration-frequency group."""

    table: pd.DataFrame
    duration: float
    time_unit: str
    customers: int
    actual_total: float
    predicted_total: float
    method: str

    @property
    def relative_error(self) -> float:
        """(predicted − actual) / actual over all customers."""
        return (
            (self.predicted_total - self.actual_total) / self.actual_total
            if self.actual_total
            else float("nan")
        )

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "duration": self.duration,
            "time_unit": self.time_unit,
            "customers": self.customers,
            "actual_total": self.actual_total,
            "predicted_total": self.predicted_total,
            "relative_error": self.relative_error,
            "groups": self.table.to_dict(orient="records"),
        }

    def summary(self) -> str:
        return (
            f"Holdout check of {self.method}: {self.duration:g} {self.time_unit}s after calibration, "
            f"n = {self.customers:,} customers; predicted {self.predicted_total:,.0f} purchases, actual "
            f"{self.actual_total:,.0f} ({pct(self.relative_error, signed=True)})."
        )

    def figure(self) -> go.Figure:
        t = self.table
        fig = go.Figure(
            [
                go.Scatter(x=t["calibration_purchases"], y=t["actual"], mode="lines+markers", name="actual"),
                go.Scatter(
                    x=t["calibration_purchases"],
                    y=t["predicted"],
                    mode="lines+markers",
                    name="predicted",
                    line={"dash": "dash"},
                ),
            ]
        )
        fig.update_layout(
            title=f"Purchases in the {self.duration:g}-{self.time_unit} holdout: actual vs predicted",
            xaxis_title="repeat purchases in calibration",
            yaxis_title="mean purchases in holdout per customer",
            height=380,
            margin={"l": 60, "r": 30, "t": 50, "b": 50},
        )
        return fig


def holdout_check(
    model: PurchaseModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    frequency_holdout: ArrayLike,
    duration: float,
    *,
    time_unit: str = "week",
    max_frequency: int = 7,
) -> HoldoutCheck:
    """Compare ``model`` (fitted on the calibration histories) with the holdout purchases."""
    x = as_float(frequency, "frequency")
    actual = as_float(frequency_holdout, "frequency_holdout")
    if duration <= 0:
        raise ValueError("the holdout period must be longer than zero")
    predicted = model.expected_purchases(duration, x, recency, T)
    group = np.minimum(x, max_frequency).astype(int)
    n = np.bincount(group, minlength=max_frequency + 1)
    sum_a = np.bincount(group, weights=actual, minlength=max_frequency + 1)
    sum_p = np.bincount(group, weights=predicted, minlength=max_frequency + 1)
    keep = n > 0
    labels = [str(i) if i < max_frequency else f"{max_frequency}+" for i in range(max_frequency + 1)]
    table = pd.DataFrame(
        {
            "calibration_purchases": np.array(labels)[keep],
            "customers": n[keep],
            "actual": sum_a[keep] / n[keep],
            "predicted": sum_p[keep] / n[keep],
        }
    )
    return HoldoutCheck(
        table=table,
        duration=float(duration),
        time_unit=time_unit,
        customers=int(x.size),
        actual_total=float(actual.sum()),
        predicted_total=float(predicted.sum()),
        method=model.method,
    )
