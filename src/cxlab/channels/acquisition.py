"""Conversion and revenue per acquisition channel (the channel of a person's first channel-tagged event).

A person is acquired by the channel of their first channel-tagged event; the channel converts them when
they purchase at or after that touch. Orders and revenue are counted by the order's own channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.identity import with_person_id
from cxlab.stats.proportions import wilson_interval


@dataclass(frozen=True)
class ChannelConversion:
    """Per acquisition channel: people reached, buyers, conversion with a Wilson 95% CI, orders, revenue."""

    table: pd.DataFrame
    level: float = 0.95
    method: str = "acquisition channel = first channel-tagged event; conversion = purchase at or after it"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "level": self.level,
            "interval": "Wilson score",
            "channels": self.table.to_dict(orient="records"),
        }

    def summary(self) -> str:
        n = int(self.table["people"].sum())
        return (
            f"Conversion by acquisition channel ({self.method}); {self.level:.0%} Wilson intervals; "
            f"n = {n:,} people over {len(self.table)} channels."
        )

    def figure(self) -> go.Figure:
        t = self.table.sort_values("conversion_rate")
        fig = go.Figure(
            go.Bar(
                x=t["conversion_rate"] * 100,
                y=t["channel"],
                orientation="h",
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (t["ci_high"] - t["conversion_rate"]) * 100,
                    "arrayminus": (t["conversion_rate"] - t["ci_low"]) * 100,
                },
                hovertemplate="%{y}: %{x:.2f}%<extra></extra>",
            )
        )
        fig.update_layout(
            title="Conversion rate by acquisition channel (95% CI)",
            xaxis_title="% of people reached who buy",
            height=120 + 28 * len(t),
            margin={"l": 140, "r": 30, "t": 50, "b": 40},
        )
        return fig


def channel_conversion(con: BaseBackend, level: float = 0.95) -> ChannelConversion:
    """Compute :class:`ChannelConversion` from the ``events`` and ``orders`` tables of ``con``."""
    events = with_person_id(con.table("events"))
    tagged = events.filter(events.channel.notnull())
    first = tagged.group_by("person_id").aggregate(
        first_ts=tagged.ts.min(), channel=tagged.channel.argmin(tagged.ts)
    )
    purchases = events.filter(events.event == "purchase")
    bought = purchases.group_by("person_id").aggregate(last_purchase=purchases.ts.max())
    people = first.left_join(bought, "person_id")
    converted = (people.last_purchase.notnull() & (people.last_purchase >= people.first_ts)).cast("int64")
    by_channel = people.group_by("channel").aggregate(people=people.count(), buyers=converted.sum())
    orders = con.table("orders")
    order_stats = orders.group_by("channel").aggregate(orders=orders.count(), revenue=orders.revenue.sum())
    joined = by_channel.outer_join(order_stats, "channel")
    expr = joined.select(
        channel=ibis.coalesce(joined.channel, joined.channel_right),
        people=joined.people.fill_null(0),
        buyers=joined.buyers.fill_null(0),
        orders=joined.orders.fill_null(0),
        revenue=joined.revenue.fill_null(0.0),
    ).filter(lambda t: t.channel.notnull())
    df = expr.execute().sort_values("people", ascending=False, ignore_index=True)
    df["conversion_rate"] = (df["buyers"] / df["people"].where(df["people"] > 0)).astype(float)
    df["ci_low"], df["ci_high"] = wilson_interval(df["buyers"], df["people"], level)
    df["revenue_per_person"] = df["revenue"] / df["people"].where(df["people"] > 0)
    return ChannelConversion(df, level)
