"""Fixed-horizon frequentist tests: Welch's t-test (or a z-test) with two-sided confidence intervals.

With ``dist="t"`` (default) this is GrowthBook's ``TwoSidedTTest``: Welch–Satterthwaite degrees of freedom
from the unit variances, on the relative or absolute lift. ``dist="z"`` uses the normal distribution
(the classic two-proportion z-test with unpooled variance for proportions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as st

from cxlab.experiments.comparison import Comparison
from cxlab.experiments.sufficient import Array

Dist = Literal["t", "z"]


@dataclass(frozen=True, eq=False)
class Interval:
    """An estimate with its standard error, interval and (two-sided) p-value; arrays of one shape."""

    estimate: Array
    se: Array
    low: Array
    high: Array
    p_value: Array


def welch(c: Comparison, *, relative: bool = True, alpha: float = 0.05, dist: Dist = "t") -> Interval:
    """Two-sided test of no difference and the ``1 - alpha`` confidence interval of the lift."""
    est, var = c.difference(relative)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(var)
        z = est / se
    if dist == "t":
        dof = c.welch_dof()
        p = 2 * st.t.sf(np.abs(z), dof)
        q = st.t.ppf(1 - alpha / 2, dof)
    elif dist == "z":
        p = 2 * st.norm.sf(np.abs(z))
        q = np.full_like(est, st.norm.ppf(1 - alpha / 2))
    else:
        raise ValueError(f"dist must be 't' or 'z', got {dist!r}")
    return Interval(estimate=est, se=se, low=est - q * se, high=est + q * se, p_value=p)
