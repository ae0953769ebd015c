"""Multiple comparisons: the one p-value adjustment every analysis uses (statsmodels ``multipletests``).

With many metrics, arms, channels or themes some p-values fall under 0.05 by chance alone; adjusting them
keeps a decision rule at ``alpha`` honest over the whole family: Holm for the family-wise error rate,
Benjamini–Hochberg (``"bh"``, statsmodels' ``"fdr_bh"``) for the false discovery rate.

Holm is the one method not handed to statsmodels: its ``multipletests(method="holm")`` runs ``gc.collect()``
on every call (0.1 s with a large heap; an experiment analysis makes one call), so it is the closed form here,
``max_{j≤i} min(1, (m − j + 1)·p_(j))``, checked against statsmodels in tests/stats/test_multitest.py.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from statsmodels.stats.multitest import multipletests

Correction = Literal["holm", "bh", "fdr_bh", "bonferroni", "none"]
_STATSMODELS = {"bh": "fdr_bh"}


def adjust_pvalues(
    p: NDArray[np.float64] | pd.Series, method: Correction | str = "holm"
) -> NDArray[np.float64]:
    """Adjusted p-values, same shape as ``p`` (Holm by default, ``"bh"``, any ``statsmodels``
    ``multipletests`` method, or ``"none"``); NaN stays NaN and isn't counted in the family."""
    arr = np.asarray(p, dtype=float)
    out = np.full(arr.shape, np.nan)
    ok = np.isfinite(arr)
    if not ok.any():
        return out
    how = _STATSMODELS.get(method, method)
    if how == "none":
        out[ok] = arr[ok]
    elif how == "holm":
        out[ok] = _holm(arr[ok])
    else:
        out[ok] = multipletests(arr[ok], method=how)[1]
    return out


def _holm(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Holm's step-down adjusted p-values of a 1-d array without NaN."""
    order = np.argsort(p, kind="stable")
    m = p.size
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out
