"""How far people get along the journey's stages, and how many of those who get to one stage get to the next.

A person *does something* at a stage when they act at one of its touchpoints (a click, a visit, a cart, a
review; a message the shop only sent them does not count, see :data:`cxlab.journey.data.RECEIVED_EVENTS`).
Their *furthest stage* is the latest stage where they did something, and they count as having got to every
stage up to it: journeys are not linear and not every touch is recorded (someone who typed the shop's address
after hearing of it was aware of it, though no ad click shows it), so a later stage is never shown above an
earlier one. How many people did something at each stage themselves is shown beside it (``seen``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.display import count, interval, pct
from cxlab.errors import MissingData, require_rows
from cxlab.journey.data import journey_events
from cxlab.stats.proportions import wilson_interval


@dataclass(frozen=True)
class StageFunnel:
    """Per stage: ``people`` who got at least that far, ``seen`` (did something there themselves), their share
    of all people, and the share of the previous stage's people who got this far (Wilson interval)."""

    table: pd.DataFrame
    people: int
    level: float = 0.95
    touchpoints: dict[str, list[str]] | None = None
    """Stage → the touchpoints that place a person in it (from ``cxlab.toml``)."""
    buyers: int | None = None
    """People with a purchase event (None without purchase events): reaching a stage is not buying."""

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.summary(),
            "people": self.people,
            "buyers": self.buyers,
            "level": self.level,
            "interval": "Wilson score",
            "stages": self.table.to_dict(orient="records"),
        }

    def summary(self) -> str:
        """The method and n (statsmodels-style, for ``--json`` and the report's details)."""
        return (
            f"A person got to a stage when they did something at one of its touchpoints (messages only "
            f"received don't count) or at a later stage's; 'seen' counts only the stage's own touchpoints; "
            f"from the previous stage with {self.level:.0%} Wilson intervals; n = {self.people:,} people."
        )

    def headline(self) -> str:
        """What was found, in plain words: where most people are lost between two stages."""
        t = self.table
        if not self.people or t.empty:
            return "No people were seen at any stage."
        bought = (
            f"; {count(self.buyers)} ({pct(self.buyers / self.people, 0)}) bought something"
            if self.buyers
            else ""
        )
        parts = [
            f"Of {count(self.people)} people, {pct(t['share_of_all'].iloc[-1], 0)} got as far as the last stage "
            f"({t['stage'].iloc[-1]}){bought}."
        ]
        rates = t["rate_from_previous"].iloc[1:]
        if rates.notna().any():
            worst = int(np.nanargmin(rates.to_numpy(dtype=float))) + 1
            names, people = [str(x) for x in t["stage"]], [int(x) for x in t["people"]]
            prev, cur, lost = names[worst - 1], names[worst], people[worst - 1] - people[worst]
            parts.append(
                f"The biggest drop is from {prev} to {cur}: {pct(rates.iloc[worst - 1], 0)} of "
                f"the people who got to {prev} went further ({count(lost)} did not)."
            )
        skipped = t[(t["seen"] < t["people"])]
        if len(skipped):
            first = skipped.iloc[0]
            parts.append(
                f"{count(int(first['people'] - first['seen']))} people were not seen at {first['stage']} but "
                f"got further, so they count as having passed it."
            )
        return " ".join(parts)

    def details(self) -> str:
        """The method, what each stage counts and the intervals, for the report's folded details."""
        lines = [self.summary()]
        if self.touchpoints:
            lines.append(
                "Touchpoints per stage: "
                + "; ".join(f"{s}: {', '.join(tps) or 'none'}" for s, tps in self.touchpoints.items())
                + "."
            )
        t = self.table.iloc[1:]
        if len(t):
            lines.append(
                "From the previous stage, 95% intervals: "
                + "; ".join(
                    f"{s} {pct(r)} ({interval(lo, hi)})"
                    for s, r, lo, hi in zip(t["stage"], t["rate_from_previous"], t["ci_low"], t["ci_high"],
                                            strict=True)
                )
                + "."
            )  # fmt: skip
        return " ".join(lines)

    def figure(self) -> go.Figure:
        # Bars, not a funnel shape: the counts shrink by construction, and each bar says what it counts.
        t = self.table
        labels = [
            f"{count(n)} ({pct(share, 0)})" for n, share in zip(t["people"], t["share_of_all"], strict=True)
        ]
        fig = go.Figure(
            [
                go.Bar(
                    x=t["people"],
                    y=t["stage"],
                    orientation="h",
                    name="got this far",
                    marker_color="#2e86c1",
                    text=labels,
                    textposition="auto",
                    hovertemplate="%{y}: %{x:,} people got at least this far<extra></extra>",
                ),
                go.Bar(
                    x=t["seen"],
                    y=t["stage"],
                    orientation="h",
                    name="did something at this stage",
                    marker_color="#aed6f1",
                    hovertemplate="%{y}: %{x:,} people did something at this stage<extra></extra>",
                ),
            ]
        )
        fig.update_yaxes(autorange="reversed", automargin=True)
        fig.update_layout(
            title="How far people get along the journey",
            xaxis_title="people",
            barmode="group",
            height=140 + 60 * len(t),
            legend={"orientation": "h", "y": -0.2},
        )
        return fig


def stage_funnel(con: BaseBackend, config: Config, level: float = 0.95) -> StageFunnel:
    """Compute :class:`StageFunnel` from ``events`` with the touchpoint → stage map of ``config``."""
    require_rows(con, "events", "The journey stage funnel")
    stages = config.journey.stages
    ev = journey_events(con, config)
    total_people = int(ev.person_id.nunique().execute())
    acted = ev.filter(ev.stage_idx.notnull() & ev.engaged)
    per = acted.group_by("person_id").aggregate(
        furthest=acted.stage_idx.max(),
        **{f"s{i}": (acted.stage_idx == i).any().cast("int64") for i in range(len(stages))},
    )
    row = (
        per.aggregate(
            **{f"r{i}": (per.furthest >= i).cast("int64").sum().fill_null(0) for i in range(len(stages))},
            **{f"seen{i}": per[f"s{i}"].sum().fill_null(0) for i in range(len(stages))},
        )
        .execute()
        .iloc[0]
    )
    if int(row["r0"]) == 0:
        raise MissingData(
            "The journey stage funnel needs events where people did something at a touchpoint of the "
            "journey map (cxlab.toml [journey.touchpoints]): none stored"
        )
    people = [int(row[f"r{i}"]) for i in range(len(stages))]
    df = pd.DataFrame(
        {
            "stage": list(stages),
            "people": people,
            "seen": [int(row[f"seen{i}"]) for i in range(len(stages))],
            "share_of_all": [n / total_people for n in people],
            "from_previous": [None, *people[1:]],
            "previous": [None, *people[:-1]],
        }
    )
    prev_n = df["previous"].fillna(0).astype(float)
    both_n = df["from_previous"].fillna(0).astype(float)
    df["rate_from_previous"] = both_n / prev_n.where(prev_n > 0)
    df["ci_low"], df["ci_high"] = wilson_interval(both_n, prev_n, level)
    tps = {s: [t for t, st in config.journey.touchpoints.items() if st == s] for s in stages}
    buys = ev.filter(ev.event == "purchase")
    buyers = int(buys.person_id.nunique().execute())
    return StageFunnel(df, total_people, level, tps, buyers or None)
