"""Sequential testing: always-valid p-values and confidence sequences from a Gaussian mixture SPRT.

The lift's z-statistic, as a function of the total sample size ``N``, is compared with a normal mixture
of alternatives (mixing variance ``ρ²``). The mixture likelihood ratio is an e-value, so ``1 / e`` is a
p-value that stays valid however often and whenever the team looks, and the matching interval is a
confidence sequence (Waudby-Smith et al. 2023, arXiv:2103.06476, eqs. 9, 155, 161). ``ρ`` is tuned so the
sequence is tightest at ``N = tuning`` units, GrowthBook's ``sequential_tuning_parameter`` (default 5000).
"""

from __future__ import annotations

import numpy as np

from cxlab.experiments.comparison import Comparison
from cxlab.experiments.frequentist import Interval

DEFAULT_TUNING = 5000.0


def mixing_rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """The mixture's ``ρ`` that makes the sequence tightest at ``tuning`` units (eq. 161)."""
    la = -2 * np.log(alpha)
    return float(np.sqrt((la + np.log(la + 1)) / tuning))


def mixture_sprt(
    c: Comparison, *, relative: bool = True, alpha: float = 0.05, tuning: float = DEFAULT_TUNING
) -> Interval:
    """Always-valid two-sided p-value and ``1 - alpha`` confidence sequence of the lift."""
    if tuning <= 0:
        raise ValueError(f"tuning must be positive, got {tuning}")
    est, var = c.difference(relative)
    n = c.n_a + c.n_b
    rho2 = mixing_rho(alpha, tuning) ** 2
    nr = n * rho2 + 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s2 = var * n
        width = np.sqrt(s2) * np.sqrt(2 * nr * np.log(np.sqrt(nr) / alpha) / (n**2 * rho2))
        log_e = rho2 * est**2 * n / var / (2 * nr) - 0.5 * np.log(nr)
        p = np.minimum(1.0, np.exp(-log_e))
    return Interval(estimate=est, se=np.sqrt(var), low=est - width, high=est + width, p_value=p)
