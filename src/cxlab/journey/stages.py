"""How many people reach each journey stage, and how many of those who reach one stage reach the next.

Journeys are not linear: a person counts for every stage they touched, whatever the order, so the
share reaching the next stage is a share of people, not of a single path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.display import count, pct
from cxlab.errors import require_rows
from cxlab.identity import with_person_id
from cxlab.stats.proportions import wilson_interval


@dataclass(frozen=True)
class StageFunnel:
    """People reaching each stage; share of all people; share of the previous stage's people reaching it."""

    table: pd.DataFrame
    people: int
    level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "level": self.level,
            "interval": "Wilson score",
            "stages": self.table.to_dict(orient="records"),
        }

    def summary(self) -> str:
        return (
            f"Stage funnel over touchpoint → stage map; a person counts once per stage reached; "
            f"{self.level:.0%} Wilson intervals; n = {self.people:,} people."
        )

    def figure(self) -> go.Figure:
        # A bar, not a funnel: people can reach a later stage without an earlier one; shares are of all people.
        t = self.table
        labels = [
            f"{count(n)} ({pct(share, 0)} of all)"
            for n, share in zip(t["people"], t["share_of_all"], strict=True)
        ]
        fig = go.Figure(
            go.Bar(
                x=t["people"],
                y=t["stage"],
                orientation="h",
                text=labels,
                textposition="auto",
                hovertemplate="%{y}: %{x:,} people<extra></extra>",
            )
        )
        fig.update_yaxes(autorange="reversed")
        fig.update_layout(
            title="People reaching each journey stage",
            height=380,
            margin={"l": 120, "r": 30, "t": 50, "b": 30},
        )
        return fig


def stage_funnel(con: BaseBackend, config: Config, level: float = 0.95) -> StageFunnel:
    """Compute :class:`StageFunnel` from ``events`` with the touchpoint → stage map of ``config``."""
    require_rows(con, "events", "The journey stage funnel")
    stages = config.journey.stages
    mapping = ibis.memtable(
        pd.DataFrame(
            {
                "touchpoint": list(config.journey.touchpoints),
                "stage": list(config.journey.touchpoints.values()),
            }
        )
    )
    events = with_person_id(con.table("events"))
    staged = events.inner_join(mapping, "touchpoint")
    reached = staged.group_by("person_id").aggregate(
        **{f"s{i}": (staged.stage == s).any().cast("int64") for i, s in enumerate(stages)}
    )
    aggs: dict[str, Any] = {}
    for i in range(len(stages)):
        aggs[f"r{i}"] = reached[f"s{i}"].sum().fill_null(0)
        if i:
            aggs[f"both{i}"] = (reached[f"s{i - 1}"] * reached[f"s{i}"]).sum().fill_null(0)
    row = reached.aggregate(**aggs).execute().iloc[0]
    total_people = int(events.person_id.nunique().execute())
    rows = []
    for i, s in enumerate(stages):
        n = int(row[f"r{i}"])
        rows.append(
            {
                "stage": s,
                "people": n,
                "share_of_all": n / total_people if total_people else float("nan"),
                "from_previous": int(row[f"both{i}"]) if i else None,
                "previous": int(row[f"r{i - 1}"]) if i else None,
            }
        )
    df = pd.DataFrame(rows)
    prev_n = df["previous"].fillna(0).astype(float)
    both_n = df["from_previous"].fillna(0).astype(float)
    df["rate_from_previous"] = both_n / prev_n.where(prev_n > 0)
    df["ci_low"], df["ci_high"] = wilson_interval(both_n, prev_n, level)
    return StageFunnel(df, total_people, level)
