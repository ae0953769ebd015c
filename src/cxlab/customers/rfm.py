"""RFM: recency, frequency and monetary quintile scores, the standard named segments, and their movement.

Computed in the engine. Per customer at a date (orders up to and including it): recency = days since the
last order, frequency = orders, monetary = revenue in the shop's reporting currency (:mod:`cxlab.currency`). Each becomes a score 1-5 from its percentile rank among
that date's customers (``1 + floor(5 · percent_rank)``, capped at 5; more recent, more frequent and higher
spend score higher; ties share the lower score, so e.g. all one-order customers have F = 1). The segment
comes from R and ``FM = round((F + M) / 2)`` through a fixed 5 × 5 grid (:data:`SEGMENT_GRID`), a partition
of the usual segment definitions (Champions: R 4-5 with FM 4-5; Can't lose them: R 1 with FM 4-5; ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.currency import ShopOrders, shop_orders
from cxlab.customers.summary import EXACT, Cutoff, last_order_time, seconds
from cxlab.display import count, day, money, pct
from cxlab.errors import require_rows

SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential loyalists",
    "New",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
    "Lost",
)

_GRID_ROWS = {  # R score -> segment for FM = 1..5
    5: ("New", "Potential loyalists", "Potential loyalists", "Champions", "Champions"),
    4: ("Promising", "Potential loyalists", "Loyal", "Champions", "Champions"),
    3: ("Promising", "About to sleep", "Need attention", "Loyal", "Loyal"),
    2: ("Hibernating", "About to sleep", "Need attention", "At risk", "At risk"),
    1: ("Lost", "Hibernating", "At risk", "Can't lose them", "Can't lose them"),
}
SEGMENT_GRID: dict[tuple[int, int], str] = {
    (r, fm + 1): seg for r, row in _GRID_ROWS.items() for fm, seg in enumerate(row)
}
"""(R score, FM score) -> segment name."""
NOT_YET = "(not a customer yet)"
SLIPPING = ("At risk", "Can't lose them")
"""Segments of customers who used to buy often (or for a lot) but haven't ordered for a long time."""


def _score(pr: ir.FloatingValue) -> ir.IntegerValue:
    return ibis.least(5, (pr * 5).floor().cast("int64") + 1)


def rfm_scores(orders: ir.Table, as_of: str | date | datetime) -> ir.Table:
    """Per customer (lazy): ``customer_id, recency_days, frequency, monetary, r, f, m, fm, segment``."""
    cut = Cutoff.parse(as_of)
    o = orders.filter(orders.customer_id.notnull() & cut.includes(orders.ts))
    monetary = o.revenue.cast(EXACT).sum().cast("float64")  # exact: tied customers stay tied on every engine
    per = o.group_by("customer_id").aggregate(last=o.ts.max(), frequency=o.count(), monetary=monetary)
    now = seconds(ibis.timestamp(cut.limit))
    per = per.mutate(recency_days=(now - seconds(per["last"])) / 86_400.0)
    scored = per.mutate(
        r=_score(ibis.percent_rank().over(order_by=ibis.desc(per.recency_days))),
        f=_score(ibis.percent_rank().over(order_by=per.frequency)),
        m=_score(ibis.percent_rank().over(order_by=per.monetary)),
    )
    scored = scored.mutate(fm=((scored.f + scored.m + 1) / 2).floor().cast("int64"))
    grid = ibis.memtable(
        pd.DataFrame(
            [(r, fm, seg) for (r, fm), seg in SEGMENT_GRID.items()], columns=["g_r", "g_fm", "segment"]
        )
    )
    j = scored.inner_join(grid, [scored.r == grid.g_r, scored.fm == grid.g_fm])
    return j.select("customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "fm", "segment")


def _as_of(shop: ShopOrders, as_of: str | date | datetime | None) -> str | date | datetime:
    return as_of if as_of is not None else last_order_time(shop.table)


@dataclass(frozen=True)
class RFMSegments:
    """Customers and revenue per RFM segment at one date."""

    table: pd.DataFrame
    as_of: str
    customers: int
    currency: str = ""
    notes: list[str] = field(default_factory=list)
    """Currency notes (conversions, orders left out) to show with the revenue figures."""
    method: str = "RFM quintile scores from percentile ranks; segments from R × round((F+M)/2)"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "customers": self.customers,
            "currency": self.currency,
            "notes": list(self.notes),
            "method": self.method,
            "segments": self.table.to_dict(orient="records"),
        }

    def summary(self) -> str:
        """What the segments say, in plain words: who brings the revenue, and who used to buy often but has
        stopped (:data:`SLIPPING`), with what they have spent."""
        t = self.table
        top = t.sort_values("revenue_share", ascending=False).iloc[0]
        notes = "".join(f" Note: {n}." for n in self.notes)
        if not self.customers:
            return f"On {day(self.as_of)}, no customer had ordered yet.{notes}"
        text = (
            f"On {day(self.as_of)}, {count(self.customers)} customers have ordered. {top['segment']} "
            f"({pct(top['share'], 0)} of customers) bring {pct(top['revenue_share'], 0)} of revenue, "
            f"{money(top['revenue'], self.currency)}."
        )
        slipping = t[t["segment"].isin(SLIPPING)]
        n = int(slipping["customers"].sum())
        if n:
            text += (
                f" {count(n)} customers who used to buy often haven't ordered for a long time "
                f"({' and '.join(SLIPPING)}); together they have spent "
                f"{money(slipping['revenue'].sum(), self.currency)} so far: worth winning back."
            )
        return text + notes

    def details(self) -> str:
        """How the segments were made: the scores, the grid, n and the date."""
        return (
            f"{self.method}. Recency = days since the last order, frequency = orders, monetary = revenue "
            f"({self.currency}), each scored 1–5 by percentile rank among the n = {count(self.customers)} "
            f"customers with orders up to {self.as_of}."
        )

    def figure(self) -> go.Figure:
        t = self.table
        fig = go.Figure(
            [
                go.Bar(y=t["segment"], x=t["share"] * 100, orientation="h", name="% of customers"),
                go.Bar(y=t["segment"], x=t["revenue_share"] * 100, orientation="h", name="% of revenue"),
            ]
        )
        fig.update_yaxes(autorange="reversed")
        fig.update_layout(
            title=f"Customer segments on {day(self.as_of)}",
            barmode="group",
            xaxis_title="share (%)",
            height=120 + 34 * len(t),
            margin={"l": 140, "r": 30, "t": 50, "b": 40},
        )
        return fig


def rfm_segments(
    con: BaseBackend, as_of: str | date | datetime | None = None, *, config: Config | None = None
) -> RFMSegments:
    """Sizes, revenue and mean R/F/M of each segment on ``as_of`` (default: the last order's day); revenue
    in the shop's reporting currency (``config``)."""
    require_rows(con, "orders", "RFM segments", ["customer_id"])
    shop = shop_orders(con, config)
    when = _as_of(shop, as_of)
    s = rfm_scores(shop.table, when)
    agg = s.group_by("segment").aggregate(
        customers=s.count(),
        revenue=s.monetary.sum(),
        recency_days=s.recency_days.mean(),
        frequency=s.frequency.mean(),
        monetary=s.monetary.mean(),
    )
    df = agg.execute()
    df = (
        pd.DataFrame({"segment": list(SEGMENTS)})
        .merge(df, on="segment", how="left")
        .fillna({"customers": 0, "revenue": 0.0})
    )
    df["customers"] = df["customers"].astype("int64")
    n = int(df["customers"].sum())
    total = float(df["revenue"].sum())
    df["share"] = df["customers"] / n if n else 0.0
    df["revenue_share"] = df["revenue"] / total if total else 0.0
    cols = [
        "segment",
        "customers",
        "share",
        "revenue",
        "revenue_share",
        "recency_days",
        "frequency",
        "monetary",
    ]
    return RFMSegments(df[cols], str(Cutoff.parse(when)), n, shop.currency, shop.notes)


@dataclass(frozen=True)
class RFMMovement:
    """How many customers moved from each segment at ``start`` to each segment at ``end``."""

    table: pd.DataFrame
    start: str
    end: str

    def matrix(self) -> pd.DataFrame:
        """Rows: segment at start (plus customers who had not ordered yet); columns: segment at end."""
        m = self.table.pivot_table(
            index="from_segment", columns="to_segment", values="customers", aggfunc="sum", fill_value=0
        )
        rows = [s for s in (*SEGMENTS, NOT_YET) if s in m.index]
        cols = [s for s in SEGMENTS if s in m.columns]
        return m.loc[rows, cols]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "moves": self.table.to_dict(orient="records")}

    def summary(self) -> str:
        t = self.table
        n = int(t["customers"].sum())
        stayed = int(t.loc[t["from_segment"] == t["to_segment"], "customers"].sum())
        new = int(t.loc[t["from_segment"] == NOT_YET, "customers"].sum())
        return (
            f"From {day(self.start)} to {day(self.end)}: of {count(n)} customers, {count(stayed)} stayed in "
            f"their segment, {count(new)} ordered for the first time and {count(n - stayed - new)} moved to "
            "another."
        )

    def figure(self) -> go.Figure:
        m = self.matrix()
        fig = go.Figure(
            go.Heatmap(
                z=m.to_numpy(),
                x=list(m.columns),
                y=list(m.index),
                colorscale="Blues",
                hovertemplate="%{y} → %{x}: %{z:,}<extra></extra>",
            )
        )
        fig.update_yaxes(autorange="reversed", title=f"segment on {day(self.start)}")
        fig.update_layout(
            title=f"How customers moved between segments from {day(self.start)} to {day(self.end)}",
            xaxis_title=f"segment on {day(self.end)}",
            height=520,
            margin={"l": 170, "r": 30, "t": 50, "b": 120},
        )
        return fig


def rfm_movement(
    con: BaseBackend,
    start: str | date | datetime,
    end: str | date | datetime | None = None,
    *,
    config: Config | None = None,
) -> RFMMovement:
    """Segment of every customer at ``end`` against their segment at ``start`` (scored separately)."""
    require_rows(con, "orders", "RFM movement", ["customer_id"])
    shop = shop_orders(con, config)
    when = _as_of(shop, end)
    if Cutoff.parse(start).limit >= Cutoff.parse(when).limit:
        raise ValueError(f"start {start} is not before end {Cutoff.parse(when)}")
    orders = shop.table
    a = rfm_scores(orders, start).select("customer_id", from_segment="segment")
    b = rfm_scores(orders, when).select("customer_id", to_segment="segment")
    j = b.left_join(a, "customer_id")
    j = j.mutate(from_segment=j.from_segment.fill_null(NOT_YET))
    moves = j.group_by(["from_segment", "to_segment"]).aggregate(customers=j.count()).execute()
    order = {s: i for i, s in enumerate((*SEGMENTS, NOT_YET))}
    moves = moves.sort_values(["from_segment", "to_segment"], key=lambda c: c.map(order), ignore_index=True)
    moves["customers"] = moves["customers"].astype("int64")
    return RFMMovement(moves, str(Cutoff.parse(start)), str(Cutoff.parse(when)))
