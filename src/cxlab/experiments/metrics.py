"""From the store to sufficient statistics: one Ibis query per experiment, run by the engine.

Each exposed customer (``exposures``) is a unit. Their events (matched through :func:`with_person_id`,
so pre-signup activity counts) and orders are joined on, each metric's value after exposure and, for CUPED,
before it, is aggregated per unit with conditional sums, and the units are summed per arm: ``n``, sums,
sums of squares and cross-products. Only those few numbers per arm leave the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.currency import shop_orders
from cxlab.experiments.definitions import MetricDef, parse_window
from cxlab.experiments.sufficient import Kind, SufficientStats
from cxlab.identity import with_person_id

CONTROL_NAMES = ("control", "holdout", "baseline", "original", "default", "a", "0", "off", "old")


@dataclass(frozen=True, eq=False)
class ExperimentData:
    """An experiment's sufficient statistics, units per arm and exposure period."""

    experiment_id: str
    stats: SufficientStats
    units: np.ndarray
    first_exposure: datetime
    last_exposure: datetime
    control_note: str
    currency_notes: tuple[str, ...] = ()
    """Revenue metrics: the reporting currency and any conversion or orders left out (``shop_orders``)."""


def _interval(td: timedelta) -> ir.IntervalScalar:
    return ibis.interval(seconds=int(td.total_seconds()))


def _in_window(ts: ir.TimestampValue, start: ir.TimestampValue, window: str) -> ir.BooleanValue:
    w = parse_window(window)
    after = ts >= start
    if w == "all":
        return after
    if w == "same_day":
        return after & (ts < start.truncate("D") + ibis.interval(days=1))
    assert isinstance(w, timedelta)
    return after & (ts < start + _interval(w))


def _before(ts: ir.TimestampValue, start: ir.TimestampValue, window: str) -> ir.BooleanValue:
    w = parse_window(window)
    assert isinstance(w, timedelta)
    return (ts < start) & (ts >= start - _interval(w))


def _prop_regex(name: str) -> str:
    return rf'"{name}"\s*:\s*"?([^",}}]*)'


def _arms(con: BaseBackend, experiment_id: str, control: str | None) -> tuple[list[str], str]:
    x = con.table("exposures")
    found = (
        x.filter(x.experiment_id == experiment_id).group_by("variant").aggregate(first=x.ts.min()).execute()
    )
    names = sorted(str(v) for v in found["variant"])
    if not names:
        raise KeyError(f"no exposures for experiment {experiment_id!r}")
    if len(names) < 2:
        raise ValueError(f"experiment {experiment_id!r} has a single arm ({names[0]}): nothing to compare")
    if control is not None:
        if control not in names:
            raise ValueError(
                f"control {control!r} is not an arm of {experiment_id!r} (arms: {', '.join(names)})"
            )
        note = f"control: {control} (given)"
    else:
        by_name = [n for n in names if n.lower() in CONTROL_NAMES]
        control = by_name[0] if by_name else names[0]
        note = (
            f"control: {control} (by its name)"
            if by_name
            else f"control: {control} (first arm by name; choose another with --control)"
        )
    return [control] + [n for n in names if n != control], note


def _base_metrics(metrics: Mapping[str, MetricDef], names: Sequence[str]) -> list[str]:
    """The non-ratio metrics that ``names`` need, in a stable order."""
    out: list[str] = []
    for n in names:
        m = metrics[n]
        for part in (m.numerator, m.denominator) if m.type == "ratio" else (n,):
            if part is not None and part not in out:
                out.append(part)
    return out


def _source_values(
    units: ir.Table,
    table: ir.Table,
    key: str,
    defs: Mapping[str, MetricDef],
    cuped: bool,
    exposure_props: ir.Table | None,
) -> ir.Table:
    """Per unit, for each metric from one source: the post-exposure and pre-exposure aggregates."""
    j = units.join(table, units.unit == table[key])
    if exposure_props is not None:
        j = j.left_join(exposure_props, j.unit == exposure_props.p_unit).drop("p_unit")
    aggs: dict[str, ir.Value] = {}
    for name, m in defs.items():
        cond = ibis.literal(True)
        if m.event:
            cond &= j.event.isin(m.event)
        if m.touchpoint:
            cond &= j.touchpoint.isin(m.touchpoint)
        if m.match_property:
            cond &= j[f"prop_{m.match_property}"] == j[f"exp_{m.match_property}"]
        value = j.revenue.fill_null(0.0) if m.aggregate == "revenue" else ibis.literal(1.0)
        aggs[f"post__{name}"] = ibis.ifelse(cond & _in_window(j.ts, j.exp_ts, m.window), value, 0.0).sum()
        if cuped and m.cuped:
            aggs[f"pre__{name}"] = ibis.ifelse(cond & _before(j.ts, j.exp_ts, m.pre_window), value, 0.0).sum()
    return j.group_by("unit").aggregate(**aggs)


def experiment_stats(
    con: BaseBackend,
    experiment_id: str,
    metrics: Mapping[str, MetricDef],
    names: Sequence[str] | None = None,
    *,
    control: str | None = None,
    cuped: bool = True,
    secondary: Sequence[str] = (),
    config: Config | None = None,
) -> ExperimentData:
    """Sufficient statistics of ``names`` (default: every metric) for one experiment, in one query.

    Orders are read in the reporting currency of ``config`` (:func:`cxlab.currency.shop_orders`)."""
    names = list(metrics) if names is None else list(names)
    unknown = [n for n in names if n not in metrics]
    if unknown:
        raise KeyError(f"unknown metric {unknown[0]!r} (defined: {', '.join(metrics)})")
    if not names:
        raise ValueError("no metrics to analyse")
    arms, control_note = _arms(con, experiment_id, control)
    base = _base_metrics(metrics, names)
    x = con.table("exposures")
    units = x.filter(x.experiment_id == experiment_id).select(
        unit=x.customer_id, variant=x.variant, exp_ts=x.ts
    )
    values: list[ir.Table] = []
    ev_defs = {n: metrics[n] for n in base if metrics[n].source == "events"}
    if ev_defs:
        ev = with_person_id(con.table("events"))
        wanted = ibis.literal(False)
        for m in ev_defs.values():
            c = ibis.literal(True)
            if m.event:
                c &= ev.event.isin(m.event)
            if m.touchpoint:
                c &= ev.touchpoint.isin(m.touchpoint)
            wanted |= c
        props = sorted({m.match_property for m in ev_defs.values() if m.match_property})
        tps = sorted({t for m in ev_defs.values() if m.match_property for t in m.touchpoint or ()})
        if tps:  # the exposure events themselves, whose properties outcomes must match
            wanted |= ev.touchpoint.isin(tps)
        cols: dict[str, Any] = {
            "person_id": ev.person_id,
            "ts": ev.ts,
            "event": ev.event,
            "touchpoint": ev.touchpoint,
            "revenue": ev.revenue,
        }
        cols |= {f"prop_{p}": ev.properties.re_extract(_prop_regex(p), 1) for p in props}
        events = ev.filter(wanted).select(**cols)
        exposure_props = None
        if props:
            at = units.join(events, (units.unit == events.person_id) & (events.ts == units.exp_ts))
            at = at.filter(at.touchpoint.isin(tps))
            exposure_props = at.group_by(p_unit=at.unit).aggregate(
                **{f"exp_{p}": at[f"prop_{p}"].min() for p in props}
            )
        values.append(_source_values(units, events, "person_id", ev_defs, cuped, exposure_props))
    ord_defs = {n: metrics[n] for n in base if metrics[n].source == "orders"}
    currency_notes: tuple[str, ...] = ()
    if ord_defs:
        shop = shop_orders(con, config)
        o = shop.table
        orders = o.select(customer_id=o.customer_id, ts=o.ts, revenue=o.revenue)
        if any(m.aggregate == "revenue" for m in ord_defs.values()):
            currency_notes = (f"revenue metrics in {shop.currency}", *shop.notes)
        values.append(_source_values(units, orders, "customer_id", ord_defs, cuped, None))

    per_unit = units
    for v in values:
        per_unit = per_unit.left_join(v, per_unit.unit == v.unit).drop("unit_right")
    cols_out: dict[str, ir.Value] = {}
    for n in base:
        m = metrics[n]
        post = per_unit[f"post__{n}"].fill_null(0.0)
        cols_out[f"v__{n}"] = ibis.ifelse(post > 0, 1.0, 0.0) if m.aggregate == "any" else post
        if cuped and m.cuped:
            pre = per_unit[f"pre__{n}"].fill_null(0.0)
            cols_out[f"c__{n}"] = ibis.ifelse(pre > 0, 1.0, 0.0) if m.aggregate == "any" else pre
    pu = per_unit.select("variant", **cols_out)
    aggs: dict[str, ir.Value] = {"n": pu.count()}
    for n in names:
        m = metrics[n]
        if m.type == "ratio":
            assert m.numerator is not None and m.denominator is not None
            num, den = pu[f"v__{m.numerator}"], pu[f"v__{m.denominator}"]
            aggs |= {
                f"{n}__sum": num.sum(),
                f"{n}__sum_squares": (num * num).sum(),
                f"{n}__denominator_sum": den.sum(),
                f"{n}__denominator_sum_squares": (den * den).sum(),
                f"{n}__cross_sum": (num * den).sum(),
            }
            continue
        v = pu[f"v__{n}"]
        aggs |= {f"{n}__sum": v.sum(), f"{n}__sum_squares": (v * v).sum()}
        if cuped and m.cuped:
            c = pu[f"c__{n}"]
            aggs |= {
                f"{n}__covariate_sum": c.sum(),
                f"{n}__covariate_sum_squares": (c * c).sum(),
                f"{n}__covariate_cross_sum": (v * c).sum(),
            }
    span = units.aggregate(first=units.exp_ts.min(), last=units.exp_ts.max())
    expr = pu.group_by("variant").aggregate(**aggs).cross_join(span)
    df = expr.execute().set_index("variant").reindex(arms)
    return ExperimentData(
        experiment_id=experiment_id,
        stats=_to_stats(df, names, metrics, arms, secondary),
        units=df["n"].to_numpy(dtype=float),
        first_exposure=pd.Timestamp(df["first"].iloc[0]).to_pydatetime(),
        last_exposure=pd.Timestamp(df["last"].iloc[0]).to_pydatetime(),
        control_note=control_note,
        currency_notes=currency_notes,
    )


def _to_stats(
    df: pd.DataFrame,
    names: Sequence[str],
    metrics: Mapping[str, MetricDef],
    arms: list[str],
    secondary: Sequence[str],
) -> SufficientStats:
    def grid(field: str) -> np.ndarray:
        out = np.full((len(names), len(arms)), np.nan)
        for i, n in enumerate(names):
            col = f"{n}__{field}"
            if col in df.columns:
                out[i] = df[col].to_numpy(dtype=float)
        return out

    n = np.repeat(df["n"].to_numpy(dtype=float)[None, :], len(names), axis=0)
    kinds: tuple[Kind, ...] = tuple(metrics[m].type for m in names)
    return SufficientStats(
        metrics=tuple(names),
        arms=tuple(arms),
        kinds=kinds,
        n=n,
        sum=grid("sum"),
        sum_squares=grid("sum_squares"),
        denominator_sum=grid("denominator_sum"),
        denominator_sum_squares=grid("denominator_sum_squares"),
        cross_sum=grid("cross_sum"),
        covariate_sum=grid("covariate_sum"),
        covariate_sum_squares=grid("covariate_sum_squares"),
        covariate_cross_sum=grid("covariate_cross_sum"),
        inverse=np.array([metrics[m].inverse for m in names], dtype=bool),
        guardrail=np.array([metrics[m].guardrail for m in names], dtype=bool),
        secondary=np.array([m in secondary for m in names], dtype=bool),
    )
