"""Each treatment arm against the control: the lift (absolute and relative) and its variance.

The relative lift ``(m_b - m_a) / m_a`` gets its variance by the delta method,
``v_b / (m_a² n_b) + v_a m_b² / (m_a⁴ n_a)``, with the unadjusted means where CUPED moved them — exactly
GrowthBook's ``frequentist_variance``, so every engine built on it agrees with GrowthBook.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxlab.experiments.cuped import adjust
from cxlab.experiments.sufficient import Array, SufficientStats, moments
from cxlab.stats.welch import welch_dof


@dataclass(frozen=True, eq=False)
class Comparison:
    """Arrays of shape ``(metrics, arms - 1)``: control ``a`` against each treatment ``b``."""

    n_a: Array
    n_b: Array
    mean_a: Array
    """Control mean, CUPED-adjusted where a covariate was used."""
    mean_b: Array
    raw_mean_a: Array
    """Control mean as observed (the base of the relative lift)."""
    raw_mean_b: Array
    var_a: Array
    """Unit variance in the control arm (adjusted)."""
    var_b: Array
    theta: Array
    """CUPED coefficient (0 where no covariate was used)."""

    def difference(self, relative: bool) -> tuple[Array, Array]:
        """The lift and the variance of that estimate, on the relative or the absolute scale."""
        with np.errstate(divide="ignore", invalid="ignore"):
            va, vb = self.var_a / self.n_a, self.var_b / self.n_b
            if not relative:
                return self.mean_b - self.mean_a, va + vb
            ma, mb = self.raw_mean_a, self.raw_mean_b
            est = (self.mean_b - self.mean_a) / ma
            var = vb / ma**2 + va * mb**2 / ma**4
        return est, var

    def welch_dof(self) -> Array:
        """Welch–Satterthwaite degrees of freedom (from the unit variances, as GrowthBook)."""
        return welch_dof(self.var_a, self.n_a, self.var_b, self.n_b)

    def problems(self) -> np.ndarray:
        """Why a comparison can't be analysed ('' where it can), as an object array of messages."""
        out = np.full(self.mean_b.shape, "", dtype=object)
        out[(self.raw_mean_a == 0) | (self.mean_a == 0)] = "control mean is zero: no relative lift"
        out[(self.var_a <= 0) | (self.var_b <= 0) | np.isnan(self.var_a) | np.isnan(self.var_b)] = (
            "zero variance in an arm"
        )
        out[(self.n_a < 2) | (self.n_b < 2)] = "fewer than two units in an arm"
        return out


def compare(s: SufficientStats, cuped: bool = True) -> Comparison:
    """Control vs every other arm for every metric at once (CUPED where a covariate is given)."""
    m = moments(s)
    adj = adjust(s, m, enabled=cuped)
    b = np.arange(1, s.shape[1])
    return Comparison(
        n_a=np.repeat(s.n[:, :1], len(b), axis=1),
        n_b=s.n[:, b],
        mean_a=adj.mean_a,
        mean_b=adj.mean_b,
        raw_mean_a=np.repeat(m.mean[:, :1], len(b), axis=1),
        raw_mean_b=m.mean[:, b],
        var_a=adj.var_a,
        var_b=adj.var_b,
        theta=adj.theta,
    )
