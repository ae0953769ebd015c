"""Simulations with a fixed seed: A/A false-positive rates of every engine, including the sequential one
under daily peeking, family-wise error with corrections, interval coverage and planned power.

Each simulated experiment is one row ("metric") of a single vectorised analysis. Bounds are about 3.5
binomial standard errors around the nominal rate, so a correct engine passes and a broken one doesn't.
"""

from __future__ import annotations

import numpy as np
import pytest

from cxlab.experiments.analysis import analyze
from cxlab.experiments.bayesian import beta_binomial
from cxlab.experiments.power import plan
from cxlab.experiments.sufficient import SufficientStats
from cxlab.stats.multitest import adjust_pvalues

ALPHA = 0.05


def band(reps: int, rate: float = ALPHA) -> float:
    return 3.5 * np.sqrt(rate * (1 - rate) / reps)


def many(
    kind: str, n: np.ndarray, s: np.ndarray, ss: np.ndarray | None = None, **extra: np.ndarray
) -> SufficientStats:
    """Sufficient statistics of ``len(n)`` independent experiments (rows), two or more arms (columns)."""
    reps = n.shape[0]
    return SufficientStats(
        metrics=tuple(f"sim{i}" for i in range(reps)),
        arms=tuple(f"arm{j}" for j in range(n.shape[1])),
        kinds=(kind,) * reps,  # type: ignore[arg-type]
        n=n,
        sum=s,
        sum_squares=s if ss is None else ss,
        **extra,
    )


def rejected(stats: SufficientStats, engine: str, **kw: object) -> np.ndarray:
    t = analyze(stats, engine=engine, correction="none", **kw).to_frame()  # type: ignore[arg-type]
    t = t[~t["is_control"]]
    return t["status"].isin(["win", "loss"]).to_numpy().reshape(stats.shape[0], -1)


@pytest.mark.parametrize("engine", ["frequentist", "bayesian", "sequential"])
def test_aa_proportions(engine: str) -> None:
    rng = np.random.default_rng(1)
    reps, n = 6000, 3000
    nn = np.full((reps, 2), float(n))
    stats = many("proportion", nn, rng.binomial(n, 0.08, (reps, 2)).astype(float))
    fpr = rejected(stats, engine).mean()
    if engine == "sequential":  # always valid: conservative at a single look
        assert fpr <= ALPHA
    else:
        assert abs(fpr - ALPHA) < band(reps)


@pytest.mark.parametrize("engine", ["frequentist", "bayesian"])
def test_aa_skewed_revenue_and_ratio(engine: str) -> None:
    rng = np.random.default_rng(2)
    reps, n = 1500, 1500
    # revenue per user: mostly zeros, a long right tail
    y = rng.lognormal(3.5, 1.0, (reps, 2, n)) * (rng.random((reps, 2, n)) < 0.3)
    nn = np.full((reps, 2), float(n))
    fpr_mean = rejected(many("mean", nn, y.sum(-1), (y * y).sum(-1)), engine).mean()
    assert abs(fpr_mean - ALPHA) < band(reps)
    # revenue per order: orders per user ~ Poisson, order values ~ Gamma
    d = rng.poisson(1.0, (reps, 2, n)).astype(float)
    v = rng.gamma(np.maximum(d, 1e-12) * 2.0, 30.0) * (d > 0)
    ratio = many(
        "ratio",
        nn,
        v.sum(-1),
        (v * v).sum(-1),
        denominator_sum=d.sum(-1),
        denominator_sum_squares=(d * d).sum(-1),
        cross_sum=(v * d).sum(-1),
    )
    assert abs(rejected(ratio, engine).mean() - ALPHA) < band(reps)


def test_aa_cuped_keeps_its_level_and_shrinks_intervals() -> None:
    rng = np.random.default_rng(3)
    reps, n = 2000, 1000
    x = rng.gamma(2.0, 10.0, (reps, 2, n))
    y = 0.7 * x + rng.normal(0, 8, (reps, 2, n))
    nn = np.full((reps, 2), float(n))
    cov = {
        "covariate_sum": x.sum(-1),
        "covariate_sum_squares": (x * x).sum(-1),
        "covariate_cross_sum": (x * y).sum(-1),
    }
    stats = many("mean", nn, y.sum(-1), (y * y).sum(-1), **cov)
    assert abs(rejected(stats, "frequentist").mean() - ALPHA) < band(reps)
    with_cuped = analyze(stats).to_frame()["se_relative"].dropna().mean()
    without = analyze(stats, cuped=False).to_frame()["se_relative"].dropna().mean()
    assert with_cuped < 0.75 * without


def test_aa_three_arms_holm_and_bh_control_family_errors() -> None:
    """Ten goal metrics × two treatment arms under the null: after Holm or BH, P(any false win) ≤ alpha.

    Also pins down why the corrections use the absolute difference's p-values: the delta-method relative
    p-value (GrowthBook's) has unequal tails, fine at 0.05 but anti-conservative at Bonferroni levels.
    """
    rng = np.random.default_rng(4)
    experiments, metrics, n = 800, 10, 2000
    sims = rng.binomial(n, 0.1, (experiments, metrics, 3)).astype(float)
    nn = np.full((metrics, 3), float(n))
    found = {"none": [], "holm": [], "bh": [], "holm on relative p": []}
    for e in range(experiments):
        stats = many("proportion", nn, sims[e])
        for method in ("none", "holm", "bh"):
            t = analyze(stats, correction=method).to_frame()  # type: ignore[arg-type]
            found[method].append(t["status"].isin(["win", "loss"]).any())
        rel = t[~t["is_control"]]["p_value"].to_numpy()
        found["holm on relative p"].append((adjust_pvalues(rel, "holm") < ALPHA).any())
    rate = {k: float(np.mean(v)) for k, v in found.items()}
    assert rate["none"] > 0.5  # twenty looks at noise: most experiments "find" something
    assert rate["holm"] <= ALPHA + band(experiments)
    assert rate["bh"] <= ALPHA + band(experiments)
    assert rate["holm on relative p"] > rate["holm"]


def test_sequential_stays_valid_under_daily_peeking() -> None:
    """28 daily looks at an A/A test: the always-valid p-value keeps its level, the fixed-horizon doesn't."""
    rng = np.random.default_rng(5)
    reps, days, per_day = 2000, 28, 150
    daily = rng.binomial(per_day, 0.1, (reps, days, 2)).astype(float)
    s = daily.cumsum(axis=1).reshape(reps * days, 2)
    n = np.repeat((np.arange(1, days + 1) * per_day)[None, :], reps, axis=0).reshape(-1, 1) * np.ones((1, 2))
    stats = many("proportion", n.astype(float), s)
    seq = rejected(stats, "sequential").reshape(reps, days).any(axis=1).mean()
    fixed = rejected(stats, "frequentist").reshape(reps, days)
    assert seq <= ALPHA
    assert abs(fixed[:, -1].mean() - ALPHA) < band(reps)  # one look at the end: fine
    assert fixed.any(axis=1).mean() > 2 * ALPHA  # peeking every day: false positives pile up


def test_sequential_confidence_sequence_covers_a_true_lift_at_every_look() -> None:
    rng = np.random.default_rng(6)
    reps, days, per_day, lift = 1500, 21, 200, 0.2
    p = np.array([0.1, 0.1 * (1 + lift)])
    s = rng.binomial(per_day, p, (reps, days, 2)).astype(float).cumsum(axis=1).reshape(-1, 2)
    n = np.repeat((np.arange(1, days + 1) * per_day)[None, :], reps, axis=0).reshape(-1, 1) * np.ones((1, 2))
    t = analyze(many("proportion", n, s), engine="sequential").to_frame()
    t = t[~t["is_control"]]
    missed = ((t["ci_relative_low"] > lift) | (t["ci_relative_high"] < lift)).to_numpy().reshape(reps, days)
    assert missed.any(axis=1).mean() <= ALPHA


def test_exact_beta_binomial_on_small_tests() -> None:
    rng = np.random.default_rng(7)
    reps, n = 1000, 80
    k = rng.binomial(n, 0.12, (reps, 2))
    win = beta_binomial(k[:, 0], n, k[:, 1], n).chance_to_win
    fpr = ((win > 1 - ALPHA / 2) | (win < ALPHA / 2)).mean()
    assert fpr <= ALPHA + band(reps)


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
def test_relative_interval_covers_a_true_lift(kind: str) -> None:
    rng = np.random.default_rng(8)
    reps, n, lift = 3000, 2500, 0.15
    nn = np.full((reps, 2), float(n))
    if kind == "proportion":
        stats = many("proportion", nn, rng.binomial(n, [0.1, 0.1 * (1 + lift)], (reps, 2)).astype(float))
    else:  # clicks per open: opens ~ Poisson(2), clicks ~ Binomial(opens, 0.2 · (1 + lift))
        d = rng.poisson(2.0, (reps, 2, n))
        v = rng.binomial(d, np.array([0.2, 0.2 * (1 + lift)])[None, :, None]).astype(float)
        d = d.astype(float)
        stats = many(
            "ratio",
            nn,
            v.sum(-1),
            (v * v).sum(-1),
            denominator_sum=d.sum(-1),
            denominator_sum_squares=(d * d).sum(-1),
            cross_sum=(v * d).sum(-1),
        )
    t = analyze(stats).to_frame()
    t = t[~t["is_control"]]
    covered = ((t["ci_relative_low"] <= lift) & (lift <= t["ci_relative_high"])).mean()
    assert abs(covered - (1 - ALPHA)) < band(reps)


def test_planned_sample_size_gives_the_planned_power() -> None:
    rng = np.random.default_rng(9)
    p = plan(0.08, mde=0.15, power=0.8)
    reps = 3000
    nn = np.array([[p.n_control, p.n_treatment]] * reps, dtype=float)
    s = rng.binomial([p.n_control, p.n_treatment], [0.08, 0.08 * 1.15], (reps, 2)).astype(float)
    wins = analyze(many("proportion", nn, s), correction="none").to_frame()
    power = (wins[~wins["is_control"]]["status"] == "win").mean()
    assert abs(power - 0.8) < band(reps, 0.8)
