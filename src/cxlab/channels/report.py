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
from cxlab.channels.performance import channel_performance
from cxlab.display import count, money, number, pct
from cxlab.errors import MissingData
from cxlab.report.section import Section

if TYPE_CHECKING:
    from cxlab.store import Store

SHOWN_MODELS = ("first", "last", "linear", "position", "time_decay", "markov", "shapley")


def models_figure(compared: pd.DataFrame) -> go.Figure:
    """Share of attributed conversions per channel under each model (grouped bars)."""
    shares = compared / compared.sum()
    order = shares["markov"].sort_values().index if "markov" in shares else shares.index
    fig = go.Figure(
        [
            go.Bar(
                x=shares.loc[order, m] * 100,
                y=[html.escape(str(c)) for c in order],
                name=m.replace("_", " "),
                orientation="h",
                hovertemplate="%{y}: %{x:.1f}%<extra>" + m + "</extra>",
            )
            for m in shares.columns
        ]
    )
    fig.update_layout(
        title="Share of conversions attributed to each channel, by model",
        xaxis_title="% of attributed conversions",
        barmode="group",
        height=160 + 22 * len(order) * max(1, len(shares.columns) // 2),
        margin={"l": 140, "r": 30, "t": 50, "b": 40},
    )
    return fig


def performance_section(store: Store) -> Section:
    """Channel performance: Wilson intervals, lagging channels, CPA/ROAS when spend is known."""
    perf = channel_performance(store.ibis(), store.config)
    t, cur = perf.table, perf.currency
    shown = pd.DataFrame(
        {
            "channel": t["channel"].astype(str),
            "visitors": t["visitors"].map(count),
            "sessions": t["sessions"].map(count),
            "session conversion": t["session_conversion_rate"].map(lambda x: pct(x, 2)),
            "95% CI": [
                f"{pct(lo, 2)} – {pct(hi, 2)}"
                for lo, hi in zip(t["session_ci_low"], t["session_ci_high"], strict=True)
            ],
            "orders": t["orders"].map(count),
            "revenue": t["revenue"].map(lambda x: money(x, cur)),
            "AOV": t["aov"].map(lambda x: money(x, cur)),
            "new customers": t["new_customer_orders"].map(count),
            "lags peers": ["yes" if x else "" for x in t["lagging"]],
        }
    )
    if perf.has_spend:
        shown["CPA"] = t["cpa"].map(lambda x: money(x, cur)).to_numpy()
        shown["ROAS"] = t["roas"].map(lambda x: number(x, 3)).to_numpy()
    return Section(
        "channels",
        "Channel performance",
        perf.summary(),
        [perf.figure(), perf.trend_figure()],
        shown,
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


def attribution_section(store: Store) -> Section:
    """Markov attribution (order 1) with its transition heatmap."""
    markov = attribute(journeys(store, "Channel attribution"), "markov")
    t = markov.table
    shown = pd.DataFrame(
        {
            "channel": t["channel"].astype(str),
            "Markov conversions": t["conversions"].map(lambda x: number(x, 4)),
            "share": t["share"].map(pct),
            "removal effect": t["removal_effect"].map(lambda x: number(x, 3)),
            "per visit": t["efficiency"].map(lambda x: number(x, 3)),
        }
    )
    figures = [markov.figure()]
    heat = markov.heatmap()
    if heat is not None:
        figures.append(heat)
    summary = (
        f"{markov.summary()} 'Per visit' is the Markov-attributed conversions per visit through the channel "
        "within the journeys (30-day lookback)."
    )
    return Section("channels-attribution", "Channel attribution (Markov)", summary, figures, shown)


def models_section(store: Store) -> Section:
    """Attributed conversions per channel under every model, side by side."""
    return models_section_of(journeys(store, "Attribution by model"))


def models_section_of(paths: Paths) -> Section:
    """:func:`models_section` of journeys already built (the dashboard shares them between models)."""
    compared = compare_models(paths, SHOWN_MODELS)
    shown = compared.map(lambda x: number(x, 4)).reset_index()
    shown.columns = ["channel", *(m.replace("_", " ") for m in compared.columns)]
    summary = (
        f"Conversions attributed to each channel by {len(compared.columns)} models over the same journeys "
        f"({number(compared.iloc[:, 0].sum(), 6)} conversions, 30-day lookback): where they disagree, "
        "the channel's credit depends on the model."
    )
    return Section("channels-models", "Attribution by model", summary, [models_figure(compared)], shown)


SECTIONS: list[Callable[[Store], Section]] = [performance_section, attribution_section, models_section]
