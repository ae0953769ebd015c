"""Paths: the most common sequences of touchpoints (or events) starting at, or ending in, a chosen one.

Each unit (person or session) contributes one path: from its first occurrence of ``start`` the next
``depth - 1`` nodes, or the ``depth - 1`` nodes leading up to its first occurrence of ``end`` (without either:
its first ``depth`` nodes). With ``collapse_loops`` a run of the same node (site > site > site) counts as one
step. Built with two window passes in the engine; only the path counts come back.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.display import count, pct
from cxlab.errors import require_rows
from cxlab.identity import with_person_id
from cxlab.journey.figures import step_sankey
from cxlab.journey.funnels import Unit
from cxlab.journey.sessions import with_session_key

Node = Literal["touchpoint", "event"]
SEP = " > "


@dataclass(frozen=True)
class PathSummary:
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
        per = "person" if self.unit == "people" else "session"
        return (
            f"Most common {self.node} paths {anchor}, up to {self.depth} steps"
            f"{', repeats collapsed' if self.collapse_loops else ''}; one path per {per}, "
            f"first occurrence; n = {self.units:,} {self.unit}."
        )

    def headline(self) -> str:
        """What was found, in plain words: the most common path and how many took it."""
        who = "people" if self.unit == "people" else "visits"
        anchor = f"after the {self.start}" if self.start else f"before the {self.end}" if self.end else ""
        if not self.units or self.table.empty:
            return f"No {who} with a path {anchor} were found.".replace("  ", " ")
        top = self.table.iloc[0]
        return (
            f"The most common path {anchor} is {top['path']}: {count(top['units'])} of "
            f"{count(self.units)} {who} ({pct(top['share'])}). The top {len(self.table)} paths cover "
            f"{pct(self.table['units'].sum() / self.units, 0)} of them; the rest are spread over many others."
        ).replace("  ", " ")

    def figure(self) -> go.Figure:
        """The paths step by step, step 1 on the left (the most common moves of each step)."""
        anchor = f"from {self.start}" if self.start else f"to {self.end}" if self.end else ""
        return step_sankey(self.links, self.depth, html.escape(f"Paths {anchor}, step by step"))


def _sequences(
    ev: ir.Table, node: Node, collapse_loops: bool, depth: int, anchor: str | None, end: bool
) -> ir.Table:
    """One row per unit: ``c0..c{depth-1}``, the path's nodes by position (null where the path is shorter).

    Two window passes at most, each one sort: ``lag`` to drop repeats (``collapse_loops``), then ``lead`` (or,
    for paths ending in the anchor, ``lag``) 1..depth-1 with a running count of the anchor, so the row of its
    first occurrence carries the whole path.
    """
    ev = ev.filter(ev[node].notnull()).select("unit_key", "t", "event_id", node=ev[node])
    if collapse_loops:
        w = ibis.window(group_by=ev.unit_key, order_by=[ev.t, ev.event_id])
        ev = ev.mutate(prev=ev.node.lag().over(w))
        ev = ev.filter(ev.prev.isnull() | (ev.prev != ev.node)).drop("prev")
    w = ibis.window(group_by=ev.unit_key, order_by=[ev.t, ev.event_id])
    shift = (lambda j: ev.node.lag(j).over(w)) if end else (lambda j: ev.node.lead(j).over(w))
    cols = {f"n{j}": shift(j) for j in range(1, depth)}
    if anchor is None:
        first = ibis.row_number().over(w) == 0
    else:
        hit = (ev.node == anchor).cast("int64")
        seen = hit.sum().over(ibis.window(group_by=ev.unit_key, order_by=[ev.t, ev.event_id], rows=(None, 0)))
        first = (ev.node == anchor) & (seen == 1)
    rows = ev.mutate(first=first, **cols)
    rows = rows.filter(rows.first)
    if end:  # c0 is the furthest back, c{depth-1} the anchor
        pos = {f"c{depth - 1 - j}": rows[f"n{j}"] for j in range(1, depth)} | {f"c{depth - 1}": rows.node}
    else:
        pos = {"c0": rows.node} | {f"c{j}": rows[f"n{j}"] for j in range(1, depth)}
    return rows.select("unit_key", **{f"c{j}": pos[f"c{j}"] for j in range(depth)})


def _links(counted: pd.DataFrame, depth: int) -> pd.DataFrame:
    """Units per (position, source, target) from the path counts (each unit has one path)."""
    frames = []
    for j in range(depth - 1):
        a, b = f"c{j}", f"c{j + 1}"
        part = counted[counted[a].notna() & counted[b].notna()]
        frames.append(
            part.groupby([a, b], as_index=False)
            .agg(units=("units", "sum"))
            .rename(columns={a: "source", b: "target"})
            .assign(pos=j)
        )
    links = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if links.empty:
        return pd.DataFrame({"pos": [], "source": [], "target": [], "units": []})
    links = links[["pos", "source", "target", "units"]].astype({"pos": "int64", "units": "int64"})
    return links.sort_values(["pos", "units"], ascending=[True, False]).reset_index(drop=True)


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
) -> PathSummary:
    """Compute the :class:`PathSummary` (give ``start`` or ``end``, not both)."""
    if start and end:
        raise ValueError("give a start or an end, not both")
    if depth < 2:
        raise ValueError("depth must be at least 2")
    if node not in ("touchpoint", "event"):
        raise ValueError(f"node must be touchpoint or event, got {node!r}")
    require_rows(con, "events", "Paths")
    ev = with_person_id(con.table("events"))
    ev = ev.mutate(t=ev.ts.epoch_seconds().cast("int64"))
    if unit == "sessions":
        ev = with_session_key(ev, session_timeout_minutes or config.journey.session_timeout_minutes)
        ev = ev.mutate(unit_key=ev.session_key)
    else:
        ev = ev.mutate(unit_key=ev.person_id)
    seqs = _sequences(ev, node, collapse_loops, depth, start or end, end=bool(end))
    cols = [f"c{j}" for j in range(depth)]
    counted = seqs.group_by(cols).aggregate(units=seqs.count()).execute()
    n_units = int(counted["units"].sum()) if len(counted) else 0
    parts = counted[cols].astype(object).where(counted[cols].notna(), None).to_numpy().tolist()
    table = pd.DataFrame(
        {
            "path": [SEP.join(x for x in row if x is not None) for row in parts],
            "units": counted["units"].astype("int64").to_numpy(),
        }
    )
    table = table.groupby("path", as_index=False).agg(units=("units", "sum"))
    table = table.sort_values(["units", "path"], ascending=[False, True]).head(top).reset_index(drop=True)
    table["share"] = table["units"] / n_units if n_units else float("nan")
    links = _links(counted, depth).groupby("pos", group_keys=False).head(12).reset_index(drop=True)
    return PathSummary(table, links, n_units, node, start, end, depth, collapse_loops, unit)
