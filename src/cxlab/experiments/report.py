"""The report's experiment sections, one analysis each (see :data:`SECTIONS`): the result of every experiment
in the exposures table, and every change in the change log with its measured effect.

Each says what was decided in plain words ("festive wins: +42.6% email click rate, likely"; "no clear
difference yet: keep running until about 9,000 customers per variant") and shows one short row per variant
and measure; the method, intervals, p-values, sample ratio check and n go to the section's details.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
from scipy.stats import norm

from cxlab.display import DASH, certainty, count, day, interval, p_value, pct
from cxlab.errors import MissingData, require_rows
from cxlab.experiments.analysis import ExperimentResult
from cxlab.experiments.changelog import ChangeImpact, change_impacts, change_log
from cxlab.experiments.definitions import metrics_from_config
from cxlab.experiments.equivalence import NO_EFFECT_BAND, no_effect_p
from cxlab.experiments.experiment import analyze_experiment, list_experiments
from cxlab.report.section import Section, titled

if TYPE_CHECKING:
    from cxlab.store import Store

EVIDENCE = {"experiment": "experiment", "before_after": "before/after (not causal)", "none": "none"}
HOW_MEASURED = {
    "experiment": "measured by an A/B test",
    "before_after": "compared before and after (a lead, not proof: other things changed too)",
    "none": "not measured",
}
VERDICT = {
    "win": "better",
    "loss": "worse",
    "inconclusive": "no clear difference",
    "better": "better after",
    "worse": "worse after",
    "no clear change": "no clear change",
    "ok": "no harm seen",
    "warn": "may be worse",
    "fail": "worse: harm",
    "error": "could not be measured",
}
"""A result row's status in words (guardrails: ok, warn, fail)."""
CORRECTION = {"holm": "Holm's method", "bh": "Benjamini–Hochberg", "none": "none"}
POWER = 0.8
"""The chance of finding a change of :data:`NO_EFFECT_BAND` that "keep running until N" plans for."""


def _words(metric: Any) -> str:
    return str(metric).replace("_", " ")


def _sure(result: ExperimentResult, r: Mapping[Any, Any]) -> str:
    """How sure the row's difference is, in the words of :func:`cxlab.advise.advice.certainty`."""
    if result.engine == "bayesian":
        chance = float(r["chance_to_win"])
        return certainty(chance=max(chance, 1 - chance)) if math.isfinite(chance) else certainty()
    return certainty(float(r["p_value_adjusted"]))


def _shown(result: ExperimentResult) -> pd.DataFrame:
    """The treatment rows of goal metrics and guardrails (secondary metrics stay in the details)."""
    t = result.to_frame()
    return t[~t["is_control"] & (t["role"] != "secondary")]


def result_rows(result: ExperimentResult) -> list[dict[str, Any]]:
    """One short row per treatment variant × goal or guardrail metric: the change, how sure, the verdict."""
    return [
        {
            "variant": str(r["arm"]),
            "measure": _words(r["metric"]) + (" (watched for harm)" if r["role"] == "guardrail" else ""),
            "effect": pct(r["lift_relative"], signed=True),
            "how sure": _sure(result, r) if r["status"] != "error" else DASH,
            "verdict": VERDICT.get(str(r["status"]), str(r["status"])),
        }
        for r in _shown(result).to_dict(orient="records")
    ]


def customers_needed(result: ExperimentResult, rows: pd.DataFrame, band: float = NO_EFFECT_BAND) -> float:
    """Customers per variant at which the test would find a relative change of ``band`` with :data:`POWER`
    (the interval shrinks with the square root of n; the largest over ``rows``); NaN when unknown."""
    z = norm.ppf(1 - result.alpha / 2) + norm.ppf(POWER)
    se, n = rows["se_relative"].to_numpy(float), rows["n"].to_numpy(float)
    need = n * (se * z / band) ** 2
    need = need[pd.notna(need)]
    return float(need.max()) if len(need) else float("nan")


def decision(result: ExperimentResult) -> str:
    """What to do about an experiment, in words: broken split, harm, a loser, a winner (with its change and
    how sure), no difference, or keep running until about N customers per variant."""
    control = result.control
    t = _shown(result)
    t = t[t["status"] != "error"]
    goals, guards = t[t["role"] == "goal"], t[t["role"] == "guardrail"]
    if result.srm.applies and result.srm.mismatch:
        return (
            "don't decide yet: customers were not split between the variants as planned, so the test is "
            "broken; fix the assignment and run it again"
        )
    harm = guards[guards["status"] == "fail"]
    if len(harm):
        r = harm.iloc[0]
        worse = (
            f"{_words(r['metric'])} got worse ({pct(r['lift_relative'], signed=True)}, "
            f"{_sure(result, r.to_dict())})"
        )
        won = goals[(goals["status"] == "win") & (goals["arm"] == r["arm"])]
        if len(won):  # a trade-off, not a verdict: the shop weighs the gain against the harm
            w = won.iloc[0]
            return (
                f"{r['arm']} wins on {_words(w['metric'])} ({pct(w['lift_relative'], signed=True)}, "
                f"{_sure(result, w.to_dict())}) but {worse}: weigh the two before shipping {r['arm']}"
            )
        return f"don't ship {r['arm']}: {worse}"
    for status, verb in (("loss", "loses"), ("win", "wins")):
        hit = goals[goals["status"] == status]
        if len(hit):
            r = hit.iloc[0]  # the first goal metric, in the order the shop declared them
            keep = f"; keep {control}" if status == "loss" else ""
            return (
                f"{r['arm']} {verb}: {pct(r['lift_relative'], signed=True)} {_words(r['metric'])}, "
                f"{_sure(result, r.to_dict())}{keep}"
            )
    if goals.empty:
        return "nothing to decide: the test has no goal metric that could be measured"
    if no_effect_p(goals) < result.alpha:
        return (
            f"no real difference: the variants stay within {pct(NO_EFFECT_BAND, 0)} of {control}; stop the "
            f"test and keep {control}"
        )
    need = customers_needed(result, goals)
    now = float(goals["n"].min())
    if math.isfinite(need) and need > now:
        return (
            f"no clear difference yet: keep running until about {count(math.ceil(need))} customers per "
            f"variant (now {count(now)})"
        )
    return "no clear difference yet: keep running"


def _row_details(result: ExperimentResult, r: Mapping[Any, Any]) -> str:
    """One treatment row's figures: lift with interval (or why there is none), p-value or chance, n."""
    level = f"{1 - result.alpha:.0%}"
    n_control = int(result.row(r["metric"], result.control)["n"])
    if pd.isna(r["ci_relative_low"]) or pd.isna(r["ci_relative_high"]):
        ci = f"interval could not be estimated{': ' + r['error'] if r['error'] else ''}"
    else:
        signed = partial(pct, signed=True)
        ci = f"{level} interval {interval(r['ci_relative_low'], r['ci_relative_high'], signed)}"
    if result.engine == "bayesian":
        sure = f"chance to beat {result.control} {pct(r['chance_to_win'])}"
    else:
        sure = f"p {p_value(r['p_value'])}, adjusted {p_value(r['p_value_adjusted'])}"
    return (
        f"{_words(r['metric'])} · {r['arm']}: {pct(r['lift_relative'], 2, signed=True)} ({ci}; {sure}; "
        f"n = {count(r['n'])} vs {count(n_control)})"
    )


def result_details(result: ExperimentResult) -> str:
    """How an experiment was measured: method, intervals, correction, sample ratio check, every row, notes."""
    correction = (
        f"p-values adjusted by {CORRECTION[result.correction]} over goal metrics × variants"
        if result.correction != "none"
        else "p-values not adjusted"
    )
    rows = "; ".join(
        _row_details(result, r) for r in result.to_frame().to_dict(orient="records") if not r["is_control"]
    )
    notes = "".join(f" Note: {n}." for n in result.notes if n)
    name = f"{result.experiment_id}: " if result.experiment_id else ""
    return (
        f"{name}{result.method}; {1 - result.alpha:.0%} intervals; {correction}. "
        f"{result.srm.message(result.arms)} {rows}.{notes}"
    )


def _figure(result: ExperimentResult) -> go.Figure:
    """The experiment's forest plot, titled in words."""
    fig = result.figure()
    fig.update_traces(y=[_words(y) for y in fig.data[0].y])
    fig.update_layout(
        title=f"{html.escape(str(result.experiment_id))}: change against {html.escape(result.control)}, with "
        f"its {1 - result.alpha:.0%} range",
        xaxis_title=f"% change against {html.escape(result.control)}",
    )
    return fig


def _descriptions(store: Store) -> dict[str, str]:
    """The change log's description of each experiment that has one."""
    con = store.ibis()
    ch = con.table("changes")
    df = ch.filter(ch.experiment_id.notnull()).select("experiment_id", "description").execute()
    return {
        str(e): str(d) for e, d in zip(df["experiment_id"], df["description"], strict=True) if pd.notna(d)
    }


def _headline(result: ExperimentResult, description: str | None) -> str:
    """One experiment in a sentence: what it tested, who and when, and the decision."""
    about = f" ({description})" if description else ""
    when = f" from {day(result.period[0])} to {day(result.period[1])}" if result.period else ""
    arms = ", ".join(result.arms[1:])
    d = decision(result)
    return (
        f"{result.experiment_id}{about}: {count(result.srm.observed.sum())} customers{when}, {arms} against "
        f"{result.control}. Decision: {d[0].upper()}{d[1:]}."
    )


def shop_experiments(store: Store) -> list[ExperimentResult]:
    """Every A/B test in the exposures table (not the flows' holdouts), analysed once per open store: the
    report's section and "what to do next" share them; MissingData without any."""

    def run() -> list[ExperimentResult]:
        con = store.ibis()
        require_rows(con, "exposures", "Experiment results", ["experiment_id", "variant"])
        metrics = metrics_from_config(store.config)
        ids = [e for e in list_experiments(con)["experiment_id"].unique() if not str(e).startswith("flow:")]
        if not ids:
            raise MissingData(
                "Experiment results need A/B tests in exposures: only flows' holdouts are stored"
            )
        return [analyze_experiment(con, str(e), metrics, config=store.config) for e in ids]

    return store.memo("experiments", run)


@titled("Experiment results")
def experiments_section(store: Store) -> Section:
    """Every A/B test in the exposures table: the decision in words, one row per variant and measure, and
    the method with intervals in the details. Flows' holdout experiments (``flow:<name>``) are left to the
    flows' own section."""
    results = shop_experiments(store)
    described = _descriptions(store)
    several = len(results) > 1
    rows = [({"test": r.experiment_id} if several else {}) | row for r in results for row in result_rows(r)]
    figures = [_figure(r) for r in results if _shown(r)["lift_relative"].notna().any()]
    return Section(
        "experiments",
        "Experiment results",
        " ".join(_headline(r, described.get(str(r.experiment_id))) for r in results),
        figures,
        pd.DataFrame(rows),
        details=" ".join(result_details(r) for r in results),
    )


def _change_rows(impact: ChangeImpact) -> list[dict[str, Any]]:
    """A change's measured effect: one row per variant × measure, or one row saying it wasn't measured."""
    c = impact.change
    base = {"change": str(c["change_id"])}
    if impact.result is None:
        return [base | {"measure": DASH, "effect": DASH, "how sure": DASH, "verdict": "not measured"}]
    several = len(impact.result.arms) > 2
    return [
        base | {k: v for k, v in row.items() if k != "variant" or several}
        for row in result_rows(impact.result)
    ]


def _change_sentence(impact: ChangeImpact) -> str:
    """A change in a sentence: when, where, what, how it was measured, and what came of it."""
    c = impact.change
    text = (
        f"{c['change_id']} on {day(c['ts'])} at {_words(c['touchpoint'])}: {c['description']} — "
        f"{HOW_MEASURED[impact.evidence]}"
    )
    if impact.result is not None and impact.evidence == "experiment":
        text += f"; {decision(impact.result)}"
    elif impact.result is not None:
        moved = _shown(impact.result)
        moved = moved[moved["status"].isin(["better", "worse"])]
        if len(moved):
            r = moved.iloc[0]
            text += f"; after it: {pct(r['lift_relative'], signed=True)} {_words(r['metric'])}"
    if impact.overlaps:
        text += (
            f"; made together with {', '.join(impact.overlaps)} on the same touchpoint, so their effects "
            "can't be told apart"
        )
    return text + "."


def _change_details(impact: ChangeImpact) -> str:
    c = impact.change
    parts = [f"{c['change_id']}: {EVIDENCE[impact.evidence]}"]
    if impact.result is not None:
        parts.append(result_details(impact.result))
    known = set(impact.result.notes) if impact.result is not None else set()
    parts += [n for n in dict.fromkeys([*impact.notes, *impact.warnings]) if n not in known]
    return "; ".join(str(p).rstrip(".") for p in parts if p) + "."


@titled("Change log")
def changes_section(store: Store) -> Section:
    """Every change in the change log with its measured effect (experiment, else before/after)."""
    con = store.ibis()
    require_rows(con, "changes", "The change log", ["change_id"])
    impacts = change_impacts(con, metrics_from_config(store.config), config=store.config)
    n = {e: sum(i.evidence == e for i in impacts) for e in EVIDENCE}
    summary = (
        f"{count(len(impacts))} change{'' if len(impacts) == 1 else 's'} in the log: {count(n['experiment'])} measured by an A/B test, "
        f"{count(n['before_after'])} compared before and after (a lead to test, not proof), "
        f"{count(n['none'])} not measured. " + " ".join(_change_sentence(i) for i in impacts)
    )
    table = pd.DataFrame([row for i in impacts for row in _change_rows(i)])
    return Section(
        "changes",
        "The change log and the effect of each change",
        summary,
        [change_log(con).figure()],
        table,
        details=" ".join(_change_details(i) for i in impacts),
    )


SECTIONS: list[Callable[[Store], Section]] = [experiments_section, changes_section]
