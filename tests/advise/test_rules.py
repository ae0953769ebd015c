"""The rules behind the actions, on hand-built inputs: the certainty scale, the ranking, conflicting findings
about one place merged into one "mixed signals" action, and the experiment decisions."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from cxlab.advise.actions import merge_same_place
from cxlab.advise.advice import MIXED, Action, ranked, yearly
from cxlab.advise.experiments import experiment_action
from cxlab.advise.places import lagging_findings, place_actions, swot_findings
from cxlab.display import certainty
from cxlab.experiments.analysis import analyze
from cxlab.experiments.definitions import default_metrics
from cxlab.experiments.equivalence import no_effect_p
from cxlab.experiments.sufficient import SufficientStats
from cxlab.journey.swot import COLUMNS

HORIZON = "over the 12 months analysed"


@pytest.mark.parametrize(
    ("p", "chance", "words"),
    [
        (0.0, None, "very likely"),
        (0.000999, None, "very likely"),
        (0.001, None, "likely"),
        (0.00999, None, "likely"),
        (0.01, None, "probable"),
        (0.0499, None, "probable"),
        (0.05, None, "unclear"),
        (0.6, None, "unclear"),
        (float("nan"), None, "unclear"),
        (None, 0.995, "very likely"),
        (None, 0.99, "very likely"),
        (None, 0.97, "likely"),
        (None, 0.85, "probable"),
        (None, 0.6, "possible"),
        (None, 0.3, "unclear"),
        (None, None, "unclear"),
        (0.2, 0.999, "unclear"),  # the p-value decides
    ],
)
def test_certainty_scale(p: float | None, chance: float | None, words: str) -> None:
    assert certainty(p, chance) == words


def _action(name: str, worth: float | None, sure: str) -> Action:
    return Action("touchpoint", name, worth, "EUR", sure, f"fix {name}")


def test_money_over_different_spans_is_put_on_a_year_before_ranking() -> None:
    swot = Action(
        "touchpoint",
        "delivery",
        2400.0,
        "EUR",
        "likely",
        "fix",
        horizon="over the 24 months analysed",
        months=24,
    )
    test = Action(
        "experiment", "exp", 1000.0, "EUR", "likely", "ship", horizon="over the test's 61 days", months=2.0
    )
    week = Action("voice", "returns", 80.0, "EUR", "likely", "read", horizon="in the latest week")
    a, b, c = (yearly(x) for x in (swot, test, week))
    assert (a.money_at_stake, a.horizon, a.evidence[0]) == (
        1200.0,
        "a year",
        "found: EUR 2,400 over the 24 months analysed",
    )
    assert b.money_at_stake == pytest.approx(6000.0) and c == week  # no span: kept as found
    assert [x.name for x in ranked([swot, test])] == ["delivery", "exp"]  # as found: 2,400 > 1,000
    assert [x.name for x in ranked([a, b])] == ["exp", "delivery"]  # a year: 6,000 > 1,200
    assert yearly(a) == a and yearly(_action("x", None, "likely")).money_at_stake is None


def test_ranking_money_first_then_certainty_unpriced_last_mixed_signals_after() -> None:
    order = ranked(
        [
            _action("a", None, "very likely"),
            _action("b", 100.0, "possible"),
            _action("c", 100.0, "likely"),
            _action("d", 500.0, MIXED),
            _action("e", float("nan"), "likely"),
        ]
    )
    assert [a.name for a in order] == ["c", "b", "a", "e", "d"]
    doc = order[3].to_dict(4)
    assert doc["money_at_stake"] is None and doc["rank"] == 4


def _row(kind: str, name: str, metric: str, verdict: str, value: float, peer: float, money: float, p: float,
         group: str = "all", evidence: tuple[str, ...] = ()) -> dict[str, Any]:  # fmt: skip
    return {
        "kind": kind, "name": name, "peer_group": group, "metric": metric, "value": value, "peer_value": peer,
        "peer_median": peer, "diff": value - peer, "ci_low": value - peer - 0.01, "ci_high": value - peer + 0.01,
        "effect_size": 0.5, "n": 400, "peers": 3, "peer_n": 1200, "p_value": p / 10, "p_adjusted": p,
        "money_at_stake": money, "money_per_month": money / 12, "verdict": verdict, "evidence": list(evidence),
    }  # fmt: skip


def _swot(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*COLUMNS, "evidence"])


def test_a_place_weak_on_one_metric_and_strong_on_another_is_one_mixed_action() -> None:
    table = _swot(
        [
            _row("touchpoint", "checkout", "next_stage", "weakness", 0.50, 0.60, 8000.0, 0.0001, "conversion step 3"),
            _row("touchpoint", "checkout", "negative_feedback", "strength", 0.10, 0.30, 3000.0, 0.002),
            _row("touchpoint", "delivery", "negative_feedback", "weakness", 0.60, 0.20, 2000.0, 0.004),
            _row("touchpoint", "delivery", "negative_sentiment", "weakness", 0.50, 0.25, 1500.0, 0.02,
                 evidence=("late parcels (40 texts)",)),
            _row("touchpoint", "product", "negative_feedback", "strength", 0.05, 0.30, 9000.0, 0.0001),
            _row("touchpoint", "site", "next_stage", "as peers", 0.5, 0.5, 0.0, 0.9),
        ]
    )  # fmt: skip
    actions = place_actions(swot_findings(table, "EUR"), "EUR", HORIZON)
    assert sorted(a.name for a in actions) == ["checkout", "delivery"]  # a strength alone is nothing to fix
    checkout = next(a for a in actions if a.name == "checkout")
    assert checkout.certainty == MIXED
    assert checkout.money_at_stake == pytest.approx(4000.0)  # half the weakness's gap
    assert checkout.next_step.startswith("Mixed signals at checkout. Worse: 50.0% of the people")
    assert "Better: 10.0% of its feedback is negative" in checkout.next_step
    assert "conflict" in checkout.why
    assert any(e.startswith("worse: ") for e in checkout.evidence)
    assert any(e.startswith("better: ") for e in checkout.evidence)
    delivery = next(a for a in actions if a.name == "delivery")
    assert delivery.certainty == "likely" and delivery.money_at_stake == pytest.approx(1000.0)
    assert delivery.next_step.startswith(
        "delivery: 60.0% of its feedback is negative, against 20.0% for the other touchpoints — top complaints: "
        "late parcels (40 texts). Check the carrier's"
    )
    assert delivery.next_step.endswith("then A/B test a fix on delivery.")


def _lagging(rows: list[tuple[str, float, float, bool, float, float]]) -> pd.DataFrame:
    cols = ["channel", "rate", "peer_rate", "lagging", "p_adjusted", "gap_value"]
    t = pd.DataFrame(rows, columns=cols)
    return t.assign(
        p_value=t["p_adjusted"], trials=1000, difference=t["rate"] - t["peer_rate"],
        difference_low=t["rate"] - t["peer_rate"] - 0.01, difference_high=t["rate"] - t["peer_rate"] + 0.01,
    )  # fmt: skip


def test_channel_findings_merge_and_contradict() -> None:
    paid = ["social_ads", "paid_search", "display"]
    swot = _swot(
        [
            _row("channel", "social_ads", "conversion", "weakness", 0.16, 0.33, 6000.0, 1e-20, "paid"),
            _row("channel", "social_ads", "revenue_per_customer", "weakness", 58.0, 108.0, 5000.0, 1e-4, "paid"),
            _row("channel", "organic_search", "conversion", "as peers", 0.33, 0.30, 900.0, 1.0, "unpaid"),
        ]
    )  # fmt: skip
    lag = _lagging(
        [
            ("social_ads", 0.02, 0.05, True, 1e-40, 3000.0),
            ("paid_search", 0.058, 0.04, False, 1.0, 0.0),
            ("display", 0.044, 0.045, False, 1.0, 0.0),
            ("organic_search", 0.075, 0.13, True, 1e-50, 7000.0),
        ]
    )
    from cxlab.advise.places import best_peers

    findings = swot_findings(swot, "EUR") + lagging_findings(lag, paid)
    actions = {
        a.name: a for a in place_actions(findings, "EUR", HORIZON, paid=paid, best=best_peers(lag, paid))
    }
    assert set(actions) == {"social_ads", "organic_search"}
    social = actions["social_ads"]
    assert social.money_at_stake == pytest.approx(3000.0)  # the largest half-gap, not the sum
    assert social.certainty == "very likely" and set(social.source) == {"swot", "lagging-channels"}
    assert social.next_step.startswith("Cut or rework social_ads: 16.0% of the people it brought in")
    assert "Move budget to paid_search (5.8% of its visits buy, against 2.0%)" in social.next_step
    # organic search lags on visits, but the people it brings in buy as often as its peers': mixed signals
    organic = actions["organic_search"]
    assert organic.certainty == MIXED and "No clear difference: 33.0% of the people" in organic.next_step


def test_voice_about_a_place_with_an_action_joins_it() -> None:
    tp = Action("touchpoint", "delivery", 1000.0, "EUR", "likely", "Fix delivery.", source=("swot",))
    v1 = Action(
        "voice", "delivery", 2500.0, "EUR", "probable", "Read the 12 new complaints.", source=("themes",)
    )
    v2 = Action(
        "voice", "returns", 100.0, "EUR", "probable", "Read the 3 new complaints.", source=("themes",)
    )
    out = merge_same_place([tp, v1, v2])
    assert [(a.kind, a.name) for a in out] == [("touchpoint", "delivery"), ("voice", "returns")]
    assert out[0].money_at_stake == 2500.0 and "Read the 12 new complaints." in out[0].next_step
    assert out[0].source == ("swot", "themes")


def _result(
    conv: tuple[int, int, int, int], guard: tuple[int, int, int, int] = (10_000, 500, 10_000, 500)
) -> Any:
    """An A/B test on conversion (goal) and support contacts (guardrail, lower is better): n and converted per
    arm, control first."""
    rows = []
    for metric, (n_a, k_a, n_b, k_b), g in (
        ("conversion", conv, False),
        ("support_contact_rate", guard, True),
    ):
        rows += [
            {"metric": metric, "type": "proportion", "arm": "A", "n": n_a, "sum": k_a, "guardrail": g, "inverse": g},
            {"metric": metric, "type": "proportion", "arm": "B", "n": n_b, "sum": k_b, "guardrail": g, "inverse": g},
        ]  # fmt: skip
    return analyze(SufficientStats.from_frame(pd.DataFrame(rows)), experiment_id="checkout_button")


def test_experiment_decisions() -> None:
    metrics = default_metrics()
    ship = experiment_action(_result((10_000, 1000, 10_000, 1200)), metrics, "EUR")
    assert len(ship) == 1 and ship[0].next_step.startswith("Ship B of checkout_button: conversion went up")
    assert ship[0].certainty == "very likely" and ship[0].money_at_stake is None  # conversion isn't money
    stop = experiment_action(
        _result((10_000, 1000, 10_000, 1000), (10_000, 500, 10_000, 700)), metrics, "EUR"
    )
    assert stop[0].next_step.startswith("Stop checkout_button and keep A: a guardrail, support contact rate")
    traded = experiment_action(
        _result((10_000, 1000, 10_000, 1200), (10_000, 500, 10_000, 700)), metrics, "EUR"
    )
    assert traded[0].next_step.startswith("Weigh the two before shipping B of checkout_button: conversion")
    assert traded[0].certainty == MIXED
    flat = experiment_action(_result((200_000, 20_000, 200_000, 20_010)), metrics, "EUR")
    assert flat[0].next_step.startswith("Stop checkout_button and keep A: no goal metric moved")
    assert experiment_action(_result((300, 30, 300, 33)), metrics, "EUR") == []  # too small to tell yet
    assert (
        experiment_action(_result((10_000, 1000, 8_000, 960)), metrics, "EUR") == []
    )  # sample ratio mismatch


def test_no_effect_p() -> None:
    rows = pd.DataFrame({"lift_relative": [0.0, 0.01], "se_relative": [0.01, 0.01]})
    assert no_effect_p(rows) < 0.001
    assert no_effect_p(rows.assign(se_relative=0.05)) > 0.05
    assert math.isnan(no_effect_p(rows.assign(se_relative=float("nan"))))
