"""The report's channel sections, one analysis each (see :data:`SECTIONS`): performance per channel with
lagging channels, Markov attribution, and attributed conversions under every model."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from cxlab.channels.attribution import attribute, compare_models
from cxlab.channels.journeys import JourneyOptions, build_journeys
from cxlab.channels.paths import Paths
from cxlab.channels.performance import ChannelPerformance, channel_performance
from cxlab.display import DASH, count, money, number, pct
from cxlab.errors import MissingData
from cxlab.report.section import Section, titled

if TYPE_CHECKING:
    from cxlab.store import Store

SHOWN_MODELS = ("first", "last", "linear", "position", "time_decay", "markov", "shapley")


MODEL_WORDS = {
    "first": "first click",
    "last": "last click",
    "linear": "every visit alike",
    "position": "first and last count most",
    "time_decay": "recent visits count most",
    "markov": "Markov (what is lost without it)",
    "shapley": "Shapley (fair share)",
}
"""Each attribution model in a few words, for column headers and the details."""


def models_figure(compared: pd.DataFrame) -> go.Figure:
    """Share of attributed conversions per channel under each model (grouped bars)."""
    shares = compared / compared.sum()
    order = shares["markov"].sort_values().index if "markov" in shares else shares.index
    fig = go.Figure(
        [
            go.Bar(
                x=shares.loc[order, m] * 100,
                y=[html.escape(str(c)) for c in order],
                name=MODEL_WORDS.get(m, m.replace("_", " ")),
                orientation="h",
                hovertemplate="%{y}: %{x:.1f}%<extra>" + m + "</extra>",
            )
            for m in shares.columns
        ]
    )
    fig.update_layout(
        title="Share of the orders credited to each channel, by model",
        xaxis_title="% of the orders",
        barmode="group",
        height=160 + 22 * len(order) * max(1, len(shares.columns) // 2),
    )
    return fig


def shop_channel_performance(store: Store) -> ChannelPerformance:
    """Channel performance with its lagging channels (default arguments), once per open store: the report's
    section and "what to do next" share it."""
    return store.memo("lagging-channels", lambda: channel_performance(store.ibis(), store.config))


@titled("Channel performance")
def performance_section(store: Store) -> Section:
    """Channel performance: conversion against peers, revenue, and cost per order and return where spent."""
    perf = shop_channel_performance(store)
    t, cur = perf.table, perf.currency
    lagging = set(perf.lagging.lagging)
    shown = pd.DataFrame(
        {
            "channel": t["channel"].astype(str),
            "visits": t["sessions"].map(count),
            "visits that buy": t["session_conversion_rate"].map(lambda x: pct(x, 2)),
            "vs peers": ["worse" if str(c) in lagging else "" for c in t["channel"]],
            "orders": t["orders"].map(count),
            "revenue": t["revenue"].map(lambda x: money(x, cur)),
            "average order": t["aov"].map(lambda x: money(x, cur)),
        }
    )
    if perf.has_spend:
        spent = t["cost"].fillna(0.0) > 0  # nothing spent: cost per order and return don't apply
        shown["cost per order"] = [money(x, cur) if s else DASH for x, s in zip(t["cpa"], spent, strict=True)]
        shown[f"revenue per {cur} spent"] = [
            money(x, cur, 2) if s else DASH for x, s in zip(t["roas"], spent, strict=True)
        ]
    return Section(
        "channels",
        "Channel performance",
        perf.headline(),
        [perf.figure(), perf.trend_figure()],
        shown,
        details=perf.details(),
    )


def journeys(store: Store, purpose: str) -> Paths:
    """The channel journeys of the store (the input of every attribution model); MissingData without conversions."""
    timeout = store.config.journey.session_timeout_minutes
    paths = build_journeys(store.ibis(), JourneyOptions(session_timeout_minutes=timeout), store.config)
    if paths.total_conversions == 0:
        raise MissingData(
            f"{purpose} needs purchase events after a visit through a channel: none found in the last "
            f"{paths.meta.get('lookback_days', 30):g} days before any purchase"
        )
    return paths


@titled("Attribution")
def attribution_section(store: Store) -> Section:
    """Markov attribution (order 1) with its transition heatmap."""
    markov = attribute(journeys(store, "Channel attribution"), "markov")
    t = markov.table.sort_values("conversions", ascending=False, kind="stable")
    cur = markov.currency or store.config.shop.currency
    shown = pd.DataFrame(
        {
            "channel": t["channel"].astype(str),
            "orders credited": t["conversions"].map(lambda x: count(round(x))),
            "share": t["share"].map(pct),
            "lost without it": t["removal_effect"].map(pct),
            "orders per 100 visits": t["efficiency"].map(lambda x: number(100 * x, 3)),
        }
    )
    if "value" in t:
        shown.insert(3, "revenue credited", t["value"].map(lambda x: money(x, cur)).to_numpy())
    bars = markov.figure().update_layout(title="Orders credited to each channel", xaxis_title="orders")
    figures = [bars]
    heat = markov.heatmap()
    if heat is not None:
        figures.append(heat.update_layout(title="Where people go next from each channel"))
    top = t.iloc[0]
    summary = (
        f"Following each customer's visits up to the order, {top['channel']} earns the most credit: "
        f"{count(round(top['conversions']))} of {count(markov.total_conversions)} orders ({pct(top['share'], 0)}). "
        f"Without it, {pct(top['removal_effect'], 0)} of the orders in those journeys would be lost."
    )
    details = (
        f"{markov.summary()} 'Lost without it' is the removal effect: the share of conversions the chain loses "
        "when the channel is removed; credit is shared in proportion to it. 'Orders per 100 visits' is the "
        "credited orders per 100 visits through the channel. Journeys: the 30 days before each purchase."
    )
    return Section(
        "channels-attribution", "Which channels lead to orders", summary, figures, shown, details=details
    )


@titled("Attribution models compared")
def models_section(store: Store) -> Section:
    """Attributed conversions per channel under every model, side by side."""
    return models_section_of(journeys(store, "Attribution by model"))


def models_section_of(paths: Paths) -> Section:
    """:func:`models_section` of journeys already built (the dashboard shares them between models)."""
    compared = compare_models(paths, SHOWN_MODELS)
    shares = compared / compared.sum()
    shown = shares.map(pct).reset_index()
    shown.columns = ["channel", *(m.replace("_", " ") for m in compared.columns)]
    spread = (shares.max(axis=1) - shares.min(axis=1)).sort_values(ascending=False)
    lead = [str(shares[m].idxmax()) for m in shares.columns]
    summary = (
        f"{len(compared.columns)} ways of sharing the credit for {count(round(compared.iloc[:, 0].sum()))} "
        "orders among the channels"
        f" that led to them. "
    )
    if len(set(lead)) == 1:
        c = lead[0]
        summary += (
            f"Every model gives {c} the most credit ({pct(shares.loc[c].min(), 0)} to "
            f"{pct(shares.loc[c].max(), 0)})."
        )
    else:
        summary += f"The models disagree about which channel earns most ({', '.join(sorted(set(lead)))})."
    row = shares.loc[spread.index[0]]
    low, high = str(row.idxmin()), str(row.idxmax())
    summary += (
        f" They disagree most about {spread.index[0]}: {pct(row[low], 0)} of the credit by "
        f"{MODEL_WORDS.get(low, low)}, {pct(row[high], 0)} by {MODEL_WORDS.get(high, high)}; "
        "where models disagree, a channel's value depends on how it is measured."
    )
    details = (
        "Share of attributed conversions per channel under each model, over the same journeys (the 30 days "
        "before each purchase): "
        + "; ".join(f"{m.replace('_', ' ')}: {MODEL_WORDS.get(m, m)}" for m in compared.columns)
        + ". Conversions credited: "
        + "; ".join(
            f"{m.replace('_', ' ')} " + ", ".join(f"{ch} {number(v, 4)}" for ch, v in compared[m].items())
            for m in compared.columns
        )
        + "."
    )
    return Section(
        "channels-models", "Attribution by model", summary, [models_figure(compared)], shown, details=details
    )


SECTIONS: list[Callable[[Store], Section]] = [performance_section, attribution_section, models_section]
