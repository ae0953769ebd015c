"""Whether a test shows "no effect": every variant's relative lift within a band either way, by two one-sided
tests (TOST, normal approximation on the relative lift), so "stop, it makes no difference" is a finding with
its own p-value rather than the absence of one."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

NO_EFFECT_BAND = 0.05
"""A relative change smaller than this either way counts as "no effect"."""


def no_effect_p(table: pd.DataFrame, band: float = NO_EFFECT_BAND) -> float:
    """p-value that every row's relative lift lies within ±``band`` (two one-sided tests per row, normal
    approximation with ``se_relative``; the largest p-value over the rows); NaN without a usable row."""
    est, se = table["lift_relative"].to_numpy(float), table["se_relative"].to_numpy(float)
    ok = np.isfinite(est) & np.isfinite(se) & (se > 0)
    if not ok.any() or not ok.all():
        return float("nan")
    p_upper = norm.cdf((est - band) / se)  # H0: lift ≥ +band
    p_lower = norm.sf((est + band) / se)  # H0: lift ≤ −band
    return float(np.maximum(p_upper, p_lower).max())
