"""Actions from A/B tests that are ready to decide (flows' holdouts, ``flow:<name>``, are left out).

Read from each test's goal metrics and guardrails, the way the dashboard words a decision
(:func:`cxlab.server.dashboard.pages.decision`), with the sample ratio check first:

* sample ratio mismatch: not ready (the assignment is broken), no action;
* a goal metric significantly better and a guardrail significantly worse for the same variant: "Weigh the
  two before shipping …" (certainty "mixed signals": the trade-off is the shop's call);
* a guardrail significantly worse, or a goal metric significantly worse: "Stop …, keep the control";
* a goal metric significantly better: "Ship …";
* no goal metric moved, and the test is large enough to rule out a change of more than
  :data:`NO_EFFECT_BAND` either way (two one-sided tests on the relative lift, the larger p-value counts):
  "Stop …: no effect";
* otherwise: still running, no action.

Money: only a revenue-per-customer goal (``source = "orders"``, ``value = "revenue"``) can be priced: its
absolute lift per customer times the customers in the test, over the test's run; other goals (clicks,
reviews) are not priced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cxlab.advise.advice import DAYS_PER_MONTH, MIXED, Action
from cxlab.display import certainty, money, p_value, pct
from cxlab.experiments.analysis import ExperimentResult
from cxlab.experiments.definitions import MetricDef
from cxlab.experiments.equivalence import NO_EFFECT_BAND, no_effect_p


def _words(metric: str) -> str:
    return metric.replace("_", " ")


def _lift(r: Any) -> str:
    return (
        f"{pct(r['lift_relative'], signed=True)} (95% interval {pct(r['ci_relative_low'], signed=True)} to "
        f"{pct(r['ci_relative_high'], signed=True)})"
    )


def _sure(result: ExperimentResult, rows: pd.DataFrame, better: bool) -> str:
    if result.engine == "bayesian":
        chance = rows["chance_to_win"].to_numpy(float)
        return certainty(chance=float((chance if better else 1 - chance).max()))
    return certainty(float(rows["p_value_adjusted"].min()))


def _revenue_money(
    result: ExperimentResult, rows: pd.DataFrame, metrics: Mapping[str, MetricDef]
) -> float | None:
    """Absolute lift of a revenue-per-customer goal among ``rows`` times the customers in the test."""
    for r in rows.to_dict(orient="records"):
        m = metrics.get(str(r["metric"]))
        if m is not None and m.type == "mean" and m.source == "orders" and m.value == "revenue":
            units = float(result.table.loc[result.table["metric"] == r["metric"], "n"].sum())
            return abs(float(r["lift_absolute"])) * units
    return None


def experiment_action(
    result: ExperimentResult, metrics: Mapping[str, MetricDef], currency: str
) -> list[Action]:
    """The action an experiment calls for, if it is ready to decide (see the module docstring)."""
    eid, control = str(result.experiment_id), result.control
    if result.srm.mismatch:
        return []
    t = result.table[~result.table["is_control"] & (result.table["status"] != "error")]
    goals, guards = t[t["role"] == "goal"], t[t["role"] == "guardrail"]
    if goals.empty:
        return []
    days = (result.period[1] - result.period[0]).days + 1 if result.period else None
    horizon = f"over the test's {days} days" if days else "over the test"
    failing, losses, wins = guards[guards["status"] == "fail"], goals[goals["status"] == "loss"], goals[goals["status"] == "win"]  # fmt: skip
    worth: float | None = None
    traded = wins[wins["arm"].isin(failing["arm"])] if len(failing) and not len(losses) else wins.iloc[:0]
    if len(traded):  # better on a goal, worse on a guardrail: the shop weighs them, we don't pick
        w, r = traded.sort_values("p_value_adjusted").iloc[0], failing.iloc[0]
        why = (
            f"{_words(w['metric'])} went up with {w['arm']}: {_lift(w)}; but {_words(r['metric'])} got worse: "
            f"{_lift(r)}"
        )
        step = (
            f"Weigh the two before shipping {w['arm']} of {eid}: {why}. Check what the extra "
            f"{_words(r['metric'])} costs against what the gain brings."
        )
        sure = MIXED
        worth = _revenue_money(result, traded, metrics)
    elif len(failing) or len(losses):
        bad = failing if len(failing) else losses
        r = bad.iloc[0]
        what = "a guardrail" if len(failing) else "a goal"
        why = f"{what}, {_words(r['metric'])}, got worse with {r['arm']}: {_lift(r)}"
        step = f"Stop {eid} and keep {control}: {why}."
        sure = _sure(result, bad, better=False)
        worth = _revenue_money(result, bad, metrics)
    elif len(wins):
        arms = ", ".join(dict.fromkeys(wins["arm"].astype(str)))
        r = wins.sort_values("p_value_adjusted").iloc[0]
        why = f"{_words(r['metric'])} went up with {r['arm']} against {control}: {_lift(r)}"
        step = f"Ship {arms} of {eid}: {why}, and no guardrail got worse."
        sure = _sure(result, wins, better=True)
        worth = _revenue_money(result, wins, metrics)
    else:
        p = no_effect_p(goals)
        if not p < 0.05:
            return []
        why = (
            f"no goal metric moved, and the test rules out a change of more than {pct(NO_EFFECT_BAND, 0)} "
            f"either way (p {p_value(p)})"
        )
        step = f"Stop {eid} and keep {control}: {why}. Use the traffic for the next test."
        sure = certainty(p)
    evidence = [
        f"{_words(r['metric'])} · {r['arm']}: {_lift(r)}, {r['status']}"
        for r in pd.concat([goals, guards]).to_dict(orient="records")
    ]
    if worth is not None:
        evidence.append(
            f"priced at the revenue per customer's change × customers in the test: {money(worth, currency)}"
        )
    return [
        Action(
            kind="experiment",
            name=eid,
            money_at_stake=worth,
            currency=currency,
            certainty=sure,
            next_step=step,
            why=why[0].upper() + why[1:],
            horizon=horizon,
            months=days / DAYS_PER_MONTH if days else None,
            evidence=tuple([result.srm.message(result.arms), *evidence]),
            source=("experiments",),
        )
    ]
