"""Retention: cohorts by first-purchase week or month, optionally per acquisition channel; repeat curves.

From the ``orders`` table (orders with a customer). A customer belongs to the cohort of the period of their
first order; they are *retained in period k* when they ordered in the k-th period after it (k = 0 is the
first period, 100% by definition). Periods after the last order in the store aren't shown (the last one
shown may be partial) rather than counted as churn. The repeat-purchase curve is the share
of customers with a second order within d days of their first, among those observed for at least d days.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.display import count, day, month, pct
from cxlab.errors import require_rows
from cxlab.journey.data import journey_events, person_attribute
from cxlab.stats.proportions import wilson_interval

Period = Literal["week", "month"]
CURVE_DAYS = (7, 14, 30, 60, 90, 180, 365)


@dataclass(frozen=True)
class Retention:
    """``cohorts``: cohort × period offset (customers, retained share); ``curve``: repeat-purchase curve."""

    cohorts: pd.DataFrame
    curve: pd.DataFrame
    period: Period
    by: str | None
    customers: int
    level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return self.cohorts.copy()

    def matrix(self, group: str | None = None) -> pd.DataFrame:
        """Cohorts as rows, period offsets as columns, retained share as values."""
        c = self.cohorts if group is None else self.cohorts[self.cohorts["group"] == group]
        return c.pivot_table(index="cohort", columns="offset", values="retention", aggfunc="first")

    def to_dict(self) -> dict[str, Any]:
        def rec(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {str(k): (None if pd.isna(v) else v) for k, v in r.items()}
                for r in df.to_dict(orient="records")
            ]

        return {
            "method": self.summary(),
            "period": self.period,
            "by": self.by,
            "customers": self.customers,
            "cohorts": rec(self.cohorts.assign(cohort=self.cohorts["cohort"].astype(str))),
            "repeat_curve": rec(self.curve),
        }

    def summary(self) -> str:
        return (
            f"Cohort retention by first-purchase {self.period}"
            f"{' and ' + self.by if self.by else ''}: share of a cohort's customers ordering again k "
            f"{self.period}s later (periods after the data ends not shown); repeat-purchase curve with {self.level:.0%} "
            f"Wilson intervals; n = {self.customers:,} customers."
        )

    def headline(self) -> str:
        """What was found, in plain words: the share of customers who ordered again within a month, three
        months and a year of their first order (of those watched that long)."""
        c = self.curve[self.curve["group"] == self.curve["group"].iloc[0]] if len(self.curve) else self.curve
        c = c[(c["customers"] > 0) & c["days"].isin([30, 90, 365])]
        if c.empty:
            return (
                f"{count(self.customers)} customers; none has been watched long enough to see a second order."
            )
        said = [f"{pct(r, 0)} within {int(d)} days" for d, r in zip(c["days"], c["repeat_rate"], strict=True)]
        return (
            f"Of {count(self.customers)} customers, the share who ordered again after their first order: "
            f"{', '.join(said)} (each among the customers watched at least that long)."
        )

    def figure(self) -> go.Figure:
        groups = self.cohorts["group"].unique()
        m = self.matrix(groups[0] if len(groups) else None)
        later = m.iloc[:, 1:].to_numpy(dtype=float) * 100  # period 0 is 100% by definition: not the scale
        top = float(np.nanmax(later)) if later.size and np.isfinite(later).any() else None
        fig = go.Figure(
            go.Heatmap(
                z=m.to_numpy() * 100,
                x=[str(c) for c in m.columns],
                y=[(month if self.period == "month" else day)(i) for i in m.index],
                zmin=0,
                zmax=top,
                colorscale="Blues",
                colorbar={"title": "% ordering"},
                hovertemplate="first order %{y}, +%{x}: %{z:.1f}% ordered<extra></extra>",
            )
        )
        fig.update_yaxes(autorange="reversed", automargin=True, type="category")
        fig.update_layout(
            title=f"Share of each first-order {self.period}'s customers who ordered again, {self.period} by "
            f"{self.period}",
            xaxis_title=f"{self.period}s since the first order",
            height=200 + 12 * len(m),
        )
        return fig

    def curve_figure(self) -> go.Figure:
        fig = go.Figure()
        for g, c in self.curve.groupby("group"):
            fig.add_trace(
                go.Scatter(
                    x=c["days"], y=c["repeat_rate"] * 100, mode="lines+markers", name=html.escape(str(g))
                )
            )
        fig.update_layout(
            title="Customers who ordered again, by days since their first order",
            xaxis_title="days since the first order",
            yaxis_title="% ordered again",
        )
        return fig


def retention(
    con: BaseBackend,
    config: Config,
    period: Period = "month",
    by: Literal["channel"] | None = None,
    curve_days: tuple[int, ...] = CURVE_DAYS,
    level: float = 0.95,
) -> Retention:
    """Compute :class:`Retention` (``by="channel"``: per acquisition channel, from the events)."""
    if period not in ("week", "month"):
        raise ValueError(f"period must be week or month, got {period!r}")
    require_rows(con, "orders", "Cohort retention", ["customer_id"])
    o = con.table("orders")
    o = o.filter(o.customer_id.notnull())
    unit = "W" if period == "week" else "M"
    o = o.mutate(p=o.ts.truncate(unit))
    firsts = o.group_by("customer_id").aggregate(cohort=o.p.min(), first_ts=o.ts.min(), second_ts=o.ts.min())
    # second order: the earliest order after the first
    after = o.join(firsts.select("customer_id", "first_ts"), "customer_id")
    after = after.filter(after.ts > after.first_ts)
    seconds = after.group_by("customer_id").aggregate(second_ts=after.ts.min())
    firsts = firsts.drop("second_ts").left_join(seconds, "customer_id").drop("customer_id_right")
    if by == "channel":
        attr = person_attribute(con, journey_events(con, config), "channel")
        firsts = firsts.left_join(attr, firsts.customer_id == attr.person_id)
        firsts = firsts.mutate(group=firsts.value.fill_null("(none)")).drop("value", "person_id")
    elif by is None:
        firsts = firsts.mutate(group=ibis.literal("all"))
    else:
        raise ValueError(f"retention breaks down by channel only, got {by!r}")
    end = pd.Timestamp(o.aggregate(m=o.ts.max()).execute()["m"].iloc[0])
    o = o.join(firsts.select("customer_id", "cohort", "group"), "customer_id")
    months = (o.p.year() - o.cohort.year()) * 12 + (o.p.month() - o.cohort.month())
    offset = (
        months
        if period == "month"
        else ((o.p.epoch_seconds() - o.cohort.epoch_seconds()) / (7 * 86400)).round().cast("int64")
    )
    o = o.mutate(offset=offset)
    active = o.group_by(["group", "cohort", "offset"]).aggregate(active=o.customer_id.nunique())
    sizes = firsts.group_by(["group", "cohort"]).aggregate(customers=firsts.count())
    cells = active.join(sizes, ["group", "cohort"]).order_by(["group", "cohort", "offset"]).execute()
    sizes_df = sizes.execute()
    cohorts = _fill(cells, sizes_df, period, end)
    days = (firsts.second_ts.epoch_seconds() - firsts.first_ts.epoch_seconds()) / 86400.0
    span = (int(end.timestamp()) - firsts.first_ts.epoch_seconds()) / 86400.0
    curve_aggs: dict[str, Any] = {}
    for d in curve_days:
        seen = span >= d
        curve_aggs[f"n{d}"] = seen.cast("int64").sum()
        curve_aggs[f"k{d}"] = (seen & (days <= d).fill_null(False)).cast("int64").sum()
    cur = firsts.group_by("group").aggregate(**curve_aggs).order_by("group").execute()
    rows = []
    for r in cur.to_dict(orient="records"):
        for d in curve_days:
            rows.append(
                {"group": r["group"], "days": d, "customers": int(r[f"n{d}"]), "repeaters": int(r[f"k{d}"])}
            )
    curve = pd.DataFrame(rows, columns=["group", "days", "customers", "repeaters"])
    with np.errstate(divide="ignore", invalid="ignore"):
        curve["repeat_rate"] = curve["repeaters"] / curve["customers"].where(curve["customers"] > 0)
    curve["ci_low"], curve["ci_high"] = wilson_interval(curve["repeaters"], curve["customers"], level)
    return Retention(cohorts, curve, period, by, int(sizes_df["customers"].sum()), level)


def _fill(cells: pd.DataFrame, sizes: pd.DataFrame, period: Period, end: pd.Timestamp) -> pd.DataFrame:
    """Every cohort × offset up to the last finished period, zeros where nobody ordered; unseen cells dropped."""
    rows = []
    s = sizes.sort_values(["group", "cohort"])
    for group, cohort, customers in zip(s["group"], s["cohort"], s["customers"], strict=True):
        start = pd.Timestamp(str(cohort))
        n_off = (
            (end.year - start.year) * 12 + end.month - start.month
            if period == "month"
            else (end.normalize() - start).days // 7
        )
        for k in range(int(n_off) + 1):
            rows.append((group, start, k, int(customers)))
    grid = pd.DataFrame(rows, columns=["group", "cohort", "offset", "customers"])
    cells = cells.assign(cohort=pd.to_datetime(cells["cohort"]), offset=cells["offset"].astype(int))
    out = grid.merge(
        cells[["group", "cohort", "offset", "active"]], on=["group", "cohort", "offset"], how="left"
    )
    out["active"] = out["active"].fillna(0).astype(np.int64)
    out["retention"] = out["active"] / out["customers"]
    return out
