"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987; likelihood as in Fader & Hardie note 008).

While alive a customer buys as a Poisson process with rate ``λ ~ Gamma(r, rate=α)``; lifetimes are
exponential with rate ``μ ~ Gamma(s, rate=β)``. The likelihood of (x, t_x, T) is

    Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s ∫_{t_x}^{T} (α+y)^-(r+x) (β+y)^-(s+1) dy ],

whose integral (the Gauss hypergeometric function of the usual closed form) is evaluated by Gauss-Legendre
quadrature in ``v = ln((α+y)/(α+t_x))``, where the integrand is ``e^{-(r+x+s) v}`` times a smooth bounded
factor, over the range where that decay is above e^-45. The likelihood and its gradient (the same integral
with the derivative of the log-integrand) come to near machine precision from one set of nodes.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from cxlab.customers.bgnbd import check_rft
from cxlab.customers.fitting import FloatArray, MLEModel, NllGrad, wsum

NODES, WEIGHTS = np.polynomial.legendre.leggauss(40)
NODES, WEIGHTS = (NODES + 1) / 2, WEIGHTS / 2  # on [0, 1]
CHUNK = 20_000
TAIL = 45.0


def _integral_part(
    params: FloatArray, x: FloatArray, t: FloatArray, tt: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per history: log of the bracket above, P(alive) (share of its first term), and the quadrature
    means of ``ln(α+y)``, ``1/(α+y)``, ``ln(β+y)``, ``1/(β+y)`` under the integral's own weight."""
    r, alpha, s, beta = params
    k = r + x + s
    log_at = np.log(alpha + t)
    span = (
        np.log(alpha + tt) - log_at
    )  # the interval in v = ln((α+y)/(α+t)), where the integrand is e^{-kv} h^{s+1}
    reach = np.minimum(span, TAIL / k)  # beyond e^{-TAIL} the rest is negligible
    v = reach[:, None] * NODES[None, :]
    log_ay = log_at[:, None] + v
    y = np.exp(log_ay) - alpha
    log_by = np.log(beta + y)
    log_h = log_ay - log_by
    with np.errstate(divide="ignore"):
        log_terms = np.log(WEIGHTS)[None, :] + np.log(reach)[:, None] - k[:, None] * v + (s + 1) * log_h
    top = np.max(log_terms, axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(log_terms - top)
    total = e.sum(axis=1)
    with np.errstate(divide="ignore"):
        log_int = -k * log_at + np.log(total) + top[:, 0]  # log ∫ (α+y)^-(r+x) (β+y)^-(s+1) dy
    pi = e / np.where(total > 0, total, 1.0)[:, None]
    log_q1 = -(r + x) * np.log(alpha + tt) - s * np.log(beta + tt)
    log_si = np.log(s) + log_int
    log_d = np.logaddexp(log_q1, log_si)
    alive = np.exp(log_q1 - log_d)
    return (
        log_d,
        alive,
        (pi * log_ay).sum(axis=1),
        (pi * np.exp(-log_ay)).sum(axis=1),
        (pi * log_by).sum(axis=1),
        (pi * np.exp(-log_by)).sum(axis=1),
    )


class ParetoNBD(MLEModel):
    """Pareto/NBD model (``ParetoNBD().fit(frequency, recency, T)``); ``params_``: r, alpha, s, beta."""

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    method: ClassVar[str] = "Pareto/NBD (Schmittlein, Morrison & Colombo 1987)"

    def fit(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
    ) -> Self:
        """Fit by maximum likelihood on the distinct (x, t_x, T) histories, each weighted by its count."""
        x, t, tt = check_rft(frequency, recency, T)
        self._fit_histories(self._objective, ("alpha", "beta"), x, t, tt, weights)
        return self

    def _objective(self, x: FloatArray, t: FloatArray, tt: FloatArray, w: FloatArray) -> NllGrad:
        """Total negative log-likelihood and its analytic gradient in log-parameters, on (scaled) data."""
        ux, xinv = np.unique(x, return_inverse=True)
        wx = np.bincount(xinv, weights=w)

        def nll(lp: FloatArray) -> tuple[float, FloatArray]:
            th = np.exp(lp)
            r, alpha, s, beta = th
            ll = wsum(wx, gammaln(r + ux) - gammaln(r)) + w.sum() * (r * np.log(alpha) + s * np.log(beta))
            g = np.array(
                [
                    wsum(wx, digamma(r + ux) - digamma(r)) + w.sum() * np.log(alpha),
                    w.sum() * r / alpha,
                    w.sum() * np.log(beta),
                    w.sum() * s / beta,
                ]
            )
            for lo in range(0, x.size, CHUNK):
                sl = slice(lo, lo + CHUNK)
                xs, ts, tts, ws = x[sl], t[sl], tt[sl], w[sl]
                log_d, rho, m_la, m_ia, m_lb, m_ib = _integral_part(th, xs, ts, tts)
                rx = r + xs
                ll += wsum(ws, log_d)
                dead = 1 - rho
                g += np.array(
                    [
                        wsum(ws, -rho * np.log(alpha + tts) - dead * m_la),
                        wsum(ws, -rho * rx / (alpha + tts) - dead * rx * m_ia),
                        wsum(ws, -rho * np.log(beta + tts) + dead * (1 / s - m_lb)),
                        wsum(ws, -rho * s / (beta + tts) - dead * (s + 1) * m_ib),
                    ]
                )
            return -float(ll), -g * th

        return nll

    def _params(self) -> FloatArray:
        return np.array(self._p(*self.param_names))

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(alive at T | x, t_x, T)."""
        x, t, tt = check_rft(frequency, recency, T)
        out = np.empty(x.size)
        for lo in range(0, x.size, CHUNK):
            sl = slice(lo, lo + CHUNK)
            out[sl] = _integral_part(self._params(), x[sl], t[sl], tt[sl])[1]
        return out

    def expected_purchases_if_alive(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[repeat purchases in (T, T + t] | alive at T, history]."""
        x, _, tt = check_rft(frequency, recency, T)
        r, alpha, s, beta = self._params()
        ratio = (beta + tt) / (beta + tt + t)
        if abs(s - 1) < 1e-10:
            lifetime = (beta + tt) * -np.log(ratio)
        else:
            lifetime = (beta + tt) / (s - 1) * (1 - ratio ** (s - 1))
        return (r + x) / (alpha + tt) * lifetime

    def expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[repeat purchases in the next ``t`` time units | x, t_x, T]."""
        return self.probability_alive(frequency, recency, T) * self.expected_purchases_if_alive(
            t, frequency, recency, T
        )

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[repeat purchases in ``t``] of a new customer."""
        r, alpha, s, beta = self._params()
        tt = np.asarray(t, dtype=np.float64)
        if abs(s - 1) < 1e-10:
            return r * beta / alpha * np.log((beta + tt) / beta)
        return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + tt)) ** (s - 1))
