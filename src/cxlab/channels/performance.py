"""Channel performance: per channel (or campaign) visitors, sessions, conversion, orders, revenue, cost.

Counted over visits (see :func:`cxlab.channels.journeys.visits`), in the engine:

- **visitors**: people with a visit through the channel; **new visitors** made their first visit ever
  through it, the others are **returning**;
- **sessions** (visits) and **converting sessions** (with a purchase): the **session conversion rate**,
  the planted-effect definition of the demo shop, with a Wilson interval;
- **buyers** (visitors who bought in a visit through the channel) over visitors: the **conversion rate**,
  with a Wilson interval;
- **orders** and **revenue** of purchases made in the channel's visits (last-visit credit), split into first
  orders of new customers and repeat orders; **AOV** (over the orders with a known amount) and **revenue per
  visitor**, in one reporting currency (:mod:`cxlab.channels.money`: a purchase takes its order's revenue,
  converted; an order in a currency without a rate counts as an order without an amount);
- with a ``spend`` table: **cost**, **CPA** (cost per order), **cost per new customer** and **ROAS** for
  paid channels (in the spend table or ``[channels] paid``); unpaid channels have no cost (missing, not 0);
- a **trend** per period (month or week) and **lagging channels** (:mod:`cxlab.channels.lagging`):
  session conversion tested against peers — paid channels against the other paid channels, unpaid
  against the other unpaid ones; campaigns against the other campaigns of their channel.

Events without a ``session_id`` are sessionised by inactivity (``[journey] session_timeout_minutes``), as
the journey analyses do, and the summary says so.

The z-test treats sessions as independent; one person's sessions are not quite, so with many sessions per
person its p-values are optimistic. ``unit="visitor"`` tests buyers per visitor instead (one outcome per
person and channel).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.channels.journeys import CLICK_EVENTS, CONVERSION_EVENT, visits
from cxlab.channels.lagging import Lagging, find_lagging
from cxlab.channels.money import priced_events
from cxlab.channels.spend import NO_CAMPAIGN, has_spend, spend_by
from cxlab.config import Config
from cxlab.display import count
from cxlab.errors import require_rows
from cxlab.jsonable import jsonable
from cxlab.stats.proportions import wilson_interval

Freq = Literal["month", "week", "day"]
_UNIT = {"month": "M", "week": "W", "day": "D"}


@dataclass(frozen=True)
class ChannelPerformance:
    """Per channel (or channel and campaign) performance, its trend, and the channels that lag."""

    table: pd.DataFrame
    trend: pd.DataFrame
    lagging: Lagging
    by: tuple[str, ...]
    level: float
    has_spend: bool
    freq: str
    unit: str = "session"
    start: datetime | None = None
    end: datetime | None = None
    currency: str = "EUR"
    """The currency of revenue, AOV, cost, CPA (see :func:`cxlab.currency.shop_orders`)."""
    notes: tuple[str, ...] = ()
    """What the reader must know: currency conversions, orders left out, sessions derived."""
    derived_sessions: int = 0
    """Sessions built from events without a ``session_id`` (by inactivity)."""

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": list(self.by),
            "level": self.level,
            "interval": "Wilson score",
            "period": {"start": self.start, "end": self.end},
            "currency": self.currency,
            "notes": list(self.notes),
            "derived_sessions": self.derived_sessions,
            "spend": self.has_spend,
            "rows": jsonable(self.table.to_dict(orient="records")),
            "trend": {"freq": self.freq, "rows": jsonable(self.trend.to_dict(orient="records"))},
            "lagging": {"unit": self.unit, **self.lagging.to_dict()},
        }

    def summary(self) -> str:
        sessions = int(self.table["sessions"].sum())
        lag = ", ".join(self.lagging.lagging) or "none"
        cost = "; CPA and ROAS from the spend table" if self.has_spend else ""
        text = (
            f"Visits through each {' / '.join(self.by)}: {sessions:,} sessions; conversion with "
            f"{self.level:.0%} Wilson intervals; amounts in {self.currency}{cost}. Lagging on {self.unit} "
            f"conversion (vs peers, {self.lagging.correction}-adjusted): {lag}."
        )
        return " ".join([text, *(f"Note: {n}." for n in self.notes)])

    def figure(self) -> go.Figure:
        """Session conversion rate per row with Wilson intervals; lagging rows in red."""
        t = self.table.assign(label=_labels(self.table, self.by)).sort_values("session_conversion_rate")
        lag = set(self.lagging.lagging)
        key = t[self.by[-1]].astype(str) if len(self.by) == 1 else t["label"]
        colors = ["#c0392b" if k in lag else "#2e86c1" for k in key]
        fig = go.Figure(
            go.Bar(
                x=t["session_conversion_rate"] * 100,
                y=[html.escape(x) for x in t["label"]],
                orientation="h",
                marker_color=colors,
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (t["session_ci_high"] - t["session_conversion_rate"]) * 100,
                    "arrayminus": (t["session_conversion_rate"] - t["session_ci_low"]) * 100,
                },
                hovertemplate="%{y}: %{x:.2f}%<extra></extra>",
            )
        )
        fig.update_layout(
            title=f"Session conversion rate per {' / '.join(self.by)} ({self.level:.0%} CI; red: lagging)",
            xaxis_title="% of sessions with a purchase",
            height=120 + 28 * len(t),
            margin={"l": 180, "r": 30, "t": 50, "b": 40},
        )
        return fig

    def trend_figure(self, metric: str = "session_conversion_rate") -> go.Figure:
        fig = go.Figure()
        label = _labels(self.trend, self.by)
        for name, part in self.trend.assign(label=label).groupby("label", sort=True):
            fig.add_trace(
                go.Scatter(x=part["period"], y=part[metric], mode="lines", name=html.escape(str(name)))
            )
        fig.update_layout(title=f"{metric.replace('_', ' ')} per {self.freq}", height=420)
        return fig


def _labels(t: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    if len(by) == 1:
        return t[by[0]].astype(str)
    return t[by[0]].astype(str) + " / " + t[by[1]].astype(str)


def _visits(
    events: ir.Table, click_events: Sequence[str], conversion_event: str, timeout_minutes: int
) -> ir.Table:
    v = visits(events, click_events, conversion_event, timeout_minutes)
    w = ibis.window(group_by=v.person_id)
    v = v.mutate(first_visit=v.ts.min().over(w), first_buy=v.first_conversion.min().over(w))
    return v.mutate(campaign=v.campaign.fill_null(NO_CAMPAIGN))


def _period(v: ir.Table, start: datetime | None, end: datetime | None) -> ir.Table:
    if start is not None:
        v = v.filter(v.ts >= start)
    if end is not None:
        v = v.filter(v.ts < end)
    return v


def _aggregate(v: ir.Table, keys: Sequence[str]) -> ir.Table:
    bought = v.conversions > 0
    return v.group_by(list(keys)).aggregate(
        visitors=v.person_id.nunique(),
        new_visitors=v.person_id.nunique(where=v.ts == v.first_visit),
        sessions=v.count(),
        derived_sessions=v.derived.cast("int64").sum(),
        converting_sessions=bought.cast("int64").sum(),
        buyers=v.person_id.nunique(where=bought),
        orders=v.conversions.sum(),
        priced_orders=v.priced_conversions.sum(),
        new_customer_orders=(v.first_conversion == v.first_buy).fill_null(False).cast("int64").sum(),
        revenue=v.revenue.sum(),
    )


def _rates(t: pd.DataFrame, level: float) -> pd.DataFrame:
    t = t.copy()
    for col in (
        "visitors",
        "new_visitors",
        "sessions",
        "converting_sessions",
        "buyers",
        "orders",
        "priced_orders",
        "derived_sessions",
    ):
        t[col] = t[col].fillna(0).astype("int64")
    t["new_customer_orders"] = t["new_customer_orders"].fillna(0).astype("int64")
    t["returning_visitors"] = t["visitors"] - t["new_visitors"]
    t["returning_customer_orders"] = t["orders"] - t["new_customer_orders"]
    t["revenue"] = t["revenue"].fillna(0.0).astype(float)
    t["session_conversion_rate"] = _div(t["converting_sessions"], t["sessions"])
    t["session_ci_low"], t["session_ci_high"] = wilson_interval(
        t["converting_sessions"], t["sessions"], level
    )
    t["conversion_rate"] = _div(t["buyers"], t["visitors"])
    t["ci_low"], t["ci_high"] = wilson_interval(t["buyers"], t["visitors"], level)
    t["aov"] = _div(t["revenue"], t["priced_orders"])
    t["revenue_per_visitor"] = _div(t["revenue"], t["visitors"])
    t["revenue_per_buyer"] = _div(t["revenue"], t["buyers"])
    if "cost" in t:
        t["cost"] = t["cost"].astype(float)
        t["cpa"] = _div(t["cost"], t["orders"])
        t["cost_per_new_customer"] = _div(t["cost"], t["new_customer_orders"])
        t["roas"] = _div(t["revenue"], t["cost"])
    return t


def _div(a: pd.Series, b: pd.Series) -> pd.Series:
    a, b = a.astype(float), b.astype(float)
    return (a / b.where(b > 0)).astype(float)


def _with_cost(
    con: BaseBackend,
    stats: ir.Table,
    keys: Sequence[str],
    start: datetime | None,
    end: datetime | None,
    paid: Sequence[str],
) -> ir.Table:
    """``stats`` with ``cost``: 0 for a paid channel (in the spend table, or named paid in the config)
    without spend in the period, missing for an unpaid one."""
    cost = spend_by(con, keys, start, end)
    j = stats.outer_join(cost, [stats[k] == cost[k] for k in keys])
    cols: dict[str, Any] = {k: ibis.coalesce(j[k], j[f"{k}_right"]) for k in keys}
    cols.update({c: j[c] for c in stats.columns if c not in keys})
    t = j.select(**cols, cost=j.cost)
    is_paid = t.channel.isin(list(paid)) | t.channel.isin(con.table("spend").channel)
    return t.mutate(cost=ibis.ifelse(is_paid, t.cost.fill_null(0.0), t.cost))


def peer_groups(table: pd.DataFrame, by: Sequence[str], config: Config) -> dict[str, list[str]]:
    """Peers for the lagging test: paid channels vs other paid ones, unpaid vs unpaid; a campaign vs the
    other campaigns of its channel."""
    labels = list(_labels(table, by))
    if len(by) == 2:
        channel = dict(zip(labels, table[by[0]].astype(str), strict=True))
        return {g: [h for h in labels if h != g and channel[h] == channel[g]] for g in labels}
    paid = set(config.channels.paid)
    return {g: [h for h in labels if h != g and ((h in paid) == (g in paid))] for g in labels}


def channel_performance(
    con: BaseBackend,
    config: Config | None = None,
    *,
    by: Literal["channel", "campaign"] = "channel",
    start: datetime | None = None,
    end: datetime | None = None,
    freq: Freq = "month",
    level: float = 0.95,
    alpha: float = 0.05,
    unit: Literal["session", "visitor"] = "session",
    peers: Mapping[str, Sequence[str]] | None = None,
    click_events: Sequence[str] = CLICK_EVENTS,
    conversion_event: str = CONVERSION_EVENT,
) -> ChannelPerformance:
    """Compute :class:`ChannelPerformance` from the store behind ``con`` (``events``, and ``spend`` when
    there is one) over ``[start, end)``."""
    if by not in ("channel", "campaign"):
        raise ValueError(f"by must be 'channel' or 'campaign', got {by!r}")
    if unit not in ("session", "visitor"):
        raise ValueError(f"unit must be 'session' or 'visitor', got {unit!r}")
    if freq not in _UNIT:
        raise ValueError(f"freq must be one of {', '.join(_UNIT)}, got {freq!r}")
    cfg = config or Config.default()
    require_rows(con, "events", "Channel performance", ["channel"])
    keys = ("channel",) if by == "channel" else ("channel", "campaign")
    priced = priced_events(con, cfg, conversion_event)
    events, currency, notes = priced.table, priced.currency, list(priced.notes)
    timeout = cfg.journey.session_timeout_minutes
    spend = has_spend(con)
    with _period(_visits(events, click_events, conversion_event, timeout), start, end).cache() as v:
        stats = _aggregate(v, keys)
        if spend:
            stats = _with_cost(con, stats, keys, start, end, cfg.channels.paid)
        table = _rates(stats.to_pandas(), level).sort_values(list(keys), ignore_index=True)
        tv = v.mutate(period=v.ts.truncate(_UNIT[freq]))
        trend = _rates(_aggregate(tv, [*keys, "period"]).to_pandas(), level)
    trend = trend.sort_values([*keys, "period"], ignore_index=True)
    derived = int(table["derived_sessions"].sum())
    if derived:
        notes.append(
            f"{count(derived)} of {count(table['sessions'].sum())} sessions had no session_id in the data and "
            f"were derived from {timeout}-minute inactivity"
        )
    if spend and currency != cfg.shop.currency:
        notes.append(
            f"spend is in {cfg.shop.currency} (the shop's currency) but revenue in {currency}: ROAS and CPA "
            "compare two currencies"
        )
    unpriced = int((table["orders"] - table["priced_orders"]).sum())
    if unpriced:
        notes.append(f"{count(unpriced)} orders have no amount in {currency}: left out of revenue and AOV")

    lag_input = table.assign(label=_labels(table, keys))
    lag = find_lagging(
        lag_input,
        group="label",
        successes="converting_sessions" if unit == "session" else "buyers",
        trials="sessions" if unit == "session" else "visitors",
        value_per_success="aov" if unit == "session" else "revenue_per_buyer",
        peers=peers if peers is not None else peer_groups(table, keys, cfg),
        alpha=alpha,
        level=level,
    )
    lag_table = lag.table.rename(columns={"label": by})
    lag = Lagging(lag_table, by, lag.alpha, lag.correction, lag.level)
    table["lagging"] = lag_table["lagging"].to_numpy()
    table["p_adjusted"] = lag_table["p_adjusted"].to_numpy()
    return ChannelPerformance(
        table=table,
        trend=trend,
        lagging=lag,
        by=keys,
        level=level,
        has_spend=spend,
        freq=freq,
        unit=unit,
        start=start,
        end=end,
        currency=currency,
        notes=tuple(notes),
        derived_sessions=derived,
    )
