"""Multiple comparisons: Holm (family-wise error) and Benjamini–Hochberg (false discovery rate).

With many metrics and arms some p-values fall under 0.05 by chance alone; these adjust them so a
decision rule at ``alpha`` keeps its promise over the whole family. NaN p-values are left out.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from cxlab.experiments.stats import Array

Correction = Literal["none", "holm", "bh"]
CORRECTIONS: tuple[Correction, ...] = ("none", "holm", "bh")


def holm(p_values: ArrayLike) -> Array:
    """Holm's step-down adjusted p-values (same shape as the input)."""
    return _adjust(p_values, "holm")


def benjamini_hochberg(p_values: ArrayLike) -> Array:
    """Benjamini–Hochberg step-up adjusted p-values (same shape as the input)."""
    return _adjust(p_values, "bh")


def adjust(p_values: ArrayLike, method: Correction) -> Array:
    """Adjusted p-values by ``method`` (``none`` returns them unchanged)."""
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {method!r}")
    if method == "none":
        return np.asarray(p_values, dtype=float).copy()
    return _adjust(p_values, method)


def _adjust(p_values: ArrayLike, method: str) -> Array:
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    flat = p.ravel()
    ok = np.flatnonzero(~np.isnan(flat))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(flat[ok], kind="stable")]
    sorted_p = flat[order]
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * sorted_p))
    else:
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * sorted_p)[::-1])[::-1]
        adj = np.minimum(adj, 1.0)
    res = out.ravel()
    res[order] = adj
    return res.reshape(p.shape)
