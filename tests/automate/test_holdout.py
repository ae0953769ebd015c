"""Stable assignment of customers to a flow's holdout and variants."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cxlab.automate.flows import HOLDOUT
from cxlab.automate.holdout import assign, uniform

IDS = [f"C{i:06d}" for i in range(20_000)]


def test_shares_match_the_holdout_and_the_weights() -> None:
    arm = assign("cart", IDS, 0.1, {"a": 1.0, "b": 3.0})
    n = len(IDS)
    held = int((arm == HOLDOUT).sum())
    assert stats.binomtest(held, n, 0.1).pvalue > 0.001
    sent = arm[arm != HOLDOUT]
    assert stats.binomtest(int((sent == "a").sum()), len(sent), 0.25).pvalue > 0.001


def test_assignment_is_stable_and_independent_between_flows() -> None:
    a1 = assign("cart", IDS, 0.1, {"send": 1.0})
    a2 = assign("cart", list(reversed(IDS)), 0.1, {"send": 1.0})[::-1]
    assert (a1 == a2).all()
    other = assign("birthday", IDS, 0.1, {"send": 1.0})
    both = ((a1 == HOLDOUT) & (other == HOLDOUT)).mean()
    assert abs(both - 0.01) < 0.004  # independent draws: 10% of 10%


def test_a_bigger_holdout_keeps_earlier_holdout_customers_and_the_variants() -> None:
    small = assign("cart", IDS, 0.05, {"a": 1.0, "b": 1.0})
    big = assign("cart", IDS, 0.2, {"a": 1.0, "b": 1.0})
    assert (big[small == HOLDOUT] == HOLDOUT).all()
    both_sent = (small != HOLDOUT) & (big != HOLDOUT)
    assert (small[both_sent] == big[both_sent]).all()


def test_uniform_is_uniform() -> None:
    u = uniform("f", IDS)
    assert stats.kstest(u, "uniform").pvalue > 0.001 and np.all((u >= 0) & (u < 1))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="holdout"):
        assign("f", IDS[:3], 1.0, {"a": 1.0})
    with pytest.raises(ValueError, match="weight"):
        assign("f", IDS[:3], 0.1, {})
