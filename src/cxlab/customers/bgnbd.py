"""BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam, Denizel & Filiztekin 2007) purchase models.

While alive a customer buys as a Poisson process with rate ``λ ~ Gamma(r, rate=α)``. BG/NBD: after each
repeat purchase they drop out with probability ``p ~ Beta(a, b)``; MBG/NBD: also right after the first
purchase (so a customer without repeats can be dead). Inputs per customer: ``frequency`` (repeat
purchases x), ``recency`` (time of the last repeat purchase after the first, t_x) and ``T`` (time from
the first purchase to the end of the calibration period), all in one time unit.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, gammaln, hyp2f1

from cxlab.customers.fitting import FloatArray, MLEModel, NllGrad, as_float, unique_inverse, wsum


def check_rft(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validated (frequency, recency, T) arrays: whole non-negative x, ``0 <= recency <= T``.

    ``T = 0`` (first purchase at the end of calibration) is allowed with no repeat purchase: such a
    customer is new, carries no information for a purchase model (likelihood 1) and is predicted as new."""
    x, t, tt = as_float(frequency, "frequency"), as_float(recency, "recency"), as_float(T, "T")
    if not x.size == t.size == tt.size:
        raise ValueError(f"frequency, recency and T differ in length ({x.size}, {t.size}, {tt.size})")

    def refuse(mask: NDArray[np.bool_], what: str) -> None:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            more = f" (and {int(mask.sum()) - 1:,} more)" if mask.sum() > 1 else ""
            raise ValueError(
                f"customer in row {i + 1} (frequency {x[i]:g}, recency {t[i]:g}, T {tt[i]:g}){more}: {what}"
            )

    refuse((x < 0) | (x != np.round(x)), "frequency must be a whole number of repeat purchases, 0 or more")
    refuse((t < 0) | (tt < 0), "recency and T must be >= 0 (durations since the first purchase)")
    refuse(
        t > tt * (1 + 1e-12),
        "recency exceeds T: the last purchase is after the end of calibration; cut the history at the "
        "calibration end",
    )
    refuse(
        (tt == 0) & (x > 0),
        "repeat purchases with T = 0: repeats can only follow the first purchase; check the summary",
    )
    return x, np.minimum(t, tt), tt


def hyp2f1_safe(a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """Gauss hypergeometric 2F1 for ``0 <= z < 1``, via Euler's transformation where the series overflows."""
    with np.errstate(all="ignore"):
        out = np.asarray(hyp2f1(a, b, c, z), dtype=np.float64)
        bad = ~np.isfinite(out)
        if bad.any():
            a, b, c, z = (np.broadcast_to(v, out.shape)[bad] for v in (a, b, c, z))
            out[bad] = hyp2f1(c - a, c - b, c, z) * (1 - z) ** (c - a - b)
    return out


class BetaGeo(MLEModel):
    """BG/NBD model (``BetaGeo().fit(frequency, recency, T)``); ``params_`` holds r, alpha, a, b."""

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    method: ClassVar[str] = "BG/NBD (Fader, Hardie & Lee 2005)"
    _shift: ClassVar[int] = 0
    """0 for BG/NBD (drop-out after repeat purchases only), 1 for MBG/NBD (also after the first)."""

    def fit(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
    ) -> Self:
        """Fit by maximum likelihood on the distinct (x, t_x, T) histories, each weighted by its count."""
        x, t, tt = check_rft(frequency, recency, T)
        self._fit_histories(self._objective, ("alpha",), x, t, tt, weights)
        return self

    def _objective(self, x: FloatArray, t: FloatArray, tt: FloatArray, w: FloatArray) -> NllGrad:
        """Total negative log-likelihood and its analytic gradient in log-parameters, on (scaled) data.

        Per customer ``ℓ = A(x) − (r+x) ln(α+T) + δ softplus(z)``, ``z = ln a − ln(b+d) + (r+x) ln((α+T)/(α+t))``
        with ``d = x − 1`` and ``δ = [x > 0]`` (BG/NBD) or ``d = x`` and ``δ = 1`` (MBG/NBD); terms in x
        alone are summed over distinct x, logarithms of α + T and α + t over distinct times.
        """
        k = self._shift
        (ux,), xi = unique_inverse(x)
        wx = np.bincount(xi, weights=w)
        (uT,), Ti = unique_inverse(tt)
        (ut,), ti = unique_inverse(t)
        ud = ux + k - 1 + (ux == 0) * (1 - k)  # b + ud: b + x - 1 (BG, x >= 1) or b + x (MBG)
        drop = w * ((x > 0) if k == 0 else np.ones(x.size, dtype=bool))  # weight of the drop-out term
        wsum_all = float(w.sum())
        w_T = np.bincount(Ti, weights=w)  # -(r + x) ln(α + T) summed per distinct T
        wx_T = np.bincount(Ti, weights=w * x)

        def nll(lp: FloatArray) -> tuple[float, FloatArray]:
            r, alpha, a, b = np.exp(lp)
            # terms in x only, over distinct x with their total weight
            ll_x = wsum(
                wx,
                gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + gammaln(b + ux + k) + gammaln(a + b)
                - gammaln(b) - gammaln(a + b + ux + k),
            )  # fmt: skip
            d_r_x = wsum(wx, digamma(r + ux) - digamma(r) + np.log(alpha))
            d_a_x = wsum(wx, digamma(a + b) - digamma(a + b + ux + k))
            d_b_x = wsum(wx, digamma(b + ux + k) + digamma(a + b) - digamma(b) - digamma(a + b + ux + k))
            # terms mixing x with t_x and T
            log_uT = np.log(alpha + uT)
            inv_uT = 1.0 / (alpha + uT)
            rw_T = r * w_T + wx_T
            log_aT = log_uT[Ti]
            log_at = np.log(alpha + ut)[ti]
            inv_at = (1.0 / (alpha + ut))[ti]
            rx = r + x
            inv_bd = (1.0 / (b + ud))[xi]
            z = np.log(a) + np.log(inv_bd) + rx * (log_aT - log_at)
            e = np.exp(-np.abs(z))
            soft = np.maximum(z, 0.0) + np.log1p(e)
            sig = np.where(z >= 0, 1.0, e) / (1.0 + e)
            ws = drop * sig
            ll = ll_x - wsum(rw_T, log_uT) + wsum(drop, soft)
            g = np.array(
                [
                    d_r_x - wsum(w_T, log_uT) + wsum(ws, log_aT - log_at),
                    wsum_all * r / alpha - wsum(rw_T, inv_uT) + wsum(ws * rx, inv_uT[Ti] - inv_at),
                    d_a_x + ws.sum() / a,
                    d_b_x - wsum(ws, inv_bd),
                ]
            )
            return -float(ll), -g * np.array([r, alpha, a, b])

        return nll

    # -- predictions ------------------------------------------------------------------------------------

    def _alive_odds(self, x: FloatArray, t: FloatArray, tt: FloatArray) -> FloatArray:
        """Odds of being dead: P(dead | history) / P(alive | history)."""
        r, alpha, a, b = self._p("r", "alpha", "a", "b")
        k = self._shift
        d = b + x + k - 1 + (x == 0) * (1 - k)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = (a / d) * np.exp((r + x) * (np.log(alpha + tt) - np.log(alpha + t)))
        return odds if k else np.where(x > 0, odds, 0.0)

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(alive at T | x, t_x, T)."""
        x, t, tt = check_rft(frequency, recency, T)
        return 1.0 / (1.0 + self._alive_odds(x, t, tt))

    def expected_purchases_if_alive(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[repeat purchases in (T, T + t] | alive at T, history]; the conditional expectation over P(alive)."""
        x, _, tt = check_rft(frequency, recency, T)
        (ux, utt), inv = unique_inverse(x, tt)
        r, alpha, a, b = self._p("r", "alpha", "a", "b")
        k = self._shift
        c = a + b + ux + k - 1
        z = t / (alpha + utt + t)
        h = hyp2f1_safe(r + ux, b + ux + k, c, z)
        out = c / (a - 1) * (1 - h * ((alpha + utt) / (alpha + utt + t)) ** (r + ux))
        return out[inv]

    def expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[repeat purchases in the next ``t`` time units | x, t_x, T] (FHL 2005 eq. 10)."""
        x, rec, tt = check_rft(frequency, recency, T)
        return self.expected_purchases_if_alive(t, x, rec, tt) / (1.0 + self._alive_odds(x, rec, tt))

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[repeat purchases in ``t``] of a new customer, right after the first purchase (FHL 2005 eq. 9)."""
        r, alpha, a, b = self._p("r", "alpha", "a", "b")
        tt = np.asarray(t, dtype=np.float64)
        k = self._shift
        c = a + b + k - 1
        h = hyp2f1_safe(np.full_like(tt, r), np.full_like(tt, b + k), np.full_like(tt, c), tt / (alpha + tt))
        base = c / (a - 1) * (1 - (alpha / (alpha + tt)) ** r * h)
        return base if k == 0 else base * b / (a + b)  # MBG/NBD: alive after the first purchase w.p. b/(a+b)


class ModifiedBetaGeo(BetaGeo):
    """MBG/NBD model: as BG/NBD, but a customer may also drop out right after the first purchase."""

    method: ClassVar[str] = "MBG/NBD (Batislam, Denizel & Filiztekin 2007)"
    _shift: ClassVar[int] = 1
