"""The emotional layer of the journey: what the feedback about each touchpoint says, from ``voice_texts``.

Per touchpoint: texts, the share labelled negative (Wilson interval) and the net sentiment, the mean of
P(positive) − P(negative) over its texts (−1 … +1). The journey map shows the net sentiment; the strengths &
weaknesses analysis tests the negative share against the other touchpoints.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.display import count, pct
from cxlab.stats.proportions import wilson_interval
from cxlab.voice.sentiment import MIXED


@dataclass(frozen=True)
class TouchpointSentiment:
    """Sentiment of the feedback texts per touchpoint."""

    table: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        rows = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {
            "method": "sentiment label per text (cxlab voice analyze); negative share with a Wilson 95% "
            "interval; net sentiment = mean P(positive) − P(negative)",
            "touchpoints": [
                {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in rows
            ],
        }

    def summary(self) -> str:
        t = self.table
        if t.empty:
            return "No feedback texts with a touchpoint."
        worst = t.sort_values("negative_share", ascending=False).iloc[0]
        mixed = int(t["mixed"].sum()) if "mixed" in t else 0
        return (
            f"{int(t['texts'].sum()):,} feedback texts over {len(t)} touchpoints; most negative: "
            f"{worst['touchpoint']} ({pct(worst['negative_share'], 0)} negative, 95% CI "
            f"{pct(worst['ci_low'], 0)}–{pct(worst['ci_high'], 0)}, n={count(worst['texts'])})."
            + (
                f" {count(mixed)} texts are mixed (clear praise and a clear complaint): counted apart, "
                "neither negative nor positive."
                if mixed
                else ""
            )
        )

    def figure(self) -> go.Figure:
        t = self.table.sort_values("negative_share")
        fig = go.Figure(
            go.Bar(
                x=100 * t["negative_share"], y=[html.escape(str(v)) for v in t["touchpoint"]], orientation="h", marker_color="#d62728",
                error_x=dict(type="data", symmetric=False, array=100 * (t["ci_high"] - t["negative_share"]),
                             arrayminus=100 * (t["negative_share"] - t["ci_low"])),
            )
        )  # fmt: skip
        fig.update_layout(
            title="Negative feedback per touchpoint (share of texts, 95% CI)", xaxis_title="% negative",
            template="plotly_white", height=240 + 22 * len(t),
        )  # fmt: skip
        return fig


def sentiment_texts(con: BaseBackend) -> ir.Table | None:
    """``voice_texts`` joined with the feedback row (touchpoint, ts, source, score), or None before analysis."""
    if "voice_texts" not in con.list_tables():
        return None
    v = con.table("voice_texts")
    v = v.filter(v.label.notnull())
    fb = con.table("feedback").select("feedback_id", "customer_id", "ts", "source", "touchpoint", "score")
    return v.join(fb, "feedback_id")


def touchpoint_sentiment(con: BaseBackend, level: float = 0.95) -> TouchpointSentiment | None:
    """Sentiment per touchpoint; None when the feedback has not been analysed (``cxlab voice analyze``)."""
    t = sentiment_texts(con)
    if t is None:
        return None
    t = t.filter(t.touchpoint.notnull())
    df = (
        t.group_by("touchpoint")
        .aggregate(
            texts=t.count(),
            negative=(t.label == "negative").cast("int64").sum(),
            positive=(t.label == "positive").cast("int64").sum(),
            mixed=(t.label == MIXED).cast("int64").sum(),
            net_sentiment=(t.p_positive - t.p_negative).mean(),
        )
        .order_by("touchpoint")
        .execute()
    )
    df["negative_share"] = df["negative"] / df["texts"]
    df["ci_low"], df["ci_high"] = wilson_interval(df["negative"], df["texts"], level)
    return TouchpointSentiment(df)
