"""The change log: every change to the experience, tied to its measured effect.

A change with an experiment gets that experiment's result (causal: randomised). A change without one gets
a before/after comparison of its touchpoint's KPIs over ``window_days`` on each side, with intervals and
a warning that it is not causal. Two changes on the same touchpoint overlap when one is made inside the
other's window (its experiment's exposure period, or ``window_days`` either side): when two things change
at once, neither effect can be told apart ("one variable at a time" is broken).

Touchpoint KPIs, all per person reached (so they compare across periods of different traffic):
for each event at the touchpoint other than its most frequent one (the *reach* event), the ratio of that
event to the reach event (``email_click per email_sent``, ``purchase per checkout``), with delta-method
intervals; and for each feedback source on the touchpoint (CES, CSAT, review, NPS), the mean score.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.experiments.analysis import ExperimentResult, analyze
from cxlab.experiments.definitions import MetricDef
from cxlab.experiments.experiment import analyze_experiment
from cxlab.experiments.sufficient import Kind, SufficientStats
from cxlab.identity import with_person_id
from cxlab.schema import TABLES
from cxlab.store import Store

DEFAULT_WINDOW_DAYS = 28
NOT_CAUSAL = (
    "Before/after comparison, not an experiment: seasonality, trends, campaigns and other changes can "
    "explain a difference as well as this change can. Treat it as a lead to test, not as proof."
)


def utc_naive(ts: datetime) -> datetime:
    """A timestamp as the store keeps it: naive UTC."""
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def next_change_id(con: BaseBackend) -> str:
    """``CH`` and one more than the highest ``CHnnn`` id so far (``CH001`` in an empty log)."""
    ids = con.table("changes").select("change_id").execute()["change_id"]
    nums = [int(m.group(1)) for i in ids if (m := re.fullmatch(r"CH(\d+)", str(i)))]
    return f"CH{max(nums, default=0) + 1:03d}"


def add_change(
    store: Store,
    touchpoint: str,
    description: str,
    *,
    ts: datetime | None = None,
    experiment_id: str | None = None,
    change_id: str | None = None,
) -> dict[str, Any]:
    """Record a change (idempotent on ``change_id``; an id already used is an error) and return it."""
    if not touchpoint.strip() or not description.strip():
        raise ValueError("a change needs a touchpoint and a description")
    when = utc_naive(ts) if ts is not None else datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    cid = change_id or next_change_id(store.ibis())
    row = {
        "change_id": cid,
        "ts": when,
        "touchpoint": touchpoint,
        "description": description,
        "experiment_id": experiment_id,
    }
    table = pa.Table.from_pylist([row], schema=TABLES["changes"].arrow_schema)
    report = store.ingest("changes", table, name=f"change {cid}")
    if report.duplicate:
        raise ValueError(f"change {cid!r} already exists (choose another --id)")
    return row


@dataclass(frozen=True)
class ChangeLog:
    """The changes in time order, each with the changes it overlaps (same touchpoint, windows meet)."""

    table: pd.DataFrame
    window_days: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        rows = self.table.assign(ts=self.table["ts"].map(lambda t: t.isoformat()))
        records = rows.to_dict(orient="records")
        for r in records:
            r["experiment_id"] = None if pd.isna(r["experiment_id"]) else r["experiment_id"]
        return {"window_days": self.window_days, "changes": records}

    def summary(self) -> str:
        flagged = int((self.table["overlaps"].map(len) > 0).sum())
        return (
            f"{len(self.table)} change(s); {flagged} overlap another change on the same touchpoint within "
            f"{self.window_days} days (one variable at a time broken)."
        )

    def figure(self) -> go.Figure:
        """A timeline: one row per touchpoint, a marker per change (red where it overlaps another)."""
        t = self.table
        fig = go.Figure(
            go.Scatter(
                x=t["ts"],
                y=[html.escape(str(v)) for v in t["touchpoint"]],
                mode="markers+text",
                text=[html.escape(str(v)) for v in t["change_id"]],
                textposition="top center",
                marker={
                    "size": 12,
                    "color": ["#cf222e" if o else "#0969da" for o in t["overlaps"]],
                    "symbol": ["diamond" if isinstance(e, str) else "circle" for e in t["experiment_id"]],
                },
                hovertext=[html.escape(str(v)) for v in t["description"]],  # Plotly renders hover as HTML
            )
        )
        fig.update_layout(title="Change log (◆ tested by an experiment, red: overlapping)", height=320)
        return fig


def _spans(con: BaseBackend, changes: pd.DataFrame, window: timedelta) -> pd.DataFrame:
    """Each change's window: its experiment's exposure period, else ``window`` either side of it."""
    x = con.table("exposures")
    periods = x.group_by("experiment_id").aggregate(start=x.ts.min(), end=x.ts.max()).execute()
    periods = periods.set_index("experiment_id")
    start, end = [], []
    for ts, exp in zip(changes["ts"], changes["experiment_id"], strict=True):
        if isinstance(exp, str) and exp in periods.index:
            start.append(min(ts, periods.at[exp, "start"]))
            end.append(periods.at[exp, "end"])
        else:
            start.append(ts - window)
            end.append(ts + window)
    return changes.assign(window_start=start, window_end=end)


def change_log(con: BaseBackend, window_days: int = DEFAULT_WINDOW_DAYS) -> ChangeLog:
    """All changes, each with the changes on its touchpoint made inside its window or whose window holds it."""
    if window_days < 1:
        raise ValueError(f"window must be at least one day, got {window_days}")
    df = con.table("changes").execute().sort_values(["ts", "change_id"], ignore_index=True)
    df["experiment_id"] = df["experiment_id"].astype(object).where(df["experiment_id"].notna(), None)
    df = _spans(con, df, timedelta(days=window_days))
    overlaps: list[list[str]] = []
    for i, r in df.iterrows():  # a change log has tens of rows, not millions
        same = df[(df["touchpoint"] == r["touchpoint"]) & (df.index != i)]
        inside = (same["ts"] >= r["window_start"]) & (same["ts"] <= r["window_end"])
        around = (r["ts"] >= same["window_start"]) & (r["ts"] <= same["window_end"])
        hit = same[inside | around]
        overlaps.append(list(hit["change_id"]))
    df["overlaps"] = overlaps
    return ChangeLog(df, window_days)


@dataclass(frozen=True)
class ChangeImpact:
    """A change and its measured effect: an experiment result, a before/after comparison, or nothing."""

    change: dict[str, Any]
    evidence: Literal["experiment", "before_after", "none"]
    result: ExperimentResult | None
    overlaps: tuple[str, ...] = ()
    window_days: int = DEFAULT_WINDOW_DAYS
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def causal(self) -> bool:
        return self.evidence == "experiment"

    @property
    def warnings(self) -> list[str]:
        out = [] if self.causal or self.evidence == "none" else [NOT_CAUSAL]
        if self.overlaps:
            out.append(
                f"Overlaps {', '.join(self.overlaps)} on the same touchpoint: more than one variable changed "
                "at a time, so their effects can't be told apart."
            )
        return out

    def to_frame(self) -> pd.DataFrame:
        if self.result is None:
            return pd.DataFrame()
        return self.result.to_frame().assign(change_id=self.change["change_id"], evidence=self.evidence)

    def to_dict(self) -> dict[str, Any]:
        change = self.change | {"ts": pd.Timestamp(self.change["ts"]).isoformat()}
        return {
            "change": change,
            "evidence": self.evidence,
            "causal": self.causal,
            "window_days": self.window_days if self.evidence == "before_after" else None,
            "overlaps": list(self.overlaps),
            "warnings": self.warnings,
            "notes": list(self.notes),
            "result": self.result.to_dict() if self.result is not None else None,
        }

    def summary(self) -> str:
        c = self.change
        head = f"{c['change_id']} {pd.Timestamp(c['ts']):%Y-%m-%d} {c['touchpoint']}: {c['description']}"
        how = {
            "experiment": f"Evidence: experiment {c['experiment_id']} (randomised, causal).",
            "before_after": f"Evidence: before/after, {self.window_days} days either side (not causal).",
            "none": "Evidence: none (" + "; ".join(self.notes) + ")",
        }[self.evidence]
        parts = [head, how, *(f"WARNING: {w}" for w in self.warnings)]
        if self.result is not None:
            parts.append(self.result.summary())
        return "\n".join(parts)

    def figure(self) -> go.Figure | None:
        return self.result.figure() if self.result is not None else None


def _before_after_stats(
    con: BaseBackend, touchpoint: str, t0: datetime, window: timedelta
) -> tuple[SufficientStats | None, list[str]]:
    """Touchpoint KPIs before (``[t0 - window, t0)``) and after (``[t0, t0 + window)``) a change."""
    lo, hi = t0 - window, t0 + window
    ev = with_person_id(con.table("events"))
    e = ev.filter((ev.touchpoint == touchpoint) & (ev.ts >= lo) & (ev.ts < hi))
    e = e.mutate(period=ibis.ifelse(e.ts < t0, 0, 1))
    counts = e.group_by("event").aggregate(n=e.count()).execute().sort_values("n", ascending=False)
    names: list[str] = []
    kinds: list[Kind] = []
    grids: dict[str, list[np.ndarray]] = {
        k: [] for k in ("n", "sum", "sum_squares", "denominator_sum", "denominator_sum_squares", "cross_sum")
    }
    notes: list[str] = []
    nan2 = np.full(2, np.nan)
    if len(counts) >= 2:
        reach, others = str(counts["event"].iloc[0]), [str(x) for x in counts["event"].iloc[1:]]
        cols = {
            f"c{i}": ibis.ifelse(e.event == name, 1.0, 0.0).sum() for i, name in enumerate([reach, *others])
        }
        per = e.group_by(["period", "person_id"]).aggregate(**cols)
        aggs: dict[str, Any] = {"n": per.count()}
        for i in range(len(others) + 1):
            c = per[f"c{i}"]
            aggs |= {f"s{i}": c.sum(), f"ss{i}": (c * c).sum(), f"x{i}": (c * per.c0).sum()}
        a = per.group_by("period").aggregate(**aggs).execute().set_index("period").reindex([0, 1]).fillna(0)
        for i, name in enumerate(others, start=1):
            names.append(f"{name} per {reach}")
            kinds.append("ratio")
            grids["n"].append(a["n"].to_numpy(float))
            grids["sum"].append(a[f"s{i}"].to_numpy(float))
            grids["sum_squares"].append(a[f"ss{i}"].to_numpy(float))
            grids["denominator_sum"].append(a["s0"].to_numpy(float))
            grids["denominator_sum_squares"].append(a["ss0"].to_numpy(float))
            grids["cross_sum"].append(a[f"x{i}"].to_numpy(float))
    elif len(counts) == 1:
        notes.append(f"only one event ({counts['event'].iloc[0]}) at {touchpoint}: no event-rate KPI")
    f = con.table("feedback")
    f = f.filter((f.touchpoint == touchpoint) & (f.ts >= lo) & (f.ts < hi) & f.score.notnull())
    f = f.mutate(period=ibis.ifelse(f.ts < t0, 0, 1))
    fb = f.group_by(["source", "period"]).aggregate(
        n=f.count(), s=f.score.sum(), ss=(f.score * f.score).sum()
    )
    fb_df = fb.execute()
    for source, g in fb_df.groupby("source"):
        g = g.set_index("period")[["n", "s", "ss"]].reindex([0, 1]).fillna(0)
        names.append(f"{source} score (mean)")
        kinds.append("mean")
        grids["n"].append(g["n"].to_numpy(float))
        grids["sum"].append(g["s"].to_numpy(float))
        grids["sum_squares"].append(g["ss"].to_numpy(float))
        for k in ("denominator_sum", "denominator_sum_squares", "cross_sum"):
            grids[k].append(nan2)
    keep = [i for i in range(len(names)) if (grids["n"][i] >= 2).all()]
    dropped = [names[i] for i in range(len(names)) if i not in keep]
    if dropped:
        notes.append(f"too little data on one side for: {', '.join(dropped)}")
    if not keep:
        return None, notes or [f"no events or feedback at {touchpoint} around the change"]
    stats = SufficientStats(
        metrics=tuple(names[i] for i in keep),
        arms=("before", "after"),
        kinds=tuple(kinds[i] for i in keep),
        **{k: np.array([v[i] for i in keep]) for k, v in grids.items()},
    )
    return stats, notes


def change_impact(
    con: BaseBackend,
    change_id: str,
    metrics: Mapping[str, MetricDef],
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    log: ChangeLog | None = None,
    config: Config | None = None,
    **options: Any,
) -> ChangeImpact:
    """The measured effect of one change (``options`` go to the analysis: engine, alpha, ...; ``config``
    sets the reporting currency of revenue metrics)."""
    log = log or change_log(con, window_days)
    rows = log.table[log.table["change_id"] == change_id]
    if rows.empty:
        known = ", ".join(log.table["change_id"]) or "none"
        raise KeyError(f"no change {change_id!r} in the change log (known: {known})")
    r = rows.iloc[0]
    change = {k: r[k] for k in ("change_id", "ts", "touchpoint", "description", "experiment_id")}
    overlaps = tuple(r["overlaps"])
    exp = r["experiment_id"]
    if isinstance(exp, str):
        x = con.table("exposures")
        has = x.filter(x.experiment_id == exp).count().execute() > 0
        if has:
            result = analyze_experiment(con, exp, metrics, config=config, **options)
            return ChangeImpact(change, "experiment", result, overlaps, window_days)
        note = f"experiment {exp} has no exposures in the store; falling back to before/after"
    else:
        note = ""
    stats, notes = _before_after_stats(
        con, r["touchpoint"], pd.Timestamp(r["ts"]).to_pydatetime(), timedelta(days=window_days)
    )
    notes = [n for n in (note, *notes) if n]
    if stats is None:
        return ChangeImpact(change, "none", None, overlaps, window_days, tuple(notes))
    options = {k: v for k, v in options.items() if k in ("alpha", "dist")}
    result = analyze(stats, engine="frequentist", correction="none", randomised=False, cuped=False, **options)
    result = ExperimentResult(
        table=result.table,
        engine=result.engine,
        alpha=result.alpha,
        arms=result.arms,
        srm=result.srm,
        method=f"before/after ({window_days} days each side), {result.method}; units: people reached",
        correction=result.correction,
        experiment_id=None,
        notes=(*notes, NOT_CAUSAL),
    )
    return ChangeImpact(change, "before_after", result, overlaps, window_days, tuple(notes))


def change_impacts(
    con: BaseBackend,
    metrics: Mapping[str, MetricDef],
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    config: Config | None = None,
    **options: Any,
) -> list[ChangeImpact]:
    """The measured effect of every change in the log, in time order."""
    log = change_log(con, window_days)
    return [
        change_impact(con, cid, metrics, window_days=window_days, log=log, config=config, **options)
        for cid in log.table["change_id"]
    ]
