"""The report's experiment sections, one analysis each (see :data:`SECTIONS`): the result of every experiment
in the exposures table, and every change in the change log with its measured effect."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from cxlab.display import DASH, p_value, pct
from cxlab.errors import MissingData, require_rows
from cxlab.experiments.analysis import ExperimentResult
from cxlab.experiments.changelog import ChangeImpact, change_impacts, change_log
from cxlab.experiments.definitions import metrics_from_config
from cxlab.experiments.experiment import analyze_experiment, list_experiments
from cxlab.report.section import Section

if TYPE_CHECKING:
    from cxlab.store import Store

EVIDENCE = {"experiment": "experiment", "before_after": "before/after (not causal)", "none": "none"}


def result_rows(result: ExperimentResult) -> list[dict[str, Any]]:
    """One plain row per treatment arm × goal or guardrail metric: lift, interval, p (or P(win)), status."""
    t = result.to_frame()
    t = t[~t["is_control"] & (t["role"] != "secondary")]
    level = f"{1 - result.alpha:.0%}"
    bayes = result.engine == "bayesian"
    out = []
    for r in t.to_dict(orient="records"):
        out.append(
            {
                "metric": r["metric"] if len(result.arms) == 2 else f"{r['metric']} · {r['arm']}",
                "lift": pct(r["lift_relative"], signed=True),
                "interval": f"{level}: {pct(r['ci_relative_low'], signed=True)} to "
                f"{pct(r['ci_relative_high'], signed=True)}",
                "p / P(win)": pct(r["chance_to_win"]) if bayes else p_value(r["p_value"]),
                "result": r["status"] if r["role"] == "goal" else f"{r['role']}: {r['status']}",
            }
        )
    return out


def _change_rows(impact: ChangeImpact) -> list[dict[str, Any]]:
    c = impact.change
    flags = [f"overlaps {', '.join(impact.overlaps)}"] if impact.overlaps else []
    if impact.result is not None and impact.result.srm.mismatch:
        flags.append("SAMPLE RATIO MISMATCH")
    base = {
        "change": c["change_id"],
        "date": f"{pd.Timestamp(c['ts']):%Y-%m-%d}",
        "touchpoint": c["touchpoint"],
        "description": c["description"],
        "evidence": EVIDENCE[impact.evidence],
    }
    if impact.result is None:
        empty = dict.fromkeys(("metric", "lift", "interval", "p / P(win)", "result"), DASH)
        return [base | empty | {"flags": "; ".join([*flags, *impact.notes])}]
    return [base | row | {"flags": "; ".join(flags)} for row in result_rows(impact.result)]


def experiments_section(store: Store) -> Section:
    """Every A/B test in the exposures table: lift per goal and guardrail metric, intervals, SRM status.
    Flows' holdout experiments (``flow:<name>``) are left to the flows' own section."""
    con = store.ibis()
    require_rows(con, "exposures", "Experiment results", ["experiment_id", "variant"])
    metrics = metrics_from_config(store.config)
    ids = [e for e in list_experiments(con)["experiment_id"].unique() if not str(e).startswith("flow:")]
    if not ids:
        raise MissingData("Experiment results need A/B tests in exposures: only flows' holdouts are stored")
    results = [analyze_experiment(con, e, metrics, config=store.config) for e in ids]
    rows = [
        {"experiment": r.experiment_id, "period": f"{r.period[0]:%Y-%m-%d} to {r.period[1]:%Y-%m-%d}"}
        | row
        | {"SRM": "MISMATCH" if r.srm.mismatch else "ok"}
        for r in results
        if r.period is not None
        for row in result_rows(r)
    ]
    parts = [
        f"{r.experiment_id}: {int(r.srm.observed.sum()):,} customers over {len(r.arms)} arms, {r.method}, "
        f"{1 - r.alpha:.0%} intervals; {r.srm.message(r.arms)}"
        + "".join(f" Note: {n}." for n in r.notes if n)
        for r in results
    ]
    return Section(
        "experiments",
        "Experiment results",
        " ".join(parts),
        [r.figure() for r in results],
        pd.DataFrame(rows),
    )


def changes_section(store: Store) -> Section:
    """Every change in the change log with its measured effect (experiment, else before/after)."""
    con = store.ibis()
    require_rows(con, "changes", "The change log", ["change_id"])
    impacts = change_impacts(con, metrics_from_config(store.config), config=store.config)
    count = {e: sum(i.evidence == e for i in impacts) for e in EVIDENCE}
    n_overlap = sum(bool(i.overlaps) for i in impacts)
    window = impacts[0].window_days
    summary = (
        f"{len(impacts)} change(s) in the log: {count['experiment']} measured by an experiment, "
        f"{count['before_after']} by a before/after comparison ({window} days either side; not causal), "
        f"{count['none']} without data to measure; {n_overlap} overlapping another change on the same "
        "touchpoint (one variable at a time broken)."
    )
    table = pd.DataFrame([row for i in impacts for row in _change_rows(i)])
    return Section(
        "changes", "The change log and the effect of each change", summary, [change_log(con).figure()], table
    )


SECTIONS: list[Callable[[Store], Section]] = [experiments_section, changes_section]
