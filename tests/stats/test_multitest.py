"""The one p-value adjustment (Holm, Benjamini–Hochberg) against hand-computed textbook values."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from cxlab.experiments.analysis import analyze
from cxlab.experiments.sufficient import SufficientStats
from cxlab.stats.multitest import adjust_pvalues

P = np.array([0.01, 0.04, 0.03, 0.02])
# Holm: sorted 0.01, 0.02, 0.03, 0.04 times 4, 3, 2, 1 = 0.04, 0.06, 0.06, 0.04, running max → 0.04, 0.06, 0.06, 0.06
HOLM = [0.04, 0.06, 0.06, 0.06]
# BH: sorted p times 4/1, 4/2, 4/3, 4/4 = 0.04 each, running min from the top → 0.04 everywhere
BH = [0.04, 0.04, 0.04, 0.04]


def test_holm_and_bh_by_hand() -> None:
    assert adjust_pvalues(P, "holm") == pytest.approx(HOLM, rel=1e-12)
    assert adjust_pvalues(P, "bh") == pytest.approx(BH, rel=1e-12)
    assert adjust_pvalues(P, "fdr_bh") == pytest.approx(BH, rel=1e-12)
    assert adjust_pvalues(P, "none") == pytest.approx(P)


def test_holm_and_bh_equal_statsmodels() -> None:
    p = np.random.default_rng(7).uniform(0, 0.2, 40) ** 2
    assert adjust_pvalues(p, "holm") == pytest.approx(multipletests(p, method="holm")[1], rel=1e-12)
    assert adjust_pvalues(p, "bh") == pytest.approx(multipletests(p, method="fdr_bh")[1], rel=1e-12)


def test_nan_is_left_out_of_the_family_and_shape_is_kept() -> None:
    grid = np.array([[0.01, np.nan], [0.04, 0.03], [0.02, np.nan]])
    got = adjust_pvalues(grid, "holm")
    assert got.shape == grid.shape and np.isnan(got[[0, 2], [1, 1]]).all()
    assert [got[0, 0], got[2, 0], got[1, 1], got[1, 0]] == pytest.approx(HOLM)


def test_experiment_corrections_use_it() -> None:
    """Four goal metrics: the analysis's adjusted p-values are the hand-computed BH of its own p-values."""
    stats = SufficientStats(
        metrics=("a", "b", "c", "d"),
        arms=("control", "treatment"),
        kinds=("proportion",) * 4,
        n=np.full((4, 2), 1000.0),
        sum=np.array([[100, 140], [100, 112], [100, 125], [100, 96]], dtype=float),
        sum_squares=np.full((4, 2), np.nan),
    )
    t = analyze(stats, correction="bh").to_frame()
    t = t[~t["is_control"]]
    p = t["p_value_absolute"].to_numpy()
    m = len(p)
    order = np.argsort(p)
    ref = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    expected = np.empty(m)
    expected[order] = np.minimum(ref, 1)
    assert t["p_value_adjusted"].to_numpy() == pytest.approx(expected, rel=1e-12)
