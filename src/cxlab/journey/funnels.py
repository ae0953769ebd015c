"""Funnels: ordered steps within a conversion window, per person or per session, in the engine.

A unit (person or session) reaches step k when it did steps 1..k within ``window`` of a step-1 event:

* ``order="ordered"``: step 1, then step 2 at a later time (to the millisecond), …, others may happen in between; exclusion
  steps between two steps void a chain that has one in between;
* ``order="strict"``: the steps are consecutive events of the unit (nothing else in between);
* ``order="any"``: after a step-1 event, steps 2..k each happen at least once, in any order.

Each unit counts once, with its best step-1 event (the one that gets it furthest). For "ordered" this is the
algorithm of ClickHouse's ``windowFunnel``: at each step only the latest possible start of a chain matters.
On DuckDB (without exclusion steps) each unit's step events are one sorted list and each step a few list
passes (:func:`_ordered_lists`: one hash aggregation, no global sort). Elsewhere, and with exclusions, one
window pass per step (a running max) finds it (:func:`_ordered`); each pass sorts only the rows that matter
to its step, and the stitched, filtered events are computed once (``Table.cache()``) for all passes. Both
are checked against brute force and against each other (the PySpark tests). Fastest of all, per person on
DuckDB without exclusion or property steps, the funnel reads the journey layout (:mod:`cxlab.journey.layout`:
people stitched, events as sorted integer runs) when it is current, refreshing it first on a writable store;
a read-only store with a stale layout, and every other engine, reads the raw events.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend
from ibis.backends.duckdb import Backend as DuckDBBackend

from cxlab.config import Config
from cxlab.display import count, pct
from cxlab.errors import require_rows
from cxlab.identity import with_person_id
from cxlab.journey import layout
from cxlab.journey.data import attach_breakdown, journey_events
from cxlab.journey.sessions import with_session_key
from cxlab.stats.peers import Correction, adjust_pvalues, compare_with_peers
from cxlab.stats.proportions import wilson_interval
from cxlab.store.engine import is_spark_connect

Order = Literal["ordered", "strict", "any"]
MS = 1000
"""Ticks of the funnel's clock (``t``) per second."""
Unit = Literal["people", "sessions"]
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"90s"``, ``"2w"`` → seconds."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"bad duration {text!r}: expected a number and one of s, m, h, d, w (e.g. 7d)")
    return int(float(m.group(1)) * _SECONDS[m.group(2)])


@dataclass(frozen=True)
class Step:
    """Events matching ``field == name`` (field: event or touchpoint) and every ``where`` property value."""

    name: str
    field: Literal["event", "touchpoint"] = "event"
    where: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        base = self.name if self.field == "event" else f"touchpoint:{self.name}"
        return base + "".join(f"|{k}={v}" for k, v in self.where)

    @classmethod
    def parse(cls, text: str) -> Step:
        """``purchase``, ``touchpoint:checkout``, ``checkout|checkout_version=one_page``."""
        head, *props = text.strip().split("|")
        fld: Literal["event", "touchpoint"] = "event"
        if ":" in head:
            kind, head = head.split(":", 1)
            if kind not in ("event", "touchpoint", "tp"):
                raise ValueError(f"bad step {text!r}: prefix must be event: or touchpoint:")
            fld = "event" if kind == "event" else "touchpoint"
        where = []
        for p in props:
            if "=" not in p:
                raise ValueError(f"bad step {text!r}: property filter {p!r} needs key=value")
            k, v = p.split("=", 1)
            where.append((k.strip(), v.strip()))
        if not head.strip():
            raise ValueError(f"bad step {text!r}: empty name")
        return cls(head.strip(), fld, tuple(where))

    def matches(self, t: ir.Table) -> ir.BooleanValue:
        cond = t[self.field] == self.name
        for k, v in self.where:
            # the value as text: JSON on DuckDB ('"one_page"', '1'), bare on PySpark ('one_page', '1'); either
            # matches (unwrap_as("string") fails on PySpark with Ibis 12 and never matches numbers)
            got = t.properties.cast("json")[k].cast("string")
            cond &= got.isin([v, json.dumps(v, ensure_ascii=False)])
        return cond.fill_null(False)


@dataclass(frozen=True)
class Exclusion:
    """A step that voids a chain when it happens between step ``after`` and step ``before`` (1-based)."""

    step: Step
    after: int = 1
    before: int | None = None


@dataclass(frozen=True)
class Funnel:
    """Units reaching each step, conversion with Wilson intervals, time to convert, optional breakdown."""

    steps: pd.DataFrame
    time_to_convert: pd.DataFrame
    breakdown: pd.DataFrame | None
    window_s: int
    order: Order
    unit: Unit
    by: str | None = None
    level: float = 0.95
    correction: Correction = "holm"
    definition: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.steps.copy()

    def to_dict(self) -> dict[str, Any]:
        key = "customers" if self.unit == "people" else "sessions"
        steps = [
            {
                "step": r["step"],
                key: int(r["units"]),
                **{k: _num(v) for k, v in r.items() if k not in ("step",)},
            }
            for r in self.steps.to_dict(orient="records")
        ]
        out: dict[str, Any] = {
            "method": self.summary(),
            "unit": self.unit,
            "order": self.order,
            "window_seconds": self.window_s,
            "level": self.level,
            "interval": "Wilson score",
            "steps": steps,
            "time_to_convert": [
                {k: _num(v) for k, v in r.items()} for r in self.time_to_convert.to_dict(orient="records")
            ],
            **self.definition,
        }
        if self.breakdown is not None:
            out["by"] = self.by
            out["correction"] = self.correction
            out["breakdown"] = [
                {k: _num(v) for k, v in r.items()} for r in self.breakdown.to_dict(orient="records")
            ]
        return out

    def summary(self) -> str:
        n = int(self.steps["units"].iloc[0]) if len(self.steps) else 0
        return (
            f"{len(self.steps)}-step funnel ({self.order} order, window {self.window_s / 86400:g} days, "
            f"unique {self.unit}); conversion with {self.level:.0%} Wilson intervals; n = {n:,} {self.unit} "
            f"entering step 1"
            + (
                f"; each {self.by} vs the rest: two-proportion z-test, {self.correction}-corrected"
                if self.by
                else ""
            )
            + "."
        )

    def headline(self) -> str:
        """What was found, in plain words: how many got from the first step to the last, and the biggest
        drop between two steps."""
        t = self.steps
        who = "people" if self.unit == "people" else "visits"
        if t.empty or not int(t["units"].iloc[0]):
            return f"No {who} did the first step ({t['step'].iloc[0] if len(t) else 'none'})."
        first, last = t.iloc[0], t.iloc[-1]
        text = (
            f"Of {count(first['units'])} {who} with {first['step']}, {count(last['units'])} "
            f"({pct(last['conversion_from_first'])}) got to {last['step']} within "
            f"{self.window_s / 86400:g} days."
        )
        drops = t["drop_off"].iloc[1:]
        if drops.notna().any():
            i = int(np.nanargmax(drops.to_numpy(dtype=float))) + 1
            steps = [str(x) for x in t["step"]]
            text += (
                f" The biggest drop is from {steps[i - 1]} to {steps[i]}: {pct(drops.iloc[i - 1], 0)} did not "
                "go on."
            )
        return text

    def figure(self) -> go.Figure:
        t = self.steps
        fig = go.Figure(
            go.Funnel(
                y=t["step"].map(html.escape),
                x=t["units"],
                textinfo="value+percent initial",
                hovertemplate="%{y}: %{x:,}<extra></extra>",
            )
        )
        fig.update_yaxes(automargin=True)
        fig.update_layout(title=f"Funnel (unique {self.unit})", height=140 + 60 * len(t))
        return fig

    def breakdown_figure(self) -> go.Figure | None:
        """Overall conversion per breakdown value with its 95% Wilson interval (None without a breakdown)."""
        if self.breakdown is None or self.by is None:
            return None
        t = self.breakdown.iloc[::-1]
        fig = go.Figure(
            go.Bar(
                x=t["conversion"] * 100,
                y=[html.escape(str(v)) for v in t["value"]],
                orientation="h",
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (t["ci_high"] - t["conversion"]) * 100,
                    "arrayminus": (t["conversion"] - t["ci_low"]) * 100,
                },
                hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
            )
        )
        fig.update_layout(
            title=f"Conversion from first to last step by {html.escape(self.by)} (95% Wilson interval)",
            xaxis_title="% converted",
            height=140 + 26 * len(t),
        )
        fig.update_yaxes(automargin=True)
        return fig


def _num(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if np.isnan(v) else float(v)
    return v


def _levels(f: ir.Table, k: int, window_s: int, order: Order, excl: Sequence[Exclusion]) -> ir.Table:
    """``f`` plus ``v1..vk`` (row completes step i of a valid chain) and ``a1..ak`` (that chain's start)."""
    f = f.mutate(v1=f.m1, a1=ibis.cases((f.m1, f.t), else_=ibis.null("int64")))
    if order == "any":
        after = ibis.window(group_by=f.unit_key, order_by=f.t, range=(0, None))
        f = f.mutate(
            **{
                f"n{i}": ibis.cases((f[f"m{i}"], f.t), else_=ibis.null("int64")).min().over(after)
                for i in range(2, k + 1)
            }
        )
        for i in range(2, k + 1):
            parts = [f[f"n{j}"] for j in range(2, i + 1)]
            latest = ibis.greatest(*parts) if len(parts) > 1 else parts[0]
            seen = ibis.literal(True)
            for p in parts:  # GREATEST skips nulls on some engines: every step must have happened
                seen &= p.notnull()
            ok = f.m1 & seen & (latest - f.t <= window_s).fill_null(False)
            f = f.mutate(
                **{f"v{i}": ok, f"a{i}": ibis.cases((ok, f.t), else_=ibis.null("int64")), f"c{i}": latest}
            )
        return f
    for i in range(2, k + 1):
        prev_v, prev_a = f[f"v{i - 1}"], f[f"a{i - 1}"]
        if order == "strict":
            w = ibis.window(group_by=f.unit_key, order_by=[f.t, f.event_id])
            start = prev_a.lag().over(w)
            ok = f[f"m{i}"] & start.notnull() & (f.t - start <= window_s).fill_null(False)
        else:
            before = ibis.window(group_by=f.unit_key, order_by=f.t, range=(None, -1))
            start = prev_a.max().over(before)
            ok = f[f"m{i}"] & start.notnull() & (f.t - start <= window_s).fill_null(False)
            rules = [x for x in excl if x.after <= i - 1 and i <= (x.before or k)]
            if rules:
                last_valid = ibis.cases((prev_v, f.t), else_=ibis.null("int64")).max().over(before)
                hit = ibis.literal(False)
                for x in rules:
                    hit |= f[f"x{excl.index(x)}"]
                last_x = ibis.cases((hit, f.t), else_=ibis.null("int64")).max().over(before)
                ok &= last_x.isnull() | (last_valid > last_x).fill_null(False)
        f = f.mutate(**{f"v{i}": ok, f"a{i}": ibis.cases((ok, start), else_=ibis.null("int64"))})
    return f


def _ordered(f: ir.Table, keys: Sequence[str], k: int, window_s: int, excl: Sequence[Exclusion]) -> ir.Table:
    """Rows ``keys, t, a, lvl`` (and ``person_id`` on step-1 rows, if ``f`` has it): every event that completes
    step ``lvl`` of a valid chain, with the latest start ``a`` of such a chain (``order="ordered"``).

    One window pass per step over only the rows that matter to it: the valid rows of the step before
    (sources, carrying their chain start) and the events matching this step (queries), plus the exclusion
    events that can void it. Ordered by time with queries before sources at the same second, a cumulative
    max of the start over the rows so far is the latest chain start from strictly earlier events.
    """
    nul = ibis.null("int64")
    first = f.filter(f.m1)
    level = first.select(*keys, "t", a=first.t)
    carry = {"person_id": first.person_id} if "person_id" in f.columns else {}
    out = [first.select(*keys, "t", a=first.t, lvl=ibis.literal(1, "int64"), **carry)]
    for i in range(2, k + 1):
        rules = [j for j, x in enumerate(excl) if x.after <= i - 1 and i <= (x.before or k)]
        flag = {"x": ibis.literal(False)} if rules else {}
        parts = [
            level.select(*keys, "t", "a", kind=ibis.literal(1, "int8"), **flag),
            f.filter(f[f"m{i}"]).select(*keys, "t", a=nul, kind=ibis.literal(0, "int8"), **flag),
        ]
        if rules:
            hit = ibis.literal(False)
            for j in rules:
                hit |= f[f"x{j}"]
            xs = f.filter(hit)
            parts.append(xs.select(*keys, "t", a=nul, kind=ibis.literal(1, "int8"), x=ibis.literal(True)))
        u = ibis.union(*parts, distinct=False)
        w = ibis.window(group_by=[u[c] for c in keys], order_by=[u.t, u.kind], rows=(None, 0))
        u = u.mutate(s=u.a.max().over(w))
        ok = (u.kind == 0) & u.s.notnull() & (u.t - u.s <= window_s)
        if rules:
            u = u.mutate(
                last_valid=ibis.cases((u.a.notnull(), u.t), else_=nul).max().over(w),
                last_x=ibis.cases((u.x, u.t), else_=nul).max().over(w),
            )
            ok &= u.last_x.isnull() | (u.last_valid > u.last_x).fill_null(False)
        level = u.filter(ok).select(*keys, "t", a=u.s)
        nobody = {"person_id": ibis.null("string")} if carry else {}
        out.append(level.mutate(lvl=ibis.literal(i, "int64"), **nobody))
    return ibis.union(*out, distinct=False)


def _ordered_lists(f: ir.Table, k: int, window_s: int, overlap: bool) -> ir.Table:
    """``order="ordered"`` without exclusions, on DuckDB: the rows of :func:`_per_unit` from per-unit lists.

    Each unit's step events become one sorted list of integers ``t * m + code`` (one hash aggregation and a
    short sort per unit, no global sort; a later step sorts first within a millisecond, so "strictly later" holds).
    The latest chain start at step i, for each step-i event, is the start carried by the latest step-(i−1)
    event before it; positions in the list filtered to steps i−1 and i give that event's rank, so each step
    is a few list passes. Without window pruning this is exact: starts grow with time, so a chain too long
    at step i−1 can't become valid later. Written as DuckDB SQL because Ibis inlines each reused array
    expression (20 s instead of 2 s at 10M events); other backends use the window passes of :func:`_ordered`.
    ``overlap``: an event can be more than one step (a step repeated, overlapping filters), so it is listed
    once per step it is.
    """
    m = 1 << (k + 1).bit_length()  # step i has code m-1-i: later steps first within a millisecond
    t = f"(t + {1 << 36})"  # >= 0 for any date after 200 BC, so % and // decode; only differences are used
    code = " ".join(f"WHEN m{i} THEN {m - 1 - i}" for i in range(1, k + 1))
    again = "".join(
        f", list({t} * {m} + {m - 1 - i}) FILTER (WHERE m{i} AND ({' OR '.join(f'm{j}' for j in range(1, i))}))"
        for i in range(2, k + 1)
        if overlap
    )
    person = "min(person_id)" if "person_id" in f.columns else "unit_key"
    ctes = [
        f"g AS (SELECT unit_key, {person} AS person_id, min(t) FILTER (WHERE m1) AS first_t, "
        f"list_sort(list_concat(list({t} * {m} + CASE {code} END){again})) AS x "
        f"FROM _funnel_marked GROUP BY unit_key HAVING bool_or(m1))",
        f"s1 AS (SELECT *, list_transform(list_filter(x, lambda v: v % {m} = {m - 2}), lambda v: v // {m}) "
        f"AS b1 FROM g)",
    ]
    for i in range(2, k + 1):
        ci, cp = m - 1 - i, m - i
        y = f"list_filter(x, lambda v: v % {m} IN ({ci}, {cp}))"
        pos = f"list_filter(list_transform(_y, lambda v, j: CASE WHEN v % {m} = {ci} THEN j END), lambda j: j IS NOT NULL)"
        carry = f", list_transform(_p, lambda p, j: b{i - 1}[p - j]) AS b{i}" if i < k else ""
        done = f"coalesce(list_min(_d) <= {window_s}, false) AS r{i}"
        if i == k:
            done += f", CASE WHEN list_min(_d) <= {window_s} THEN list_min(_d) END AS ttc"
        ctes.append(
            f"s{i} AS (SELECT * EXCLUDE (_y, _p, _d, b{i - 1}), {done} FROM (SELECT *, "
            f"list_transform(_p, lambda p, j: _y[p] // {m} - b{i - 1}[p - j]) AS _d{carry} "
            f"FROM (SELECT *, {pos} AS _p FROM (SELECT *, {y} AS _y FROM s{i - 1}))))"
        )
    reached = ", ".join(f"r{i}" for i in range(2, k + 1))
    ttc = "ttc" if k > 1 else "0::BIGINT AS ttc"
    query = (
        f"WITH {', '.join(ctes)} SELECT unit_key, person_id, first_t, true AS r1, "
        f"{reached + ', ' if reached else ''}{ttc} FROM s{k}"
    )
    return f.alias("_funnel_marked").sql(query, dialect="duckdb")


def _check(k: int, window_s: int, order: Order, exclusions: Sequence[Exclusion]) -> None:
    if k < 1:
        raise ValueError("a funnel needs at least one step")
    if window_s <= 0:
        raise ValueError("the conversion window must be positive")
    if exclusions and order != "ordered":
        raise ValueError("exclusion steps need order='ordered'")
    for x in exclusions:
        if not (1 <= x.after < (x.before or k) <= k):
            raise ValueError(f"exclusion {x.step.label}: needs 1 <= after < before <= {k} steps")


def check_names(
    con: BaseBackend, steps: Sequence[Step], stored: Mapping[str, list[str]] | None = None
) -> None:
    """Raise ``ValueError`` for a step whose event or touchpoint name is stored nowhere (a typo), naming the
    closest stored names; one small query for the distinct names unless ``stored`` gives them (event and
    touchpoint → sorted names)."""
    if stored is None:
        ev = con.table("events")
        names = ev.select("event", "touchpoint").distinct().execute()
        stored = {f: sorted({str(v) for v in names[f].dropna()}) for f in ("event", "touchpoint")}
    for s in steps:
        known = stored[s.field]
        if s.name in known:
            continue
        close = difflib.get_close_matches(s.name, known, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else f"stored: {', '.join(known[:12]) or 'none'}"
        noun = "event" if s.field == "event" else "touchpoint"
        raise ValueError(f"funnel step {s.label!r}: no stored {noun} is called {s.name!r}; {hint}")


def _marked(
    con: BaseBackend,
    config: Config,
    steps: Sequence[Step],
    order: Order,
    unit: Unit,
    exclusions: Sequence[Exclusion],
    session_timeout_minutes: int | None,
) -> ir.Table:
    """The events a funnel looks at, narrow: ``unit_key``, ``t``, step marks ``m1..mk`` and exclusion marks
    ``x0..``, plus ``person_id`` for sessions and ``event_id`` for strict order (which keeps every event).

    Per person, the step events are picked before people are stitched, so only they go through the join;
    sessions and strict order need every event of a person, so they stitch first."""
    raw = con.table("events")
    matchers = [*steps, *(x.step for x in exclusions)]
    pick_first = unit == "people" and order != "strict"
    if pick_first:
        ev = with_person_id(raw.filter(_any_match(raw, matchers)), links_from=raw)
    else:
        ev = with_person_id(raw)
    ev = ev.mutate(t=ev.ts.epoch_seconds().cast("int64"))
    if unit == "sessions":
        ev = with_session_key(ev, session_timeout_minutes or config.journey.session_timeout_minutes)
        ev = ev.mutate(unit_key=ev.session_key)
    elif unit == "people":
        ev = ev.mutate(unit_key=ev.person_id)
    else:
        raise ValueError(f"unit must be people or sessions, got {unit!r}")
    # the funnel's clock in milliseconds: a snippet sends a page view and a click within one second
    ev = ev.mutate(t=ev.t * MS + ev.ts.millisecond().cast("int64"))
    if order != "strict" and not pick_first:
        ev = ev.filter(_any_match(ev, matchers))
    marks = {f"m{i + 1}": s.matches(ev) for i, s in enumerate(steps)}
    marks |= {f"x{j}": x.step.matches(ev) for j, x in enumerate(exclusions)}
    extra = (["person_id"] if unit == "sessions" else []) + (["event_id"] if order == "strict" else [])
    return ev.select("unit_key", "t", *extra, **marks)


def _any_match(t: ir.Table, steps: Sequence[Step]) -> ir.BooleanValue:
    """Rows matching any of ``steps``; plain event steps as one ``IN``, which the engine can push into its
    scan."""
    plain = sorted({s.name for s in steps if s.field == "event" and not s.where})
    cond = t.event.isin(plain) if plain else ibis.literal(False)
    for s in steps:
        if s.field != "event" or s.where:
            cond |= s.matches(t)
    return cond


def _uses_lists(con: BaseBackend, order: Order, exclusions: Sequence[Exclusion]) -> bool:
    """Whether the funnel runs as :func:`_ordered_lists` (ordered, no exclusion steps, on DuckDB)."""
    return order == "ordered" and not exclusions and con.name == "duckdb"


def _per_unit(
    f: ir.Table,
    steps: Sequence[Step],
    window_s: int,
    order: Order,
    exclusions: Sequence[Exclusion],
    lists: bool,
) -> ir.Table:
    """One row per unit that did step 1: ``unit_key``, ``person_id``, ``first_t``, ``r1..rk``, ``ttc``;
    ``lists``: the ordered funnel from per-unit lists (:func:`_uses_lists`)."""
    k = len(steps)
    person = f.person_id if "person_id" in f.columns else f.unit_key
    if lists:
        distinct = len({(s.field, s.name) for s in steps}) == k and len({s.field for s in steps}) == 1
        return _ordered_lists(f, k, window_s, overlap=not distinct)
    if order == "ordered":
        rows = _ordered(f, ["unit_key"], k, window_s, exclusions)
        per = rows.group_by("unit_key").aggregate(
            **({"person_id": rows.person_id.min()} if "person_id" in rows.columns else {}),
            first_t=ibis.cases((rows.lvl == 1, rows.t), else_=ibis.null("int64")).min(),
            **{f"r{i}": (rows.lvl >= i).any() for i in range(1, k + 1)},
            ttc=ibis.cases((rows.lvl == k, rows.t - rows.a), else_=ibis.null("int64")).min(),
        )
        if "person_id" not in per.columns:  # people: the unit is the person
            per = per.mutate(person_id=per.unit_key)
        return per.select("unit_key", "person_id", "first_t", *[f"r{i}" for i in range(1, k + 1)], "ttc")
    f = _levels(f, k, window_s, order, exclusions)
    f = f.mutate(ttc=ibis.cases((f[f"v{k}"], f.t - f[f"a{k}"]), else_=ibis.null("int64")))
    if order == "any" and k > 1:
        f = f.mutate(ttc=ibis.cases((f[f"v{k}"], f[f"c{k}"] - f.t), else_=ibis.null("int64")))
    return (
        f.group_by("unit_key")
        .aggregate(
            person_id=person.min(),
            first_t=ibis.cases((f.m1, f.t), else_=ibis.null("int64")).min(),
            **{f"r{i}": f[f"v{i}"].any() for i in range(1, k + 1)},
            ttc=f.ttc.min(),
        )
        .filter(lambda t: t.r1)
    )


def funnel(
    con: BaseBackend,
    config: Config,
    steps: Sequence[Step | str],
    window: str | int = "7d",
    *,
    order: Order = "ordered",
    unit: Unit = "people",
    exclusions: Sequence[Exclusion] = (),
    by: str | None = None,
    experiment: str | None = None,
    level: float = 0.95,
    correction: Correction = "holm",
    session_timeout_minutes: int | None = None,
) -> Funnel:
    """Compute a :class:`Funnel`; ``steps`` as :class:`Step` or strings (see :meth:`Step.parse`)."""
    parsed = [s if isinstance(s, Step) else Step.parse(s) for s in steps]
    window_s = parse_duration(window) if isinstance(window, str) else int(window)
    k = len(parsed)
    _check(k, window_s, order, exclusions)
    require_rows(con, "events", "A funnel")
    duck = _layout_connection(con, parsed, order, unit, exclusions)
    units = None if duck is None else _layout_units(con, duck, parsed, window_s * MS, by)
    if units is not None:
        with ExitStack() as stack:
            if by:
                units = stack.enter_context(units.cache())
            return _funnel(
                con,
                config,
                units,
                parsed,
                window_s,
                order,
                unit,
                exclusions,
                by,
                experiment,
                level,
                correction,
            )
    check_names(con, parsed)
    marked = _marked(con, config, parsed, order, unit, exclusions, session_timeout_minutes)
    lists = _uses_lists(con, order, exclusions)
    with ExitStack() as stack:
        if order == "ordered" and k > 1 and not lists:  # one window pass per step reads the marked events:
            marked = stack.enter_context(marked.cache())  # stitch people once
        per = _per_unit(marked, parsed, window_s * MS, order, exclusions, lists)
        if by and not (is_spark_connect(con) and order == "ordered" and k > 1 and not lists):
            per = stack.enter_context(per.cache())  # read twice: per breakdown value and overall
        return _funnel(
            con, config, per, parsed, window_s, order, unit, exclusions, by, experiment, level, correction
        )


def _layout_connection(
    con: BaseBackend, steps: Sequence[Step], order: Order, unit: Unit, exclusions: Sequence[Exclusion]
) -> duckdb.DuckDBPyConnection | None:
    """The DuckDB connection to read the journey layout (:mod:`cxlab.journey.layout`) through, when this
    funnel can: ordered, per person, no exclusion or property steps, on DuckDB, with the layout current (made
    current first when the store is writable). None: the funnel reads the raw events."""
    if not (isinstance(con, DuckDBBackend) and order == "ordered" and unit == "people" and not exclusions):
        return None
    if any(s.where for s in steps):
        return None
    return con.con if layout.ready(con.con) else None


def _layout_units(
    con: BaseBackend, duck: duckdb.DuckDBPyConnection, steps: Sequence[Step], window_ms: int, by: str | None
) -> ir.Table | None:
    """:func:`_per_unit`'s rows from the layout (step names checked against its codes); with ``by``, the
    people's ids joined on for the breakdown. None when the layout's keys can't hold this store."""
    stored = layout.names(duck)
    check_names(con, steps, {"event": stored["ev"], "touchpoint": stored["tp"]})
    cols = {"event": "ev", "touchpoint": "tp"}
    coded = layout.codes(duck, [(cols[s.field], s.name) for s in steps])
    try:
        units = ibis.memtable(layout.funnel_units(duck, coded, window_ms))
    except OverflowError:  # person numbers and time span too wide for the layout's keys
        return None
    if not by:
        return units.mutate(person_id=units.unit_key)
    people = con.table(layout.PEOPLE)
    joined = units.join(people, units.unit_key == people.pid)
    return joined.select(*units.columns, person_id=joined.person_id)


def _funnel(
    con: BaseBackend,
    config: Config,
    units: ir.Table,
    parsed: Sequence[Step],
    window_s: int,
    order: Order,
    unit: Unit,
    exclusions: Sequence[Exclusion],
    by: str | None,
    experiment: str | None,
    level: float,
    correction: Correction,
) -> Funnel:
    k = len(parsed)
    per = units
    per = (
        attach_breakdown(con, journey_events(con, config), per, by, experiment)
        if by
        else per.mutate(breakdown=ibis.literal("all"))
    )
    agg = per.group_by("breakdown").aggregate(
        **{f"r{i}": per[f"r{i}"].cast("int64").sum() for i in range(1, k + 1)},
        **{f"q{j}": per.ttc.quantile(q) for j, q in enumerate(QUANTILES)},
        ttc_mean=per.ttc.mean(),
    )
    res = agg.execute()
    counts = res[[f"r{i}" for i in range(1, k + 1)]].fillna(0).to_numpy(dtype=np.int64)
    total = counts.sum(axis=0) if len(res) else np.zeros(k, dtype=np.int64)
    steps_df = _step_table([s.label for s in parsed], total, level)
    tq = res.iloc[0] if by is None and len(res) else _overall_ttc(units)
    ttc = pd.DataFrame(
        {
            "quantile": [*QUANTILES, "mean"],
            "hours": [_h(tq[f"q{j}"]) for j in range(len(QUANTILES))] + [_h(tq["ttc_mean"])],
        }
    )
    breakdown = _breakdown(res, k, level, correction) if by else None
    definition = {
        "exclusions": [{"step": x.step.label, "after": x.after, "before": x.before or k} for x in exclusions]
    }
    return Funnel(steps_df, ttc, breakdown, window_s, order, unit, by, level, correction, definition)


def _h(v: Any) -> float:
    """Milliseconds (the funnel's clock) as hours."""
    return float(v) / 3600.0 / MS if v is not None and not pd.isna(v) else float("nan")


def _overall_ttc(per: ir.Table) -> Mapping[str, Any]:
    row = per.aggregate(
        **{f"q{j}": per.ttc.quantile(q) for j, q in enumerate(QUANTILES)}, ttc_mean=per.ttc.mean()
    ).execute()
    return row.iloc[0]


def _step_table(labels: Sequence[str], counts: np.ndarray, level: float) -> pd.DataFrame:
    first = np.full(len(counts), counts[0] if len(counts) else 0)
    prev = np.r_[counts[:1], counts[:-1]]
    lo_p, hi_p = wilson_interval(counts, prev, level)
    lo_f, hi_f = wilson_interval(counts, first, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        conv_prev = np.where(prev > 0, counts / prev, np.nan)
        conv_first = np.where(first > 0, counts / first, np.nan)
    return pd.DataFrame(
        {
            "step": list(labels),
            "units": counts.astype(np.int64),
            "conversion_from_previous": conv_prev,
            "ci_low_previous": lo_p,
            "ci_high_previous": hi_p,
            "conversion_from_first": conv_first,
            "ci_low_first": lo_f,
            "ci_high_first": hi_f,
            "drop_off": 1 - conv_prev,
        }
    )


def _breakdown(res: pd.DataFrame, k: int, level: float, correction: Correction) -> pd.DataFrame:
    """Overall conversion (step 1 → last) per breakdown value, each tested against all the others pooled."""
    t = pd.DataFrame(
        {
            "group": "all",
            "value_label": res["breakdown"].astype(str),
            "n": res["r1"].astype(np.int64),
            "total": res[f"r{k}"].astype(np.int64),
        }
    )
    cmp = compare_with_peers(t, kind="proportion", level=level)
    lo, hi = wilson_interval(cmp["total"], cmp["n"], level)
    out = pd.DataFrame(
        {
            "value": cmp["value_label"],
            "entered": cmp["n"],
            "converted": cmp["total"],
            "conversion": cmp["value"],
            "ci_low": lo,
            "ci_high": hi,
            "rest_conversion": cmp["peer_value"],
            "diff": cmp["diff"],
            "diff_ci_low": cmp["ci_low"],
            "diff_ci_high": cmp["ci_high"],
            "p_value": cmp["p_value"],
            "p_adjusted": adjust_pvalues(cmp["p_value"], correction),
        }
    )
    out["significant"] = out["p_adjusted"] < 1 - level
    return out.sort_values(["entered", "value"], ascending=[False, True]).reset_index(drop=True)
