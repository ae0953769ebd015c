"""Maximum likelihood machinery shared by the CLV models.

A model supplies its negative log-likelihood and its *analytic* gradient in log-parameters (so every
parameter stays positive); this module minimises the mean negative log-likelihood with L-BFGS-B, polishes
the optimum with Newton steps, and derives standard errors from the observed information (the Hessian of
the total log-likelihood, by central differences of the analytic gradient) with the delta method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats
from threadpoolctl import threadpool_limits

from cxlab.display import number

FloatArray = NDArray[np.float64]
NllGrad = Callable[[FloatArray], tuple[float, FloatArray]]
"""``log_params -> (total negative log-likelihood, its gradient in log-parameters)``."""


def wsum(weights: NDArray[Any], values: NDArray[Any]) -> float:
    """``Σ weights · values`` without BLAS (a dot product wakes BLAS threads, costly on small vectors)."""
    return float(np.multiply(weights, values).sum())


FLAT_VARIANCE = 9.0
"""Variance of a log-parameter's estimate above which the data do not determine it (a standard error of 3 on
the log scale: the 95% interval spans a factor of about 130,000, e.g. Gamma-Gamma's q and v drifting off
together when spend has no heterogeneity across customers)."""


NOISE = 1e-12
"""Relative rounding noise of a mean log-likelihood summed over many customers (terms cancel in the sums)."""


class ConvergenceError(RuntimeError):
    """The optimiser did not reach a maximum of the likelihood."""


def as_float(a: ArrayLike, name: str) -> FloatArray:
    """``a`` as a 1-D float array, with a clear error when it holds NaN or infinities."""
    arr = np.asarray(a, dtype=np.float64).reshape(-1)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: {int((~np.isfinite(arr)).sum())} missing or infinite value(s)")
    return arr


def _group_codes(columns: tuple[FloatArray, ...]) -> tuple[NDArray[np.intp], int]:
    """A group number per row, equal for equal rows (hash-based, O(n)), and the number of groups."""
    key: NDArray[np.intp] | None = None
    size = 0
    for c in columns:
        code, uniq = pd.factorize(c)
        if key is None:
            key, size = code.astype(np.intp), len(uniq)
            continue
        combined = key * len(uniq) + code
        if size * len(uniq) <= 4 * combined.size:  # small key space: renumber densely without hashing
            present = np.zeros(size * len(uniq), dtype=np.intp)
            present[combined] = 1
            dense = np.cumsum(present) - 1
            key, size = dense[combined], int(dense[-1]) + 1
        else:
            key, uniq_key = pd.factorize(combined)
            size = len(uniq_key)
    assert key is not None
    return key.astype(np.intp), size


def _representatives(codes: NDArray[np.intp], k: int) -> NDArray[np.intp]:
    """One row index per group (any: the rows of a group are equal)."""
    rep = np.empty(k, dtype=np.intp)
    rep[codes] = np.arange(codes.size)
    return rep


def compress(*columns: FloatArray, weights: FloatArray | None = None) -> tuple[list[FloatArray], FloatArray]:
    """Unique rows of ``columns`` and their summed weights: identical histories are fitted once."""
    n = columns[0].size
    w = np.ones(n) if weights is None else weights
    if n == 0:
        return [c.copy() for c in columns], w.copy()
    codes, k = _group_codes(columns)
    rep = _representatives(codes, k)
    return [c[rep] for c in columns], np.bincount(codes, weights=w, minlength=k).astype(np.float64)


def unique_inverse(*columns: FloatArray) -> tuple[list[FloatArray], NDArray[np.intp]]:
    """Unique rows of ``columns`` and, for each input row, the index of its unique row."""
    if columns[0].size == 0:
        return [c.copy() for c in columns], np.zeros(0, dtype=np.intp)
    codes, k = _group_codes(columns)
    return [c[_representatives(codes, k)] for c in columns], codes


class MLEModel:
    """Base of the fitted models: scikit-learn style (settings in ``__init__``, ``fit``, learned ``*_``)."""

    param_names: ClassVar[tuple[str, ...]] = ()
    method: ClassVar[str] = ""

    params_: dict[str, float]
    se_: dict[str, float]
    cov_: FloatArray
    """Covariance of the estimates (original scale, delta method)."""
    loglik_: float
    n_: int
    """Customers in the fit (sum of weights)."""
    n_unique_: int
    """Distinct histories actually evaluated."""
    iterations_: int
    n_new_: int = 0
    """Customers left out of a purchase-model fit because their first purchase is at the end of calibration
    (T = 0: no information; they are predicted as new customers)."""
    degenerate_reason_: str | None
    """Why the fit is degenerate (a parameter the data do not determine), or None for a regular optimum."""

    def __init__(self, penalizer: float = 0.0, level: float = 0.95, tol: float = 1e-10, max_iter: int = 1000):
        self.penalizer = penalizer
        self.level = level
        self.tol = tol
        self.max_iter = max_iter

    # -- fitting ----------------------------------------------------------------------------------------

    def _objective_fn(self, nll: NllGrad, n: float) -> NllGrad:
        """``nll / n`` plus the L2 penalty, with non-finite values turned into a wall for the optimiser."""
        c = self.penalizer

        def safe(lp: FloatArray) -> tuple[float, FloatArray]:
            with np.errstate(all="ignore"):
                f, g = nll(lp)
                f, g = f / n, g / n
                if c:
                    th = np.exp(lp)
                    f, g = f + c * wsum(th, th), g + 2 * c * th * th
            if not np.isfinite(f) or not np.all(np.isfinite(g)):
                return 1e100, np.zeros_like(lp)
            return f, g

        return safe

    def _lbfgs(self, safe: NllGrad, x0: FloatArray, gtol: float = 1e-9) -> tuple[FloatArray, int]:
        res = optimize.minimize(
            safe,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-30.0, 30.0)] * x0.size,
            options={"maxiter": self.max_iter, "ftol": 1e-15, "gtol": gtol, "maxcor": 20},
        )
        return np.asarray(res.x, dtype=np.float64), int(res.nit)

    def _start(self, nll: NllGrad, x0: FloatArray, n: float) -> tuple[FloatArray, FloatArray]:
        """The optimum of a subsample and the Hessian of its mean objective there: the full fit's start."""
        with threadpool_limits(limits=1, user_api="blas"):
            safe = self._objective_fn(nll, n)
            lp = self._lbfgs(safe, x0, gtol=1e-8)[0]
            return lp, self._hessian(safe, lp)

    @staticmethod
    def _newton(
        safe: NllGrad, lp: FloatArray, h: FloatArray, steps: int, until: float
    ) -> tuple[FloatArray, int]:
        """Newton steps with a fixed Hessian ``h`` while they lower the objective, or leave it level within
        its rounding noise (:data:`NOISE`) and shrink the gradient; stops at a step < ``until``.

        The second test matters near the optimum, where a step's true gain is below the rounding noise of a
        sum over customers: judged by the objective alone, the polish stopped wherever that noise said (a
        Gamma-Gamma fit left with a gradient of 2e-9 and p off by 6e-7), and the same data in another row order
        gave another estimate."""
        f, g = safe(lp)
        done = 0
        for _ in range(steps):
            try:
                step = -np.linalg.solve(h, g)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)):
                break
            f_new, g_new = safe(lp + step)
            level = f_new <= f + NOISE * abs(f) and np.max(np.abs(g_new)) < np.max(np.abs(g))
            if f_new > f + 1e-15 * abs(f) and not level:
                break
            lp, f, g, done = lp + step, f_new, g_new, done + 1
            if np.max(np.abs(step)) < until:
                break
        return lp, done

    def _minimise(
        self, nll: NllGrad, x0: FloatArray, n: float, n_unique: int, hess0: FloatArray | None = None
    ) -> FloatArray:
        """Minimise ``nll / n`` (+ L2 penalty on the parameters) and set the fitted attributes.

        L-BFGS-B (or, given the Hessian of a subsample's optimum ``hess0``, Newton steps with it), then
        Newton steps with the Hessian of the analytic gradient (which also gives the observed
        information), so the optimum is reached to near machine precision. BLAS is held to one
        thread meanwhile: with a handful of parameters its threads only spin and steal the core the
        likelihood runs on.
        """
        with threadpool_limits(limits=1, user_api="blas"):
            return self._minimise_here(nll, x0, n, n_unique, hess0)

    def _minimise_here(
        self, nll: NllGrad, x0: FloatArray, n: float, n_unique: int, hess0: FloatArray | None
    ) -> FloatArray:
        safe = self._objective_fn(nll, n)
        lp, iterations = x0, 0
        if hess0 is not None:
            lp, iterations = self._newton(safe, x0, hess0, steps=25, until=1e-7)
        if hess0 is None or iterations == 0:
            lp, iterations = self._lbfgs(safe, lp, gtol=1e-8)
        h = self._hessian(safe, lp)
        lp, polish = self._newton(safe, lp, h, steps=10, until=1e-10)
        iterations += polish
        f, g = safe(lp)
        try:
            cov_log = np.linalg.inv(h * n)  # observed information of the total log-likelihood (log scale)
        except np.linalg.LinAlgError:
            cov_log = np.full_like(h, np.nan)
        flat = self._flat_directions(lp, cov_log)
        if f >= 1e100 or (np.max(np.abs(g)) > 1e-5 and not flat):
            raise ConvergenceError(
                f"{type(self).__name__}: no maximum of the likelihood found (gradient {np.max(np.abs(g)):.2g}); "
                "try another model (--model) or a longer history"
            )
        self.degenerate_reason_ = (
            f"degenerate fit: the data do not determine {', '.join(flat)} (the likelihood is flat along "
            f"{'it' if len(flat) == 1 else 'them'}: estimate drifting to 0 or infinity, standard error undefined "
            "or huge); P(alive) and the predictions built on it are not reliable — try another --model or a "
            "longer history"
            if flat
            else None
        )
        th = np.exp(lp)
        self.cov_ = cov_log * np.outer(th, th)
        self.params_ = dict(zip(self.param_names, map(float, th), strict=True))
        with np.errstate(invalid="ignore"):  # a negative variance (flat direction) has no standard error
            se = np.sqrt(np.diag(self.cov_))
        self.se_ = dict(zip(self.param_names, map(float, se), strict=True))
        self._cov_log = cov_log
        self.loglik_ = -float(nll(lp)[0]) if self.penalizer else -f * n
        self.n_ = round(n)
        self.n_unique_ = n_unique
        self.iterations_ = iterations
        return lp

    def _flat_directions(self, lp: FloatArray, cov_log: NDArray[np.floating[Any]]) -> list[str]:
        """Parameters the likelihood does not pin down: at the optimiser's bounds, or with an undefined or
        huge standard error on the log scale (the likelihood is flat along them)."""
        with np.errstate(invalid="ignore"):
            var = np.diag(cov_log)
            bad = (np.abs(lp) > 25.0) | ~np.isfinite(var) | (var < 0) | (var > FLAT_VARIANCE)
        return [n for n, b in zip(self.param_names, bad, strict=True) if b]

    def _subsample(
        self, columns: tuple[FloatArray, ...], w: FloatArray, size: int = 20_000
    ) -> tuple[list[FloatArray], FloatArray] | None:
        """A seeded random sample of ``size`` customers (as weighted distinct rows) when there are many more."""
        if columns[0].size <= 3 * size:
            return None
        rng = np.random.default_rng(0)
        pick = rng.choice(columns[0].size, size=size, p=w / w.sum())
        return compress(*(c[pick] for c in columns))

    def _fit_histories(
        self,
        objective: Callable[[FloatArray, FloatArray, FloatArray, FloatArray], NllGrad],
        time_params: tuple[str, ...],
        x: FloatArray,
        t: FloatArray,
        tt: FloatArray,
        weights: ArrayLike | None,
    ) -> None:
        """Fit a purchase model on checked (x, t_x, T) histories, compressed to distinct rows with weights.

        Times are fitted in units of the longest history (scale parameters near 1, well conditioned); the
        parameters named in ``time_params`` and the likelihood (a density in the x purchase times) are put
        back on the original clock afterwards."""
        w = np.ones(x.size) if weights is None else as_float(weights, "weights")
        new = tt == 0  # first purchase at the end of calibration: likelihood 1 in every model, no information
        self.n_new_ = round(float(w[new].sum()))
        (x, t, tt), w = compress(x[~new], t[~new], tt[~new], weights=w[~new])
        if w.sum() <= 0:
            raise ValueError(
                "no customers to fit: every customer's first purchase is at the end of calibration (T = 0); "
                "choose a later calibration end"
            )
        scale = 1.0 / float(tt.max())
        t, tt = t * scale, tt * scale
        x0 = np.zeros(len(self.param_names))
        hess0 = None
        sub = self._subsample((x, t, tt), w)
        if sub is not None:  # many customers: start from the optimum of a sample of them
            (s_x, s_t, s_tt), s_w = sub
            x0, hess0 = self._start(objective(s_x, s_t, s_tt, s_w), x0, float(s_w.sum()))
        self._minimise(objective(x, t, tt, w), x0, float(w.sum()), int(x.size), hess0)
        for name in time_params:
            i = self.param_names.index(name)
            self.params_[name] = float(self.params_[name] / scale)
            self.se_[name] = float(self.se_[name] / scale)
            self.cov_[i, :] /= scale
            self.cov_[:, i] /= scale
        self.loglik_ += wsum(w, x) * np.log(scale)

    @staticmethod
    def _hessian(fun: NllGrad, lp: FloatArray, h: float = 1e-5) -> FloatArray:
        """Hessian by central differences of the analytic gradient, symmetrised."""
        k = lp.size
        out = np.empty((k, k))
        for j in range(k):
            e = np.zeros(k)
            e[j] = h
            out[:, j] = (fun(lp + e)[1] - fun(lp - e)[1]) / (2 * h)
        return (out + out.T) / 2

    # -- reporting --------------------------------------------------------------------------------------

    @property
    def degenerate(self) -> bool:
        """True when a parameter is not determined by the data (see ``degenerate_reason_``)."""
        self._check_fitted()
        return self.degenerate_reason_ is not None

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def _p(self, *names: str) -> list[float]:
        self._check_fitted()
        return [self.params_[n] for n in names]

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: estimate, standard error and a Wald interval on the log scale."""
        self._check_fitted()
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        est = np.array([self.params_[n] for n in self.param_names])
        with np.errstate(invalid="ignore", over="ignore"):  # degenerate fits: undefined or infinite bounds
            se_log = np.sqrt(np.diag(self._cov_log))
            low, high = est * np.exp(-z * se_log), est * np.exp(z * se_log)
        return pd.DataFrame(
            {
                "param": list(self.param_names),
                "estimate": est,
                "se": [self.se_[n] for n in self.param_names],
                "ci_low": low,
                "ci_high": high,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            **self.params_,
            "loglik": self.loglik_,
            "n": self.n_,
            "se": dict(self.se_),
            "n_unique": self.n_unique_,
            "n_new": self.n_new_,
            "method": self.method,
            "level": self.level,
            "degenerate": self.degenerate,
            "degenerate_reason": self.degenerate_reason_,
        }

    def summary(self) -> str:
        """Method, sample size and each parameter with its standard error and confidence interval."""
        t = self.to_frame()
        rows = "; ".join(
            f"{p} = {number(e)} (SE {number(s, 2)}, {self.level:.0%} CI {number(lo)} to {number(hi)})"
            for p, e, s, lo, hi in t.itertuples(index=False)
        )
        warn = (
            f" {self.n_new_:,} customers whose first purchase is at the end of calibration (T = 0) carry no "
            "information for the model: left out of the fit, predicted as new customers."
            if self.n_new_
            else ""
        )
        warn += f" Warning: {self.degenerate_reason_}." if self.degenerate_reason_ else ""
        return (
            f"{self.method}; maximum likelihood with analytic gradients, standard errors from the observed "
            f"information; n = {self.n_:,} customers ({self.n_unique_:,} distinct histories); "
            f"log-likelihood {self.loglik_:.2f}. {rows}.{warn}"
        )
