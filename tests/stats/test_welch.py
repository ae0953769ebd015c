"""Welch–Satterthwaite degrees of freedom against SciPy's Welch t-test on raw data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cxlab.stats.welch import welch_dof


def test_welch_dof_equals_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.gamma(2.0, 3.0, 40), rng.normal(5.0, 9.0, 17)
    ref = stats.ttest_ind(a, b, equal_var=False).df
    got = welch_dof(a.var(ddof=1), a.size, b.var(ddof=1), b.size)
    assert got == pytest.approx(ref, rel=1e-12)
    assert np.isnan(welch_dof(0.0, 5, 0.0, 5))  # no variation: no test
