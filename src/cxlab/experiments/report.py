"""The report's experiments section: each experiment's result and every change with its measured effect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from cxlab.experiments.changelog import ChangeImpact, change_impacts, change_log
from cxlab.experiments.definitions import metrics_from_config
from cxlab.experiments.experiment import analyze_experiment, list_experiments
from cxlab.report.section import Section

if TYPE_CHECKING:
    from cxlab.store import Store


def _pct(x: float) -> str:
    return "–" if pd.isna(x) else f"{100 * x:+.1f}%"


def _rows(impact: ChangeImpact) -> list[dict[str, Any]]:
    c = impact.change
    flags = [f"overlaps {', '.join(impact.overlaps)}"] if impact.overlaps else []
    if impact.result is not None and impact.result.srm.mismatch:
        flags.append("SAMPLE RATIO MISMATCH")
    evidence = {"experiment": "experiment", "before_after": "before/after (not causal)", "none": "none"}
    base = {
        "change": c["change_id"],
        "date": f"{pd.Timestamp(c['ts']):%Y-%m-%d}",
        "touchpoint": c["touchpoint"],
        "description": c["description"],
        "evidence": evidence[impact.evidence],
    }
    if impact.result is None:
        return [
            base
            | {"metric": "–", "lift": "–", "interval": "–", "p / P(win)": "–", "result": "–"}
            | {"flags": "; ".join([*flags, *impact.notes])}
        ]
    t = impact.result.to_frame()
    t = t[~t["is_control"] & (t["role"] != "secondary")]
    level = f"{1 - impact.result.alpha:.0%}"
    out = []
    for r in t.to_dict(orient="records"):
        stat = r["chance_to_win"] if impact.result.engine == "bayesian" else r["p_value"]
        out.append(
            base
            | {
                "metric": r["metric"] if len(impact.result.arms) == 2 else f"{r['metric']} · {r['arm']}",
                "lift": _pct(r["lift_relative"]),
                "interval": f"{level}: {_pct(r['ci_relative_low'])} to {_pct(r['ci_relative_high'])}",
                "p / P(win)": "–" if pd.isna(stat) else f"{stat:.3g}",
                "result": r["status"] if r["role"] == "goal" else f"{r['role']}: {r['status']}",
                "flags": "; ".join(flags),
            }
        )
    return out


def section(store: Store) -> Section:
    """Experiments and the change log: results with intervals and SRM status, effects of every change."""
    con = store.ibis()
    metrics = metrics_from_config(store.config)
    impacts = change_impacts(con, metrics)
    tested = {i.change["experiment_id"] for i in impacts if i.evidence == "experiment"}
    experiments = list_experiments(con)["experiment_id"].unique()
    results = [i.result for i in impacts if i.evidence == "experiment" and i.result is not None]
    results += [analyze_experiment(con, e, metrics) for e in experiments if e not in tested]
    figures = [r.figure() for r in results]
    if impacts:
        figures.append(change_log(con).figure())
    rows = [row for i in impacts for row in _rows(i)]
    for r in results:
        if r.experiment_id not in tested:
            rows += _rows(
                ChangeImpact(
                    {
                        "change_id": "–",
                        "ts": r.period[0] if r.period else pd.NaT,
                        "touchpoint": "–",
                        "description": f"experiment {r.experiment_id} (not in the change log)",
                        "experiment_id": r.experiment_id,
                    },
                    "experiment",
                    r,
                )
            )
    parts = []
    for r in results:
        n = int(r.srm.observed.sum())
        parts.append(
            f"{r.experiment_id}: {n:,} customers over {len(r.arms)} arms, {r.method}, "
            f"{1 - r.alpha:.0%} intervals; {r.srm.message(r.arms)}"
        )
    count = {e: sum(i.evidence == e for i in impacts) for e in ("experiment", "before_after", "none")}
    n_overlap = sum(bool(i.overlaps) for i in impacts)
    window = impacts[0].window_days if impacts else 0
    parts.append(
        f"{len(impacts)} change(s) in the log: {count['experiment']} measured by an experiment, "
        f"{count['before_after']} by a before/after comparison ({window} days either side; not causal), "
        f"{count['none']} without data to measure; {n_overlap} overlapping another change on the same "
        "touchpoint (one variable at a time broken)."
    )
    if not results and not impacts:
        parts = ["No experiments in the exposures table and no changes in the change log."]
    table = pd.DataFrame(rows) if rows else None
    return Section("experiments", "Experiments and the change log", " ".join(parts), figures, table)
