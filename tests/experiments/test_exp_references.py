"""The building blocks against independent references: scipy, statsmodels, closed forms, raw data.

Every test here computes the reference from the unit-level data or a published formula, never from
cxlab's own sufficient statistics.
"""

from __future__ import annotations

import numpy as np
import pytest
from exp_helpers import sums, to_stats
from scipy import special, stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_proportions

from cxlab.experiments.bayesian import beta_binomial
from cxlab.experiments.comparison import compare
from cxlab.experiments.frequentist import welch
from cxlab.experiments.power import (
    minimum_detectable_effect,
    plan,
    power_at,
    runtime_days,
    sample_size_per_arm,
)
from cxlab.experiments.srm import srm_check, srm_p_values
from cxlab.experiments.sufficient import moments


def test_welch_absolute_equals_scipy_on_raw_data(rng: np.random.Generator) -> None:
    a = rng.gamma(1.2, 30.0, 180) * (rng.random(180) < 0.4)
    b = rng.gamma(1.2, 36.0, 140) * (rng.random(140) < 0.4)
    ref = stats.ttest_ind(b, a, equal_var=False)
    lo, hi = ref.confidence_interval(0.9)
    ours = welch(compare(to_stats("mean", [sums(a), sums(b)])), relative=False, alpha=0.1)
    assert ours.estimate[0, 0] == pytest.approx(b.mean() - a.mean(), rel=1e-12)
    assert ours.p_value[0, 0] == pytest.approx(ref.pvalue, rel=1e-9)
    assert [ours.low[0, 0], ours.high[0, 0]] == pytest.approx([lo, hi], rel=1e-9)


def test_z_test_for_proportions_equals_statsmodels_wald() -> None:
    ka, na, kb, nb = 118, 1500, 151, 1480
    stats_ = to_stats("proportion", [{"n": na, "sum": ka}, {"n": nb, "sum": kb}])
    ours = welch(compare(stats_), relative=False, alpha=0.05, dist="z")
    ref = sm_test_proportions(kb, nb, ka, na, method="wald", compare="diff", correction=False)
    lo, hi = confint_proportions_2indep(kb, nb, ka, na, method="wald", compare="diff", correction=False)
    assert ours.p_value[0, 0] == pytest.approx(ref.pvalue, rel=1e-10)
    assert ours.estimate[0, 0] / ours.se[0, 0] == pytest.approx(ref.statistic, rel=1e-10)
    assert [ours.low[0, 0], ours.high[0, 0]] == pytest.approx([lo, hi], rel=1e-10)


def test_moments_equal_numpy_on_raw_data(rng: np.random.Generator) -> None:
    y0, y1 = rng.normal(10, 3, 300), rng.normal(11, 4, 250)
    m = moments(to_stats("mean", [sums(y0), sums(y1)]))
    assert m.mean[0] == pytest.approx([y0.mean(), y1.mean()], rel=1e-12)
    assert m.variance[0] == pytest.approx([y0.var(ddof=1), y1.var(ddof=1)], rel=1e-9)


def test_ratio_delta_method_equals_linearised_raw_data(rng: np.random.Generator) -> None:
    """Var of a ratio of sums by the delta method = var of the linearised unit values y - R·d over d̄²."""
    arms, refs = [], []
    for scale in (40.0, 44.0):
        d = rng.poisson(1.5, 900).astype(float)
        y = np.array([rng.gamma(2.0, scale, int(c)).sum() for c in d])
        arms.append(sums(y, d=d))
        r = y.sum() / d.sum()
        refs.append((r, np.var(y - r * d, ddof=1) / d.mean() ** 2))
    m = moments(to_stats("ratio", arms))
    assert m.mean[0] == pytest.approx([r for r, _ in refs], rel=1e-12)
    assert m.variance[0] == pytest.approx([v for _, v in refs], rel=1e-9)


def test_cuped_equals_welch_on_regression_adjusted_raw_data(rng: np.random.Generator) -> None:
    """CUPED from sums = Welch's t-test on y - θ·x per unit, θ the OLS slope of y on x over both arms."""
    xs = [rng.gamma(2.0, 10.0, n) for n in (700, 650)]
    ys = [0.8 * x + rng.normal(5 + 1.5 * i, 6, x.size) for i, x in enumerate(xs)]
    theta = np.polyfit(np.concatenate(xs), np.concatenate(ys), 1)[0]
    adj = [y - theta * x for x, y in zip(xs, ys, strict=True)]
    ref = stats.ttest_ind(adj[1], adj[0], equal_var=False)
    c = compare(to_stats("mean", [sums(y, x=x) for x, y in zip(xs, ys, strict=True)]))
    ours = welch(c, relative=False)
    assert c.theta[0, 0] == pytest.approx(theta, rel=1e-9)
    assert ours.estimate[0, 0] == pytest.approx(adj[1].mean() - adj[0].mean(), rel=1e-9)
    assert ours.p_value[0, 0] == pytest.approx(ref.pvalue, rel=1e-7)
    assert [ours.low[0, 0], ours.high[0, 0]] == pytest.approx(list(ref.confidence_interval(0.95)), rel=1e-9)
    plain = welch(compare(to_stats("mean", [sums(y) for y in ys])), relative=False)
    assert ours.se[0, 0] < 0.8 * plain.se[0, 0]  # the covariate explains much of y: a real reduction


def test_srm_equals_scipy_chisquare() -> None:
    counts = np.array([[5120, 4880], [5000, 5001], [3400, 3300, 3500]], dtype=object)
    for row, w in zip(counts, ([1, 1], [1, 1], [1, 1, 1]), strict=True):
        n = np.array(row, dtype=float)
        ref = stats.chisquare(n, n.sum() * np.array(w) / sum(w))
        assert srm_p_values(n, w)[0] == pytest.approx(ref.pvalue, rel=1e-10)
    check = srm_check([10_000, 9_500], [0.5, 0.5])
    assert check.mismatch and "SAMPLE RATIO MISMATCH" in check.message(("a", "b"))
    assert not srm_check([10_000, 9_900]).mismatch


def test_srm_reads_p_values_as_people_do_and_flags_units_in_an_unplanned_arm() -> None:
    big = srm_check([10_000, 8_000])
    assert big.p_value < 1e-40 and "p < 0.001" in big.message(("a", "b")) and "e-" not in big.message()
    assert "p = 0.317" in srm_check([5_050, 4_950]).message()  # chi² = 2 · 50² / 5000 = 1
    # a third arm planned to get no one received units: assignment is broken whatever the other two show
    assert srm_p_values([5_000, 5_000, 30], [1, 1, 0])[0] == 0.0
    # a weight-0 arm without units is left out of the statistic, the degrees of freedom stay arms - 1
    assert srm_p_values([5_120, 4_880, 0], [1, 1, 0])[0] == pytest.approx(
        stats.chi2.sf(stats.chisquare([5_120, 4_880], [5_000, 5_000]).statistic, 2), rel=1e-12
    )


def test_power_for_means_equals_statsmodels() -> None:
    sd, delta, ratio = 20.0, 1.5, 1.5
    got = power_at(2000, 50.0, delta, kind="mean", sd=sd, relative=False, ratio=ratio)
    ref = NormalIndPower().power(effect_size=delta / sd, nobs1=2000, alpha=0.05, ratio=ratio)
    assert got == pytest.approx(ref, rel=1e-10)
    n = sample_size_per_arm(50.0, delta, kind="mean", sd=sd, relative=False, ratio=ratio)
    n_ref = NormalIndPower().solve_power(effect_size=delta / sd, alpha=0.05, power=0.8, ratio=ratio)
    assert n == pytest.approx(n_ref, rel=1e-4)  # the closed form drops the far tail (< 1e-6 of power)
    mde = minimum_detectable_effect(3000, 50.0, kind="mean", sd=sd, relative=False)
    mde_ref = NormalIndPower().solve_power(nobs1=3000, alpha=0.05, power=0.8, ratio=1.0) * sd
    assert mde == pytest.approx(mde_ref, rel=1e-4)


def test_power_plan_for_a_conversion_rate() -> None:
    # the textbook unpooled formula for the absolute difference: n = (z_.975 + z_.8)² (p0 q0 + p1 q1) / δ²
    z = special.ndtri(0.975) + special.ndtri(0.8)
    assert plan(0.10, mde=0.01, relative=False).n_control == int(np.ceil(z**2 * (0.09 + 0.11 * 0.89) / 1e-4))
    # the relative lift's test (delta method) also pays for the control mean's noise: (1 + l)² on its term
    p = plan(0.10, mde=0.10, daily_units=1000)
    assert p.n_control == int(np.ceil(z**2 * (0.09 * 1.1**2 + 0.11 * 0.89) / 1e-4))
    assert p.days == runtime_days(p.n_total, 1000) == int(np.ceil(p.n_total / 1000))
    back = plan(0.10, n_per_arm=p.n_control)
    assert back.mde == pytest.approx(0.10, rel=1e-3)
    three = plan(0.10, mde=0.10, arms=3)
    assert three.n_control > p.n_control  # Bonferroni over two comparisons needs more units
    with pytest.raises(ValueError, match="exactly one"):
        plan(0.1)


def _evan_miller(aa: float, ba: float, ab: float, bb: float) -> float:
    """P(p_b > p_a) for Beta posteriors, the closed-form sum (integer ``ab``)."""
    i = np.arange(int(ab))
    log_terms = (
        special.betaln(aa + i, ba + bb) - np.log(bb + i) - special.betaln(1 + i, bb) - special.betaln(aa, ba)
    )
    return float(np.exp(log_terms).sum())


@pytest.mark.parametrize(
    ("ka", "na", "kb", "nb"),
    [
        (3, 40, 9, 40),
        (12, 150, 11, 160),
        (40, 400, 55, 380),
        (3, 40, 400, 4000),
        (400, 4000, 3, 40),
        (0, 20, 1, 20),
    ],
)
def test_beta_binomial_chance_to_win_equals_closed_form(ka: int, na: int, kb: int, nb: int) -> None:
    post = beta_binomial(ka, na, kb, nb)
    ref = _evan_miller(1 + ka, 1 + na - ka, 1 + kb, 1 + nb - kb)
    assert post.chance_to_win == pytest.approx(ref, abs=1e-9)


def test_beta_binomial_risk_and_interval_equal_monte_carlo() -> None:
    ka, na, kb, nb = 7, 60, 13, 58
    draws = np.random.default_rng(11)
    pa = draws.beta(1 + ka, 1 + na - ka, 2_000_000)
    pb = draws.beta(1 + kb, 1 + nb - kb, 2_000_000)
    rel = pb / pa - 1
    post = beta_binomial(ka, na, kb, nb, alpha=0.1)
    loss = np.maximum(pa - pb, 0) / pa
    assert post.risk == pytest.approx(loss.mean(), abs=4 * loss.std() / np.sqrt(loss.size))
    keep = np.maximum(pb - pa, 0) / pa
    assert post.risk_control == pytest.approx(keep.mean(), abs=4 * keep.std() / np.sqrt(keep.size))
    assert post.mean == pytest.approx(rel.mean(), abs=4 * rel.std() / np.sqrt(rel.size))
    assert [post.low, post.high] == pytest.approx(list(np.quantile(rel, [0.05, 0.95])), rel=5e-3)
    absolute = beta_binomial(ka, na, kb, nb, alpha=0.1, relative=False)
    assert [absolute.low, absolute.high] == pytest.approx(list(np.quantile(pb - pa, [0.05, 0.95])), rel=5e-3)
