"""Bayesian engines: GrowthBook's Gaussian approximation, and the exact beta-binomial for small tests.

Gaussian: the lift's sampling distribution (normal, delta method for the relative lift) times a normal
prior on the lift (flat unless ``proper``) gives a normal posterior, from which come the chance to beat
control, the credible interval and the risk (expected loss) of shipping either arm. This is GrowthBook's
``EffectBayesianABTest`` with a relative-scale prior.

Beta-binomial: for conversion metrics with few units the normal approximation is rough; each arm's rate
gets a ``Beta(a + k, b + n - k)`` posterior and every quantity is an exact one-dimensional integral over
the control's posterior, done by Gauss–Legendre quadrature on its quantile scale; the credible interval's
ends are the roots of that integral's distribution function (SciPy ``find_root``, vectorised).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy import stats as st
from scipy.optimize.elementwise import find_root

from cxlab.experiments.comparison import Comparison
from cxlab.experiments.sufficient import Array


@dataclass(frozen=True)
class GaussianPrior:
    """Normal prior on the relative lift (e.g. mean 0, sd 0.1: most changes move a metric by under 20%).

    ``proper=False`` (the default) is a flat prior: the posterior is the likelihood. Fields may be arrays
    with one value per metric.
    """

    mean: float | ArrayLike = 0.0
    sd: float | ArrayLike = 0.3
    proper: bool | ArrayLike = False


@dataclass(frozen=True, eq=False)
class Posterior:
    """Per comparison: the posterior of the lift and what it implies for the decision."""

    mean: Array
    sd: Array
    low: Array
    high: Array
    chance_to_win: Array
    """P(treatment better than control), 'better' respecting inverse metrics."""
    risk: Array
    """Expected loss from shipping the treatment: E[max(control - treatment, 0)] in lift units."""
    risk_control: Array
    """Expected loss from keeping the control."""


def _column(x: float | ArrayLike, rows: int, dtype: type = float) -> NDArray[np.generic]:
    a: NDArray[np.generic] = np.asarray(x, dtype=dtype)
    return np.broadcast_to(a.reshape(-1, 1) if a.ndim == 1 else a, (rows, 1))


def gaussian(
    c: Comparison,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    prior: GaussianPrior | None = None,
    inverse: ArrayLike = False,
) -> Posterior:
    """Normal posterior of the lift: chance to win, ``1 - alpha`` credible interval, risk both ways."""
    prior = prior or GaussianPrior()
    rows = c.mean_b.shape[0]
    est, var = c.difference(relative)
    p_mean = _column(prior.mean, rows).astype(float)
    p_var = _column(prior.sd, rows).astype(float) ** 2
    proper = _column(prior.proper, rows, bool).astype(bool)
    if not relative:  # the prior is stated on the relative scale
        scale = np.abs(c.raw_mean_a)
        p_mean, p_var = p_mean * scale, p_var * scale**2
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = 1 / var + np.where(proper, 1 / p_var, 0.0)
        mean = np.where(proper, (est / var + p_mean / p_var) / prec, est)
        sd = np.sqrt(1 / prec)
        z = mean / sd
    inv = _column(inverse, rows, bool).astype(bool)
    win = special.ndtr(z)
    q = special.ndtri(1 - alpha / 2)
    pdf = st.norm.pdf(z)
    loss_keep = mean * special.ndtr(z) + sd * pdf  # E[max(lift, 0)]
    loss_ship = sd * pdf - mean * special.ndtr(-z)  # E[max(-lift, 0)]
    return Posterior(
        mean=mean,
        sd=sd,
        low=mean - q * sd,
        high=mean + q * sd,
        chance_to_win=np.where(inv, 1 - win, win),
        risk=np.where(inv, loss_keep, loss_ship),
        risk_control=np.where(inv, loss_ship, loss_keep),
    )


NODES, SPAN = 400, 9.0
_T, _W = np.polynomial.legendre.leggauss(NODES)
_T, _W = _T * SPAN, _W * SPAN * st.norm.pdf(_T * SPAN)
_U = special.ndtr(_T)
"""Quadrature over the control's posterior on the normal-score scale: its rate at ``Φ(t)``, weights ``φ(t)``
(about 1e-11 accurate against the closed-form chance to win, even for very unequal arms)."""


def beta_binomial(
    k_a: ArrayLike,
    n_a: ArrayLike,
    k_b: ArrayLike,
    n_b: ArrayLike,
    *,
    alpha: float = 0.05,
    prior: tuple[float, float] = (1.0, 1.0),
    relative: bool = True,
    inverse: ArrayLike = False,
) -> Posterior:
    """Exact Bayesian comparison of two conversion rates with ``Beta(prior)`` priors (uniform by default).

    All inputs broadcast together; on the relative scale the lift is ``p_b / p_a - 1``.
    """
    a0, b0 = prior
    if a0 <= 0 or b0 <= 0:
        raise ValueError(f"beta prior parameters must be positive, got {prior}")
    ka, na, kb, nb = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (k_a, n_a, k_b, n_b)))
    if ((ka < 0) | (ka > na) | (kb < 0) | (kb > nb)).any():
        raise ValueError("conversions must lie between 0 and the number of units")
    aa, ba, ab, bb = a0 + ka, b0 + na - ka, a0 + kb, b0 + nb - kb
    e = (..., None)
    x = np.maximum(st.beta.ppf(_U, aa[e], ba[e]), 1e-300)  # control's rate at the quadrature nodes
    fb = st.beta.cdf(x, ab[e], bb[e])
    mu_b = ab / (ab + bb)
    fb1 = st.beta.cdf(x, ab[e] + 1, bb[e])
    below = x * fb - mu_b[e] * fb1  # E[max(x - p_b, 0)]
    above = mu_b[e] * (1 - fb1) - x * (1 - fb)  # E[max(p_b - x, 0)]
    scale = 1 / x if relative else np.ones_like(x)
    loss_ship = np.maximum((_W * scale * below).sum(-1), 0.0)
    loss_keep = np.maximum((_W * scale * above).sum(-1), 0.0)
    win = (_W * (1 - fb)).sum(-1)
    mu_a = aa / (aa + ba)
    if relative:
        with np.errstate(divide="ignore", invalid="ignore"):  # E[1/p_a] is infinite with under 2 successes
            inv_a = np.where(aa > 1, (aa + ba - 1) / (aa - 1), np.inf)
            mean = mu_b * inv_a - 1
            e2 = (ab * (ab + 1)) / ((ab + bb) * (ab + bb + 1))
            inv_a2 = np.where(aa > 2, (aa + ba - 1) * (aa + ba - 2) / ((aa - 1) * (aa - 2)), np.inf)
            sd = np.sqrt(np.maximum(e2 * inv_a2 - (mean + 1) ** 2, 0.0))
    else:
        mean = mu_b - mu_a
        sd = np.sqrt(aa * ba / ((aa + ba) ** 2 * (aa + ba + 1)) + ab * bb / ((ab + bb) ** 2 * (ab + bb + 1)))

    nodes, b_shape, b_rate = x.reshape(-1, NODES), ab.ravel(), bb.ravel()

    def cdf_gap(t: Array, i: Array, q: Array) -> Array:
        """P(lift ≤ t) − q for the comparisons ``i`` (find_root passes only those not yet solved)."""
        j = i.astype(np.intp)
        arg = nodes[j] * (1 + t[..., None]) if relative else nodes[j] + t[..., None]
        return (_W * st.beta.cdf(arg, b_shape[j][..., None], b_rate[j][..., None])).sum(-1) - q

    lo_b, hi_b = st.beta.ppf(1e-12, ab, bb), st.beta.ppf(1 - 1e-12, ab, bb)
    lo_a, hi_a = st.beta.ppf(1e-12, aa, ba), st.beta.ppf(1 - 1e-12, aa, ba)
    if relative:
        start_lo, start_hi = lo_b / hi_a - 1, hi_b / np.maximum(lo_a, 1e-300) - 1
    else:
        start_lo, start_hi = lo_b - hi_a, hi_b - lo_a
    index = np.arange(ka.size, dtype=float).reshape(ka.shape)
    bounds = [
        find_root(cdf_gap, (start_lo, start_hi), args=(index, np.full(ka.shape, q))).x
        for q in (alpha / 2, 1 - alpha / 2)
    ]
    inv = np.broadcast_to(np.asarray(inverse, dtype=bool), win.shape)
    return Posterior(
        mean=mean,
        sd=sd,
        low=bounds[0],
        high=bounds[1],
        chance_to_win=np.where(inv, 1 - win, win),
        risk=np.where(inv, loss_keep, loss_ship),
        risk_control=np.where(inv, loss_ship, loss_keep),
    )
