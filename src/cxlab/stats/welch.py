"""Welch–Satterthwaite degrees of freedom: the one formula behind every unequal-variance t-test in cxlab
(experiments' frequentist engine, and each unit against its pooled peers in :mod:`cxlab.stats.peers`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def welch_dof(var_a: ArrayLike, n_a: ArrayLike, var_b: ArrayLike, n_b: ArrayLike) -> NDArray[np.float64]:
    """Degrees of freedom of the difference of two means from the unit (sample) variances and sizes of
    each group, element-wise; NaN or inf where a group has under two units or both variances are 0."""
    va, na, vb, nb = (np.asarray(x, dtype=float) for x in (var_a, n_a, var_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        sa, sb = va / na, vb / nb
        dof: NDArray[np.float64] = (sa + sb) ** 2 / (sa**2 / (na - 1) + sb**2 / (nb - 1))
    return dof
