"""cxlab's engines against GrowthBook's gbstats (its full per-metric pipeline) on the same sums, to 1e-6.

Covered: proportions, means, ratios (delta method), CUPED on proportions and means, 2 and 3 arms,
frequentist, sequential and Bayesian (flat and informative priors), relative and absolute lifts, inverse
metrics and the SRM p-value. The intended differences are pinned down at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from exp_helpers import Arm, sums, to_stats

from cxlab.experiments.analysis import analyze
from cxlab.experiments.bayesian import GaussianPrior

pytestmark = pytest.mark.filterwarnings("ignore:Setting a value on a Series via .at")  # inside gbstats

TOL = {"rtol": 1e-6, "atol": 1e-9}


def make_arms(rng: np.random.Generator, kind: str, k: int, cuped: bool, n: int = 4000) -> list[Arm]:
    """Unit-level data with a different true effect per arm, summed; sizes vary a little per arm."""
    arms = []
    for i in range(k):
        m = int(n * rng.uniform(0.9, 1.1))
        lift = [0.0, 0.08, -0.05][i]
        if kind == "proportion":
            x = (rng.random(m) < 0.3).astype(float)
            y = (rng.random(m) < (0.08 + 0.1 * x) * (1 + lift)).astype(float)
            arms.append(sums(y, x=x if cuped else None))
        elif kind == "mean":
            x = rng.gamma(2.0, 20.0, m) * (rng.random(m) < 0.6)
            y = np.maximum(0, 0.6 * x + rng.gamma(1.5, 15.0, m) * (1 + lift) - 10) * (rng.random(m) < 0.5)
            arms.append(sums(y, x=x if cuped else None))
        else:
            d = rng.poisson(1.2, m).astype(float)
            y = np.array([rng.gamma(3.0, 20.0 * (1 + lift), int(c)).sum() for c in d])
            arms.append(sums(y, d=d))
    return arms


CASES = [
    ("proportion", 2, False),
    ("proportion", 3, False),
    ("mean", 2, False),
    ("mean", 3, False),
    ("ratio", 2, False),
    ("ratio", 3, False),
    ("proportion", 2, True),
    ("proportion", 3, True),
    ("mean", 2, True),
    ("mean", 3, True),
]


def _check_against(result: Any, dim: Any, engine: str, scale: str = "relative") -> None:
    t = result.to_frame()
    assert result.srm.p_value == pytest.approx(dim.srm, rel=1e-9)
    base = dim.variations[0]
    control = t[t["is_control"]].iloc[0]
    assert control["n"] == base.users
    np.testing.assert_allclose(control["mean"], base.cr, **TOL)
    rows = t[~t["is_control"]].to_dict(orient="records")
    assert len(rows) == len(dim.variations) - 1
    for r, v in zip(rows, dim.variations[1:], strict=True):
        assert v.errorMessage is None
        lift = r["lift_relative"] if scale == "relative" else r["lift_absolute"]
        ci = (
            [r["ci_relative_low"], r["ci_relative_high"]]
            if scale == "relative"
            else [r["ci_absolute_low"], r["ci_absolute_high"]]
        )
        np.testing.assert_allclose(r["mean"], v.cr, **TOL)
        np.testing.assert_allclose(lift, v.expected, **TOL)
        np.testing.assert_allclose(ci, list(v.ci), **TOL)
        if engine == "bayesian":
            if scale == "relative":
                np.testing.assert_allclose(r["chance_to_win"], v.chanceToWin, **TOL)
                np.testing.assert_allclose([r["risk_control"], r["risk"]], list(v.risk), **TOL)
        else:
            p = r["p_value"] if scale == "relative" else None
            if p is not None:
                np.testing.assert_allclose(p, v.pValue, **TOL)


@pytest.mark.parametrize(("kind", "k", "cuped"), CASES)
@pytest.mark.parametrize("engine", ["frequentist", "sequential", "bayesian"])
def test_equals_gbstats(
    rng: np.random.Generator, gbstats: Callable[..., Any], kind: str, k: int, cuped: bool, engine: str
) -> None:
    arms = make_arms(rng, kind, k, cuped)
    ours = analyze(
        to_stats(kind, arms),
        engine="sequential" if engine == "sequential" else engine,  # type: ignore[arg-type]
        correction="none",
    )
    ref = gbstats(kind, arms, engine=engine, sequential=engine == "sequential")
    _check_against(ours, ref, engine)
    if cuped:  # the adjustment really happened, and it changed the answer
        assert (ours.to_frame()["cuped_theta"].dropna() != 0).all()
        plain = analyze(to_stats(kind, arms), engine="frequentist", cuped=False).to_frame()
        adjusted = ours.to_frame()
        assert not np.allclose(plain["se_relative"].dropna(), adjusted["se_relative"].dropna())


@pytest.mark.parametrize(("kind", "k", "cuped"), [c for c in CASES if c[0] != "ratio"])
@pytest.mark.parametrize("engine", ["frequentist", "sequential"])
def test_small_samples_equal_gbstats(
    rng: np.random.Generator, gbstats: Callable[..., Any], kind: str, k: int, cuped: bool, engine: str
) -> None:
    """With 40 to 60 units per arm the Welch degrees of freedom matter: they must match too."""
    arms = make_arms(rng, kind, k, cuped, n=50)
    ours = analyze(to_stats(kind, arms), engine=engine, correction="none")  # type: ignore[arg-type]
    _check_against(ours, gbstats(kind, arms, engine=engine, sequential=engine == "sequential"), engine)


@pytest.mark.parametrize(("kind", "k", "cuped"), [c for c in CASES if c[1] == 2])
@pytest.mark.parametrize("engine", ["frequentist", "sequential", "bayesian"])
def test_absolute_lift_equals_gbstats(
    rng: np.random.Generator, gbstats: Callable[..., Any], kind: str, k: int, cuped: bool, engine: str
) -> None:
    arms = make_arms(rng, kind, k, cuped)
    ours = analyze(to_stats(kind, arms), engine=engine, correction="none")  # type: ignore[arg-type]
    ref = gbstats(kind, arms, engine=engine, sequential=engine == "sequential", difference_type="absolute")
    _check_against(ours, ref, engine, scale="absolute")


@pytest.mark.parametrize(("prior_mean", "prior_sd"), [(0.0, 0.1), (0.05, 0.3), (-0.1, 0.05)])
@pytest.mark.parametrize("inverse", [False, True])
def test_informative_prior_and_inverse_equal_gbstats(
    rng: np.random.Generator, gbstats: Callable[..., Any], prior_mean: float, prior_sd: float, inverse: bool
) -> None:
    arms = make_arms(rng, "proportion", 3, cuped=False, n=1500)
    doc = {
        "metric": {"type": "proportion", "inverse": inverse},
        "variants": [{"name": f"v{i}"} | a for i, a in enumerate(arms)],
    }
    from cxlab.experiments.sufficient import SufficientStats

    ours = analyze(
        SufficientStats.from_json(doc),
        engine="bayesian",
        prior=GaussianPrior(prior_mean, prior_sd, proper=True),
    )
    ref = gbstats("proportion", arms, engine="bayesian", prior=(prior_mean, prior_sd), inverse=inverse)
    _check_against(ours, ref, "bayesian")
    flat = analyze(SufficientStats.from_json(doc), engine="bayesian").to_frame()
    # the prior shrinks the lift towards its mean: it must differ from the flat-prior answer
    assert not np.allclose(flat["lift_relative"].dropna(), ours.to_frame()["lift_relative"].dropna())


@pytest.mark.parametrize("tuning", [500.0, 5000.0, 50000.0])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_sequential_tuning_and_alpha_equal_gbstats(
    rng: np.random.Generator, gbstats: Callable[..., Any], tuning: float, alpha: float
) -> None:
    arms = make_arms(rng, "mean", 2, cuped=True, n=3000)
    ours = analyze(to_stats("mean", arms), engine="sequential", tuning=tuning, alpha=alpha)
    _check_against(ours, gbstats("mean", arms, sequential=True, tuning=tuning, alpha=alpha), "sequential")


def test_srm_with_uneven_weights_equals_gbstats(gbstats: Callable[..., Any]) -> None:
    arms = [{"n": 2100.0, "sum": 210.0}, {"n": 950.0, "sum": 110.0}, {"n": 960.0, "sum": 90.0}]
    ours = analyze(to_stats("proportion", arms), weights=[0.5, 0.25, 0.25])
    ref = gbstats("proportion", [a | {"sum_squares": a["sum"]} for a in arms], weights=[0.5, 0.25, 0.25])
    assert ours.srm.p_value == pytest.approx(ref.srm, rel=1e-12)
    assert 0.001 < ours.srm.p_value < 0.5


# --- intended differences ----------------------------------------------------------------------------


def test_difference_zero_control_mean_is_nan_not_zero(gbstats: Callable[..., Any]) -> None:
    """gbstats answers 'lift 0, CI [0, 0], p = 1' when the control never converts; cxlab says it can't."""
    arms = [{"n": 500.0, "sum": 0.0, "sum_squares": 0.0}, {"n": 500.0, "sum": 7.0, "sum_squares": 7.0}]
    ref = gbstats("proportion", arms).variations[1]
    assert (ref.ci, ref.pValue) == ((0.0, 0.0), 1.0)
    row = analyze(to_stats("proportion", arms)).to_frame().iloc[1]
    assert np.isnan(row["lift_relative"]) and np.isnan(row["p_value"]) and row["status"] == "error"
    assert "zero" in row["error"]


def test_difference_ratio_components_use_sample_variances(gbstats: Callable[..., Any]) -> None:
    """A ratio's numerator and denominator always get n - 1 sample variances (gbstats' 'count' type)."""
    rng = np.random.default_rng(3)
    arms = []
    for _ in range(2):
        d = rng.poisson(2, 800).astype(float)
        y = rng.binomial(d.astype(int), 0.3).astype(float)
        arms.append(sums(y, d=d))
    ours = analyze(to_stats("ratio", arms), correction="none")
    _check_against(ours, gbstats("ratio", arms), "frequentist")
