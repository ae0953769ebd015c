"""The journey map: for every stage × touchpoint, who got there, who moved on, how fast, and what they spent.

Counted honestly for non-linear journeys: a person counts once per touchpoint (their first touch there) and
"reaches the next stage" when they *do* something (not merely receive something, see
:data:`cxlab.journey.data.RECEIVED_EVENTS`) at a touchpoint of the next stage at a later second, whatever
they did in between (skipping, repeating, going back). The stage flow counts every move between two
different stages in each person's event sequence, backwards ones included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.display import count, pct
from cxlab.errors import require_rows
from cxlab.journey.data import attach_breakdown, journey_events
from cxlab.journey.figures import flow_matrix, grid_heatmap
from cxlab.stats.proportions import wilson_interval
from cxlab.voice.emotion import touchpoint_sentiment


@dataclass(frozen=True)
class JourneyMap:
    """Rows: breakdown × stage × touchpoint. ``flows``: people moving from one stage to another."""

    table: pd.DataFrame
    flows: pd.DataFrame
    stages: tuple[str, ...]
    people: int
    by: str | None = None
    level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "first touch per person and touchpoint; next stage = a later action at a next-stage "
            "touchpoint; Wilson intervals",
            "level": self.level,
            "people": self.people,
            "by": self.by,
            "stages": list(self.stages),
            "rows": _records(self.table),
            "flows": _records(self.flows),
        }

    def summary(self) -> str:
        return (
            f"Journey map over {len(self.stages)} stages and {self.table['touchpoint'].nunique()} touchpoints; "
            f"a person counts once per touchpoint; reaching the next stage = a later action there; "
            f"{self.level:.0%} Wilson intervals; n = {self.people:,} people."
        )

    def headline(self, min_people: int = 30) -> str:
        """What was found, in plain words: which touchpoint moves most people on to the next stage and which
        the fewest (among those with at least ``min_people`` people)."""
        t = self.table[self.table["share_next"].notna() & (self.table["people"] >= min_people)]
        if self.by:
            t = t[t["breakdown"] == t["breakdown"].iloc[0]] if len(t) else t
        if t.empty:
            return (
                f"{count(self.people)} people on a map of {len(self.stages)} stages; no touchpoint had "
                f"{min_people} people or more with a next stage to go on to."
            )
        ranked = t.sort_values("share_next", kind="stable")
        best, worst = ranked.iloc[-1], ranked.iloc[0]
        text = (
            f"{worst['touchpoint']} ({worst['stage']}) loses the most people: only "
            f"{pct(worst['share_next'], 0)} of the {count(worst['people'])} who did something there went on "
            f"to the next stage. {best['touchpoint']} ({best['stage']}) moves the most on: "
            f"{pct(best['share_next'], 0)}."
        )
        moods = self.table.dropna(subset=["sentiment"])
        if len(moods):
            low = moods.sort_values("sentiment", kind="stable").iloc[0]
            text += f" Feedback reads most negative about {low['touchpoint']}."
        return text

    def figure(self) -> go.Figure:
        t = self.table[self.table["breakdown"] == self.table["breakdown"].iloc[0]] if self.by else self.table
        return grid_heatmap(t, self.stages, "Share of people at each touchpoint who go on to the next stage")

    def flow_figure(self) -> go.Figure:
        """People who moved from one stage to another (rows: from, columns: to; backward moves included)."""
        return flow_matrix(self.flows, self.stages, "People moving from one stage to another")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): (None if pd.isna(v) else v) for k, v in r.items()} for r in df.to_dict(orient="records")]


def _next_stage_time(ev: ir.Table, n_stages: int) -> ir.Value:
    """Per row: the first later (next second on) action at a touchpoint of the row's next stage."""
    after = ibis.window(group_by=ev.person_id, order_by=ev.t, range=(1, None))
    nxt = {
        s: ibis.cases(((ev.stage_idx == s) & ev.engaged, ev.t), else_=ibis.null("int64")).min().over(after)
        for s in range(1, n_stages)
    }
    return ibis.cases(
        *[(ev.stage_idx == s - 1, nxt[s]) for s in range(1, n_stages)], else_=ibis.null("int64")
    )


def person_touchpoints(events: ir.Table, n_stages: int) -> ir.Table:
    """One row per person × touchpoint on the map: ``first_t`` (first touch) and ``next_t`` (first later
    action at a touchpoint of the next stage, null if none), ``acted`` (did something there, not only
    received) — an Ibis expression."""
    ev = events.filter(events.stage_idx.notnull())
    ev = ev.mutate(nxt=_next_stage_time(ev, n_stages) if n_stages > 1 else ibis.null("int64"))
    return ev.group_by(["person_id", "touchpoint", "stage", "stage_idx"]).aggregate(
        first_t=ev.t.min(), next_t=ev.nxt.min(), acted=ev.engaged.any()
    )


def journey_map(
    con: BaseBackend,
    config: Config,
    by: str | None = None,
    experiment: str | None = None,
    level: float = 0.95,
) -> JourneyMap:
    """Compute the :class:`JourneyMap` (optionally per breakdown: channel, country, device, variant, segment)."""
    require_rows(con, "events", "The journey map")
    stages = tuple(config.journey.stages)
    all_ev = journey_events(con, config)
    ev = all_ev.filter(all_ev.stage_idx.notnull())
    per = person_touchpoints(all_ev, len(stages))
    spend = all_ev.group_by("person_id").aggregate(revenue=all_ev.revenue.sum().fill_null(0.0))
    per = per.left_join(spend, "person_id").drop("person_id_right")
    per = attach_breakdown(con, all_ev, per, by, experiment)
    hours = (per.next_t - per.first_t).cast("float64") / 3600  # a float literal is a decimal on Spark
    agg = per.group_by(["breakdown", "stage_idx", "stage", "touchpoint"]).aggregate(
        people=per.count(),
        next_stage=per.next_t.notnull().cast("int64").sum(),
        median_hours=hours.quantile(0.5),
        p90_hours=hours.quantile(0.9),
        revenue=per.revenue.fill_null(0.0).sum(),
    )
    table = agg.order_by(["breakdown", "stage_idx", "touchpoint"]).execute()
    last = table["stage_idx"] == len(stages) - 1
    table["next_stage"] = table["next_stage"].astype("int64")
    table["share_next"] = (table["next_stage"] / table["people"]).where(~last)
    table["drop_off"] = 1 - table["share_next"]
    lo, hi = wilson_interval(table["next_stage"], table["people"].where(~last, 0), level)
    table["ci_low"], table["ci_high"] = lo, hi
    table["revenue_per_person"] = table["revenue"] / table["people"]
    mood = touchpoint_sentiment(con)
    sentiment = (
        mood.table.set_index("touchpoint")["net_sentiment"] if mood is not None else pd.Series(dtype=float)
    )
    table["sentiment"] = table["touchpoint"].map(sentiment).astype(float)  # NaN until `cxlab voice analyze`
    return JourneyMap(
        table=table.reset_index(drop=True),
        flows=_stage_flows(ev, stages),
        stages=stages,
        people=int(all_ev.person_id.nunique().execute()),
        by=by,
        level=level,
    )


def _stage_flows(ev: ir.Table, stages: tuple[str, ...]) -> pd.DataFrame:
    """People moving from one stage to a different one (consecutive stage runs of each person's events)."""
    w = ibis.window(group_by=ev.person_id, order_by=[ev.t, ev.event_id])
    moves = ev.mutate(prev=ev.stage_idx.lag().over(w))
    moves = moves.filter(moves.prev.notnull() & (moves.prev != moves.stage_idx))
    out = (
        moves.group_by(["prev", "stage_idx"])
        .aggregate(people=moves.person_id.nunique(), moves=moves.count())
        .order_by(["prev", "stage_idx"])
        .execute()
    )

    def text(values: list[str]) -> pd.Series:  # typed even when empty (no moves: one-stage journeys)
        return pd.Series(values, index=out.index, dtype=object)

    out["from_stage"] = text([stages[int(i)] for i in out["prev"]])
    out["to_stage"] = text([stages[int(i)] for i in out["stage_idx"]])
    out["direction"] = text(
        ["forward" if b > a else "back" for a, b in zip(out["prev"], out["stage_idx"], strict=True)]
    )
    return out[["from_stage", "to_stage", "direction", "people", "moves"]]
