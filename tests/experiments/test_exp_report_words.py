"""The experiment sections' decision in words: winner, loser, harm, broken split, no difference, or how long
to keep running; one short row per variant and measure; the method kept in the details."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from cxlab.advise.advice import CERTAINTIES
from cxlab.experiments import SufficientStats, analyze
from cxlab.experiments.analysis import ExperimentResult
from cxlab.experiments.power import sample_size_per_arm
from cxlab.experiments.report import customers_needed, decision, result_details, result_rows


def result(*rows: tuple[str, str, int, int], guardrail: tuple[str, ...] = ()) -> ExperimentResult:
    """A proportion test from ``(metric, arm, n, conversions)`` rows; control: arm ``a``. A ``guardrail``
    metric is one where higher is worse (returns, complaints)."""
    df = pd.DataFrame(
        [(m, "proportion", arm, n, s, m in guardrail, m in guardrail) for m, arm, n, s in rows],
        columns=["metric", "type", "arm", "n", "sum", "guardrail", "inverse"],
    )
    return analyze(SufficientStats.from_frame(df, control="a"), experiment_id="exp")


def test_a_winner_is_named_with_its_change_and_how_sure() -> None:
    r = result(("conversion_rate", "a", 4000, 400), ("conversion_rate", "b", 4000, 480))
    text = decision(r)
    m = re.fullmatch(r"b wins: \+20\.0% conversion rate, (.+)", text)
    assert m and m.group(1) in CERTAINTIES and m.group(1) != "unclear", text
    assert result_rows(r) == [
        {
            "variant": "b",
            "measure": "conversion rate",
            "effect": "+20.0%",
            "how sure": m.group(1),
            "verdict": "better",
        }
    ]


def test_a_loser_keeps_the_control() -> None:
    r = result(("conversion_rate", "a", 4000, 480), ("conversion_rate", "b", 4000, 400))
    assert decision(r).startswith("b loses: -16.7% conversion rate, ") and decision(r).endswith("; keep a")


def test_harm_on_a_guardrail_stops_the_ship() -> None:
    r = result(
        ("conversion_rate", "a", 4000, 400),
        ("conversion_rate", "b", 4000, 480),
        ("returns", "a", 4000, 200),
        ("returns", "b", 4000, 320),
        guardrail=("returns",),
    )
    said = decision(r)  # conversion +20% is a win too: a trade-off the shop weighs, not a verdict
    assert (
        said.startswith("b wins on conversion rate (+20.0%, ") and "but returns got worse (+60.0%, " in said
    )
    assert said.endswith("weigh the two before shipping b")
    harm_only = result(
        ("conversion_rate", "a", 4000, 400),
        ("conversion_rate", "b", 4000, 404),
        ("returns", "a", 4000, 200),
        ("returns", "b", 4000, 320),
        guardrail=("returns",),
    )
    assert decision(harm_only).startswith("don't ship b: returns got worse (+60.0%, ")
    assert [row["verdict"] for row in result_rows(r)] == ["better", "worse: harm"]
    assert result_rows(r)[1]["measure"] == "returns (watched for harm)"


def test_a_broken_split_is_not_decided() -> None:
    r = result(("conversion_rate", "a", 4000, 400), ("conversion_rate", "b", 3000, 400))
    assert r.srm.mismatch and decision(r).startswith("don't decide yet: customers were not split")


def test_too_small_a_test_says_how_long_to_keep_running() -> None:
    r = result(("conversion_rate", "a", 300, 30), ("conversion_rate", "b", 300, 31))
    text = decision(r)
    m = re.fullmatch(
        r"no clear difference yet: keep running until about ([\d,]+) customers per variant \(now 300\)", text
    )
    assert m, text
    need = int(m.group(1).replace(",", ""))
    # the planning formula for a 5% relative change on a 10% conversion rate gives about the same size
    planned = float(sample_size_per_arm(0.1, 0.05, kind="proportion"))
    assert need == pytest.approx(planned, rel=0.15)
    assert need == math.ceil(customers_needed(r, r.table[~r.table["is_control"]]))


def test_a_large_test_without_a_change_says_so() -> None:
    r = result(("conversion_rate", "a", 400_000, 40_000), ("conversion_rate", "b", 400_000, 40_050))
    assert decision(r) == "no real difference: the variants stay within 5% of a; stop the test and keep a"


def test_details_keep_the_method_interval_p_and_n() -> None:
    r = result(("conversion_rate", "a", 4000, 400), ("conversion_rate", "b", 4000, 480))
    text = result_details(r)
    for needle in ("Welch t-test", "95% interval +", "p 0.00", "n = 4,000 vs 4,000", "SRM check passed"):
        assert needle in text, needle
    assert not re.search(r"\de-\d", text)


def test_an_interval_that_cannot_be_estimated_says_so() -> None:
    r = result(("conversion_rate", "a", 4000, 0), ("conversion_rate", "b", 4000, 10))
    assert "interval could not be estimated" in result_details(r)
    assert result_rows(r)[0]["effect"] == "–"
