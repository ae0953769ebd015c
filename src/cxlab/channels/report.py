"""The report's channel section: performance per channel, lagging channels, and attribution by model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from cxlab.channels.attribution import attribute, compare_models
from cxlab.channels.journeys import build_journeys
from cxlab.channels.performance import channel_performance
from cxlab.report.section import Section

if TYPE_CHECKING:
    from cxlab.store import Store

SHOWN_MODELS = ("first", "last", "linear", "position", "time_decay", "markov", "shapley")


def _pct(x: float) -> str:
    return "–" if pd.isna(x) else f"{100 * x:.2f}%"


def _money(x: float, currency: str) -> str:
    return "–" if pd.isna(x) else f"{currency} {x:,.0f}"


def models_figure(compared: pd.DataFrame) -> go.Figure:
    """Share of attributed conversions per channel under each model (grouped bars)."""
    shares = compared / compared.sum()
    order = shares["markov"].sort_values().index if "markov" in shares else shares.index
    fig = go.Figure(
        [
            go.Bar(
                x=shares.loc[order, m] * 100,
                y=list(order),
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


def section(store: Store) -> Section:
    """Channel performance (Wilson intervals, lagging channels, CPA/ROAS when spend is known) and Markov
    attribution with the heuristic models beside it."""

    con = store.ibis()
    cur = store.config.shop.currency
    perf = channel_performance(con, store.config)
    paths = build_journeys(con)
    markov = attribute(paths, "markov")
    compared = compare_models(paths, SHOWN_MODELS)
    t = perf.table.set_index("channel")
    att = markov.table.set_index("channel")
    shown = pd.DataFrame(
        {
            "channel": t.index,
            "visitors": t["visitors"].map("{:,}".format),
            "sessions": t["sessions"].map("{:,}".format),
            "session conversion": t["session_conversion_rate"].map(_pct),
            "95% CI": [
                f"{_pct(lo)} – {_pct(hi)}"
                for lo, hi in zip(t["session_ci_low"], t["session_ci_high"], strict=True)
            ],
            "orders": t["orders"].map("{:,}".format),
            "revenue": t["revenue"].map(lambda x: _money(x, cur)),
            "AOV": t["aov"].map(lambda x: _money(x, cur)),
            "new customers": t["new_customer_orders"].map("{:,}".format),
            "Markov conversions": [
                f"{att.loc[c, 'conversions']:,.0f}" if c in att.index else "–" for c in t.index
            ],
            "per visit": [f"{att.loc[c, 'efficiency']:.3f}" if c in att.index else "–" for c in t.index],
            "lags peers": ["yes" if x else "" for x in t["lagging"]],
        }
    )
    if perf.has_spend:
        shown["CPA"] = t["cpa"].map(lambda x: _money(x, cur)).to_numpy()
        shown["ROAS"] = t["roas"].map(lambda x: "–" if pd.isna(x) else f"{x:.2f}").to_numpy()
    figures = [perf.figure(), markov.figure(), models_figure(compared)]
    heat = markov.heatmap()
    if heat is not None:
        figures.append(heat)
    figures.append(perf.trend_figure())
    summary = (
        f"{perf.summary()} Attribution: {markov.summary()} 'Per visit' is the Markov-attributed conversions "
        "per visit through the channel within the journeys (30-day lookback)."
    )
    return Section("channels", "Channel performance and attribution", summary, figures, shown)
