"""The win-back action: valuable customers who are slipping away, from the churn-risk ranking.

Worth a win-back: customers in the more valuable half (expected spend over the horizon if still active at or
above the median), more likely gone than not (P(alive) < 0.5) and slipping (P(alive) fell over the lookback).
The money is their value at risk (:mod:`cxlab.customers.churn`: the fall in P(alive) times that spend), the
certainty how likely they are, on average, to have lapsed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cxlab.advise.advice import Action
from cxlab.customers.churn import ChurnRisk
from cxlab.display import certainty, count, money, pct

ALIVE_BELOW = 0.5
"""P(alive) under which a customer is more likely gone than active."""
NAME = "win-back"


def worth_winning_back(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a churn-risk table (:attr:`ChurnRisk.table`) worth a win-back (see the module docstring)."""
    valuable = table["value_if_alive"] >= table["value_if_alive"].median()
    slipping = (table["p_alive"] < ALIVE_BELOW) & (table["p_alive_change"] < 0)
    return table[valuable & slipping & (table["value_at_risk"] > 0)]


def winback_action(churn: ChurnRisk, flows: Sequence[str] = ()) -> list[Action]:
    """One action for the customers worth a win-back (none when there are none); ``flows`` names the enabled
    flows with a churn-risk trigger, if any, so the step says to check them rather than set one up."""
    chosen = worth_winning_back(churn.table)
    if chosen.empty:
        return []
    n, cur = len(chosen), churn.currency
    at_risk = float(chosen["value_at_risk"].sum())
    lapsed = float(1 - chosen["p_alive"].mean())
    horizon = f"over the next {churn.settings.months} months"
    who = f"the {count(n)} valuable customers who are slipping away"
    if flows:
        step = (
            f"Check that the win-back flow {', '.join(flows)} reaches {who} (`cxlab flows plan`) and what it "
            f"earns (`cxlab flows report`)."
        )
    else:
        step = (
            f"Turn on a win-back flow for {who}: a flow with a churn_risk trigger (see `cxlab flows`), with a "
            f"holdout to measure what it brings back."
        )
    why = (
        f"{count(n)} customers in the more valuable half are more likely gone than active (on average "
        f"{pct(lapsed, 0)} chance they have lapsed); {money(at_risk, cur)} of what they would spend is at risk "
        f"{horizon}"
    )
    evidence = [
        f"{churn.method}, as of {churn.as_of}",
        f"top of the list: {', '.join(str(c) for c in chosen['customer_id'].head(5))}",
    ]
    if churn.degenerate_reason:
        evidence.append(f"warning: {churn.degenerate_reason}")
    return [
        Action(
            kind="customers",
            name=NAME,
            money_at_stake=at_risk,
            currency=cur,
            certainty="unclear" if churn.degenerate else certainty(chance=lapsed),
            next_step=step,
            why=why,
            horizon=horizon,
            months=float(churn.settings.months),
            evidence=tuple(evidence),
            source=("churn",),
        )
    ]
