"""Paths: the most common sequences of touchpoints (or events) starting at, or ending in, a chosen one.

Each unit (person or session) contributes one path: from its first occurrence of ``start`` the next
``depth - 1`` nodes, or the ``depth - 1`` nodes leading up to its first occurrence of ``end`` (without either:
its first ``depth`` nodes). With ``collapse_loops`` a run of the same node (site > site > site) counts as one
step. Built with window functions and an ordered string aggregate in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.journey.data import journey_events
from cxlab.journey.figures import sankey
from cxlab.journey.funnels import Unit
from cxlab.journey.sessions import with_session_key

Node = Literal["touchpoint", "event"]
SEP = " > "


@dataclass(frozen=True)
class Paths:
    """The top paths (``path``, ``units``, ``share``) and the position-by-position links for a Sankey."""

    table: pd.DataFrame
    links: pd.DataFrame
    units: int
    node: Node
    start: str | None
    end: str | None
    depth: int
    collapse_loops: bool
    unit: Unit

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.summary(),
            "node": self.node,
            "start": self.start,
            "end": self.end,
            "depth": self.depth,
            "collapse_loops": self.collapse_loops,
            "unit": self.unit,
            "units": self.units,
            "paths": self.table.to_dict(orient="records"),
        }

    def summary(self) -> str:
        anchor = (
            f"starting at {self.start}"
            if self.start
            else f"ending in {self.end}"
            if self.end
            else "from the start"
        )
        return (
            f"Most common {self.node} paths {anchor}, up to {self.depth} steps"
            f"{', repeats collapsed' if self.collapse_loops else ''}; one path per {self.unit[:-1]}, "
            f"first occurrence; n = {self.units:,} {self.unit}."
        )

    def figure(self) -> go.Figure:
        lk = self.links.assign(
            source=self.links["pos"].astype(str) + ". " + self.links["source"],
            target=(self.links["pos"] + 1).astype(str) + ". " + self.links["target"],
            value=self.links["units"],
        )
        return sankey(
            lk, f"Paths {'from ' + self.start if self.start else 'to ' + str(self.end) if self.end else ''}"
        )


def _nodes(ev: ir.Table, node: Node, collapse_loops: bool) -> ir.Table:
    ev = ev.filter(ev[node].notnull()).mutate(node=ev[node])
    w = ibis.window(group_by=ev.unit_key, order_by=[ev.t, ev.event_id])
    if collapse_loops:
        ev = ev.mutate(prev=ev.node.lag().over(w))
        ev = ev.filter(ev.prev.isnull() | (ev.prev != ev.node))
        w = ibis.window(group_by=ev.unit_key, order_by=[ev.t, ev.event_id])
    return ev.mutate(rn=ibis.row_number().over(w))


def paths(
    con: BaseBackend,
    config: Config,
    *,
    start: str | None = None,
    end: str | None = None,
    depth: int = 4,
    node: Node = "touchpoint",
    collapse_loops: bool = True,
    unit: Unit = "people",
    top: int = 20,
    session_timeout_minutes: int | None = None,
) -> Paths:
    """Compute the :class:`Paths` (give ``start`` or ``end``, not both)."""
    if start and end:
        raise ValueError("give a start or an end, not both")
    if depth < 2:
        raise ValueError("depth must be at least 2")
    if node not in ("touchpoint", "event"):
        raise ValueError(f"node must be touchpoint or event, got {node!r}")
    ev = journey_events(con, config)
    if unit == "sessions":
        ev = with_session_key(ev, session_timeout_minutes or config.journey.session_timeout_minutes)
        ev = ev.mutate(unit_key=ev.session_key)
    else:
        ev = ev.mutate(unit_key=ev.person_id)
    nodes = _nodes(ev, node, collapse_loops)
    whole = ibis.window(group_by=nodes.unit_key)
    if start or end:
        target = start or end
        anchor = ibis.cases((nodes.node == target, nodes.rn), else_=ibis.null("int64")).min().over(whole)
    else:
        anchor = ibis.literal(1, "int64")
    nodes = nodes.mutate(anchor=anchor)
    nodes = nodes.filter(nodes.anchor.notnull())
    lo, hi = (nodes.anchor - (depth - 1), nodes.anchor) if end else (nodes.anchor, nodes.anchor + (depth - 1))
    kept = nodes.filter((nodes.rn >= lo) & (nodes.rn <= hi))
    kept = kept.mutate(pos=kept.rn - (kept.anchor - (depth - 1) if end else kept.anchor))
    per = kept.group_by("unit_key").aggregate(path=kept.node.group_concat(SEP, order_by=kept.rn))
    counted = per.group_by("path").aggregate(units=per.count()).order_by([ibis.desc("units"), "path"])
    table = counted.limit(top).execute()
    n_units = int(per.count().execute())
    table["share"] = table["units"] / n_units if n_units else float("nan")
    w = ibis.window(group_by=kept.unit_key, order_by=kept.rn)
    pairs = kept.mutate(target=kept.node.lead().over(w)).rename(source="node")
    pairs = pairs.filter(pairs.target.notnull())
    links = (
        pairs.group_by(["pos", "source", "target"])
        .aggregate(units=pairs.unit_key.nunique())
        .order_by(["pos", ibis.desc("units")])
        .execute()
    )
    links = links.groupby("pos", group_keys=False).head(12).reset_index(drop=True)
    return Paths(table, links, n_units, node, start, end, depth, collapse_loops, unit)
