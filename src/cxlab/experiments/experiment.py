"""Experiments in the store: list them, and analyse one with the project's metric definitions.

Goal metrics (the family that multiple-testing corrections cover) are the ones the experiment is about:
given explicitly, or else the metrics on the touchpoint that the change log ties to the experiment; every
other metric is reported as secondary, and guardrails stay guardrails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.experiments.analysis import ExperimentResult, analyze
from cxlab.experiments.definitions import MetricDef
from cxlab.experiments.metrics import experiment_stats


def list_experiments(con: BaseBackend) -> pd.DataFrame:
    """One row per experiment and arm: units exposed, first and last exposure."""
    x = con.table("exposures")
    df = (
        x.group_by(["experiment_id", "variant"])
        .aggregate(units=x.count(), first_exposure=x.ts.min(), last_exposure=x.ts.max())
        .execute()
    )
    return df.sort_values(["experiment_id", "variant"], ignore_index=True)


def metric_touchpoints(metrics: Mapping[str, MetricDef], name: str) -> set[str]:
    """The touchpoints a metric (or, for a ratio, its parts) is filtered to."""
    m = metrics[name]
    if m.type == "ratio":
        parts = (m.numerator, m.denominator)
        return set().union(*(metric_touchpoints(metrics, p) for p in parts if p is not None))
    return set(m.touchpoint or ())


def experiment_touchpoints(con: BaseBackend, experiment_id: str) -> set[str]:
    """Touchpoints of the changes the change log ties to ``experiment_id``."""
    c = con.table("changes")
    df = c.filter(c.experiment_id == experiment_id).select("touchpoint").distinct().execute()
    return set(df["touchpoint"].dropna())


def choose_goals(
    metrics: Mapping[str, MetricDef], names: Sequence[str], touchpoints: set[str]
) -> tuple[list[str], str]:
    """Goal metrics among ``names``: those on ``touchpoints``, else every non-guardrail metric."""
    candidates = [n for n in names if not metrics[n].guardrail]
    on_tp = [n for n in candidates if metric_touchpoints(metrics, n) & touchpoints]
    if on_tp:
        return on_tp, f"goal metrics: those on the changed touchpoint ({', '.join(sorted(touchpoints))})"
    return candidates, "goal metrics: every non-guardrail metric"


def analyze_experiment(
    con: BaseBackend,
    experiment_id: str,
    metrics: Mapping[str, MetricDef],
    *,
    names: Sequence[str] | None = None,
    goals: Sequence[str] | None = None,
    control: str | None = None,
    cuped: bool = True,
    config: Config | None = None,
    split: Mapping[str, float] | None = None,
    **options: Any,
) -> ExperimentResult:
    """Analyse ``experiment_id`` on the store behind ``con``; ``options`` go to :func:`analyze`. Revenue
    metrics read orders in ``config``'s reporting currency (the result's notes say which, and what was
    converted or left out)."""
    names = list(metrics) if names is None else list(names)
    unknown = [n for n in names if n not in metrics]
    if unknown:
        raise KeyError(f"unknown metric {unknown[0]!r} (defined: {', '.join(metrics)})")
    if goals is None:
        goals, rule = choose_goals(metrics, names, experiment_touchpoints(con, experiment_id))
    else:
        missing = [g for g in goals if g not in names]
        if missing:
            raise ValueError(f"goal metric {missing[0]!r} is not among the metrics analysed")
        rule = "goal metrics: as given"
    secondary = [n for n in names if n not in goals and not metrics[n].guardrail]
    data = experiment_stats(
        con, experiment_id, metrics, names, control=control, cuped=cuped, secondary=secondary, config=config
    )
    if split is not None and options.get("weights") is None:  # the planned split, by arm name
        options["weights"] = [split.get(arm, 0.0) for arm in data.stats.arms]
    result = analyze(data.stats, units=data.units, experiment_id=experiment_id, cuped=cuped, **options)
    return dataclasses.replace(
        result,
        notes=(data.control_note, rule, *data.currency_notes, *result.notes),
        period=(data.first_exposure, data.last_exposure),
    )
