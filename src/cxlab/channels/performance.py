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
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.channels.journeys import CLICK_EVENTS, CONVERSION_EVENT, visits
from cxlab.channels.lagging import Lagging, find_lagging
from cxlab.channels.money import priced_events
from cxlab.channels.spend import NO_CAMPAIGN, has_spend, spend_by
from cxlab.config import Config
from cxlab.display import DASH, count, interval, missing, money, p_value, pct
from cxlab.errors import require_rows
from cxlab.jsonable import jsonable
from cxlab.stats.proportions import wilson_interval

Freq = Literal["month", "week", "day"]
TREND_TITLES = {
    "session_conversion_rate": "Share of visits that end in a purchase",
    "conversion_rate": "Share of visitors who buy",
}
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

    def _period_words(self) -> str:
        """The period the money is over: "the 24 months analysed" (monthly trend) or "the period analysed"."""
        n = int(self.trend["period"].nunique()) if len(self.trend) else 0
        return f"the {n} {self.freq}s analysed" if n > 1 else "the period analysed"

    def headline(self) -> str:
        """What was found, in plain words: the channel bringing the most revenue, the channels that convert
        worse than their peers with what that costs, and the return on paid channels."""
        t = self.table.assign(label=_labels(self.table, self.by))
        if t.empty or not int(t["sessions"].sum()):
            return f"No visits through any {self.by[-1]} were found."
        cur = self.currency
        parts = []
        total = float(t["revenue"].sum())
        if total > 0:
            top = t.sort_values("revenue", ascending=False, kind="stable").iloc[0]
            parts.append(
                f"{top['label']} brings in the most revenue: {money(top['revenue'], cur)} "
                f"({pct(top['revenue'] / total, 0)} of {money(total, cur)})."
            )
        lag = self.lagging.table
        rows = lag[lag["lagging"]].sort_values("gap_value" if "gap_value" in lag else "rate", ascending=False)
        what = "visits end in a purchase" if self.unit == "session" else "visitors bought"
        share_of = "visits that end in a purchase" if self.unit == "session" else "visitors who bought"
        found = [
            (str(r[self.lagging.group]), pct(r["rate"]), pct(r["peer_rate"]), r.get("gap_value"))
            for r in rows.head(3).to_dict(orient="records")
        ]
        period = self._period_words()
        if len(found) == 1:
            name, rate, peer, lost = found[0]
            missed = f"; at their rate it would have sold about {money(lost, cur)} more over {period}"
            parts.append(
                f"{name} converts worse than its peers: {rate} of its {what}, against {peer}"
                f"{missed if not missing(lost) else ''}."
            )
        elif found:
            listed = "; ".join(
                f"{name} {rate} against {peer}" + (f", about {money(lost, cur)}" if not missing(lost) else "")
                for name, rate, peer, lost in found
            )
            more = f"; and {len(rows) - 3} more (see the table)" if len(rows) > 3 else ""
            parts.append(
                f"{len(rows)} {self.by[-1]}s convert worse than their peers (share of {share_of}, against the "
                f"peers', and the sales missed over {period}): {listed}{more}."
            )
        else:
            parts.append(f"No {self.by[-1]} converts clearly worse than its peers.")
        if self.has_spend:
            paid = t[t["cost"].fillna(0) > 0].sort_values("roas", kind="stable")
            if len(paid) > 1:
                lo, hi = paid.iloc[0], paid.iloc[-1]
                parts.append(
                    f"Paid {self.by[-1]}s return between {money(lo['roas'], cur, 2)} ({lo['label']}) and "
                    f"{money(hi['roas'], cur, 2)} ({hi['label']}) per {cur} 1 spent."
                )
        return " ".join(parts)

    def details(self) -> str:
        """The method, the intervals and the tests behind the headline, for the report's folded details."""
        lag = self.lagging.table
        tested = lag[np.isfinite(lag["p_adjusted"].astype(float))]
        tests = "; ".join(
            f"{r[self.lagging.group]} {pct(r['rate'], 2)} ({interval(r['ci_low'], r['ci_high'], _pct2)}) vs "
            f"peers {pct(r['peer_rate'], 2)}, adjusted p {p_value(r['p_adjusted'])}"
            for r in tested.to_dict(orient="records")
        )
        return (
            f"{self.summary()} Each {self.by[-1]}'s {self.unit} conversion tested against its peers (paid "
            f"against paid, unpaid against unpaid): one-sided two-proportion z-test, {self.lagging.correction} "
            f"adjustment over all {self.by[-1]}s, 95% Wilson intervals: {tests or 'none tested'}. CPA (cost "
            f"per order) and return per {self.currency} spent only where something was spent ({DASH} "
            "elsewhere)."
        )

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
            title=f"Share of visits that end in a purchase, per {' / '.join(self.by)} (red: worse than its "
            "peers; lines: 95% interval)",
            xaxis_title="% of visits with a purchase",
            height=120 + 28 * len(t),
        )
        fig.update_yaxes(automargin=True)
        return fig

    def trend_figure(self, metric: str = "session_conversion_rate") -> go.Figure:
        fig = go.Figure()
        label = _labels(self.trend, self.by)
        for name, part in self.trend.assign(label=label).groupby("label", sort=True):
            fig.add_trace(
                go.Scatter(x=part["period"], y=part[metric], mode="lines", name=html.escape(str(name)))
            )
        title = TREND_TITLES.get(metric, metric.replace("_", " "))
        fig.update_layout(title=f"{title}, per {self.freq}", height=420)
        if metric.endswith("rate"):  # a share: read as a percentage
            fig.update_yaxes(tickformat=".1%")
        return fig


def _pct2(x: Any) -> str:
    return pct(x, 2)


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
