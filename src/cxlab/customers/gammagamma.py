"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV"; Hardie note 025).

Each of a customer's transactions is ``Gamma(p, rate=ν)`` with ``ν ~ Gamma(q, rate=v)`` across customers,
so the population mean spend is ``p v / (q - 1)``. Fitted on customers with at least one repeat purchase,
from their number of repeat transactions x and the mean value of those transactions m.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from cxlab.customers.fitting import FloatArray, MLEModel, NllGrad, as_float, compress, unique_inverse, wsum


def check_fm(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validated (frequency, monetary_value) of customers with repeat purchases and positive spend."""
    x, m = as_float(frequency, "frequency"), as_float(monetary_value, "monetary_value")
    if x.size != m.size:
        raise ValueError(f"frequency and monetary_value differ in length ({x.size}, {m.size})")
    if (x <= 0).any() or (m <= 0).any():
        raise ValueError(
            "Gamma-Gamma needs frequency > 0 and monetary_value > 0 (select repeat buyers first)"
        )
    return x, m


class GammaGamma(MLEModel):
    """Gamma-Gamma spend model (``GammaGamma().fit(frequency, monetary_value)``); ``params_``: p, q, v."""

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    method: ClassVar[str] = "Gamma-Gamma spend model (Fader, Hardie & Lee 2005)"

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None) -> Self:
        """Fit on repeat buyers: x = repeat transactions, m = their mean value (> 0)."""
        x, m = check_fm(frequency, monetary_value)
        w = None if weights is None else as_float(weights, "weights")
        (x, m), w = compress(x, m, weights=w)
        if w.sum() <= 0:
            raise ValueError("no repeat buyers to fit the Gamma-Gamma model on")
        scale = 1.0 / float(np.average(m, weights=w))  # spend in units of its mean: v near q - 1
        m = m * scale
        nll = self._objective(x, m, w)
        x0 = np.array([0.0, np.log(2.0), 0.0])
        hess0 = None
        sub = self._subsample((x, m), w)
        if sub is not None:  # many customers: start from the optimum of a sample of them
            (
                (
                    s_x,
                    s_m,
                ),
                s_w,
            ) = sub
            x0, hess0 = self._start(self._objective(s_x, s_m, s_w), x0, float(s_w.sum()))
        self._minimise(nll, x0, float(w.sum()), int(x.size), hess0)
        # back to money: v scales with spend, and so does the density of m (log-likelihood shifts)
        self.params_["v"] = float(self.params_["v"] / scale)
        self.se_["v"] = float(self.se_["v"] / scale)
        self.cov_[2, :] /= scale
        self.cov_[:, 2] /= scale
        self.loglik_ += float(w.sum()) * np.log(scale)
        return self

    def _objective(self, x: FloatArray, m: FloatArray, w: FloatArray) -> NllGrad:
        """Total negative log-likelihood and its analytic gradient in log-parameters, on (scaled) data.

        Terms in x alone are summed over distinct x; per customer only ``ln(x m + v)`` depends on the
        parameters and the data together.
        """
        (ux,), xi = unique_inverse(x)
        wx = np.bincount(xi, weights=w)
        log_ux = np.log(ux)
        wxm = w * x
        xm = x * m
        log_m = np.log(m)
        s_xlm, s_lm = wsum(wxm, log_m), wsum(w, log_m)
        n = float(w.sum())

        def nll(lp: FloatArray) -> tuple[float, FloatArray]:
            p, q, v = np.exp(lp)
            pu = p * ux
            dg = digamma(pu + q)
            log_xmv = np.log(xm + v)
            inv_xmv = 1.0 / (xm + v)
            s_xl, s_l = wsum(wxm, log_xmv), wsum(w, log_xmv)
            s_xi, s_i = wsum(wxm, inv_xmv), wsum(w, inv_xmv)
            ll = (
                wsum(wx, gammaln(pu + q) - gammaln(pu) + pu * log_ux)
                + n * (q * np.log(v) - gammaln(q))
                + p * s_xlm
                - s_lm
                - p * s_xl
                - q * s_l
            )
            g = np.array(
                [
                    wsum(wx * ux, dg - digamma(pu) + log_ux) + s_xlm - s_xl,
                    wsum(wx, dg) - n * digamma(q) + n * np.log(v) - s_l,
                    n * q / v - p * s_xi - q * s_i,
                ]
            )
            return -float(ll), -g * np.array([p, q, v])

        return nll

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """E[mean spend per future transaction | x, m]: a weighted average of m and the population mean.

        Customers without repeat purchases (x = 0) get the population mean ``p v / (q - 1)``.
        """
        p, q, v = self._p("p", "q", "v")
        x, m = as_float(frequency, "frequency"), as_float(monetary_value, "monetary_value")
        if q <= 1:
            raise ValueError(f"Gamma-Gamma q = {q:.3g} <= 1: the mean spend is undefined")
        weight = p * x / (p * x + q - 1)
        return (1 - weight) * (p * v / (q - 1)) + weight * m

    @property
    def mean_spend(self) -> float:
        """Population mean spend per transaction, ``p v / (q - 1)``."""
        p, q, v = self._p("p", "q", "v")
        return p * v / (q - 1) if q > 1 else float("nan")
