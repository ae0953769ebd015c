"""CUPED / regression adjustment with a pre-period covariate, from sufficient statistics.

For each comparison of a treatment arm with the control, ``θ = cov(Y, X) / var(X)`` is estimated on the
two arms pooled (as GrowthBook does), and each arm's mean becomes ``Ȳ - θ·X̄`` with unit variance
``var(Y) + θ²·var(X) - 2θ·cov(Y, X)``. Because assignment is random, ``X̄`` has the same expectation in
every arm, so the adjusted difference is unbiased, and its variance shrinks by ``1 - ρ²``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxlab.experiments.sufficient import Array, Moments, SufficientStats, sample_covariance, sample_variance


@dataclass(frozen=True, eq=False)
class Adjusted:
    """Control-vs-treatment arrays of shape ``(metrics, arms - 1)``."""

    theta: Array
    mean_a: Array
    mean_b: Array
    var_a: Array
    var_b: Array


def _variance(n: Array, s: Array, ss: Array, bernoulli: Array) -> Array:
    """Bernoulli variance ``p(1 - p)`` where ``bernoulli``, else the sample variance."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, s / np.where(n > 0, n, 1.0), 0.0)
    return np.where(bernoulli, p * (1 - p), sample_variance(n, s, ss))


def adjust(s: SufficientStats, m: Moments, enabled: bool = True) -> Adjusted:
    """CUPED-adjusted means and unit variances for every metric with a covariate (others unchanged).

    A proportion metric's covariate counts as a proportion too when it is binary (sum of squares equal
    to its sum), matching GrowthBook where the covariate is the same metric in the pre-period.
    """
    k = s.shape[1]
    a, b = np.zeros(k - 1, dtype=np.intp), np.arange(1, k)
    mean_a, mean_b = m.mean[:, a], m.mean[:, b]
    var_a, var_b = m.variance[:, a], m.variance[:, b]
    theta = np.zeros_like(mean_b)
    use = s.has_covariate[:, None] & np.ones_like(theta, dtype=bool)
    if not enabled or not use.any():
        return Adjusted(theta, mean_a, mean_b, var_a, var_b)
    prop = s.is_kind("proportion")[:, None]
    x_bern = prop & (s.covariate_sum_squares == s.covariate_sum)
    n, y, yy = s.n, s.sum, s.sum_squares
    x, xx, xy = s.covariate_sum, s.covariate_sum_squares, s.covariate_cross_sum

    def pooled(v: Array) -> Array:
        return v[:, a] + v[:, b]

    nj = pooled(n)
    var_y = _variance(nj, pooled(y), pooled(yy), np.broadcast_to(prop, nj.shape))
    var_x = _variance(nj, pooled(x), pooled(xx), x_bern[:, a] & x_bern[:, b])
    cov = sample_covariance(nj, pooled(y), pooled(x), pooled(xy))
    ok = use & (var_x > 0) & (var_y > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(ok, cov / np.where(ok, var_x, 1.0), 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        xbar = np.where(n > 0, x / np.where(n > 0, n, 1.0), 0.0)
    vx = _variance(n, x, xx, x_bern)
    cxy = sample_covariance(n, y, x, xy)

    def arm(idx: np.ndarray, mean: Array, var: Array) -> tuple[Array, Array]:
        adj_mean = mean - theta * xbar[:, idx]
        adj_var = var + theta**2 * vx[:, idx] - 2 * theta * cxy[:, idx]
        adj_var = np.where(n[:, idx] > 1, adj_var, 0.0)
        return np.where(ok, adj_mean, mean), np.where(ok, adj_var, var)

    mean_a, var_a = arm(a, mean_a, var_a)
    mean_b, var_b = arm(b, mean_b, var_b)
    return Adjusted(theta, mean_a, mean_b, var_a, var_b)
