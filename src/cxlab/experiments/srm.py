"""Sample-ratio mismatch: are the arms' sizes what the planned split says they should be?

A mismatch means assignment or logging is broken (a redirect that loses users, a bot filter hitting one
arm), and no lift estimated on such data can be trusted. Chi-square goodness of fit, as GrowthBook; a
p-value under ``SRM_THRESHOLD`` (0.001, GrowthBook's default) raises the alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as st

from cxlab.experiments.stats import Array

SRM_THRESHOLD = 0.001


@dataclass(frozen=True, eq=False)
class SrmCheck:
    """Observed vs expected units per arm, the chi-square p-value and whether it raises the alarm."""

    observed: Array
    expected: Array
    p_value: float
    threshold: float = SRM_THRESHOLD

    @property
    def applies(self) -> bool:
        """False for comparisons that are not a randomised split (before/after)."""
        return not math.isnan(self.p_value)

    @property
    def mismatch(self) -> bool:
        return self.applies and bool(self.p_value < self.threshold)

    def message(self, arms: tuple[str, ...] | None = None) -> str:
        if not self.applies:
            return "SRM check: not applicable (not a randomised split)."
        names = arms or tuple(f"arm {i}" for i in range(len(self.observed)))
        split = ", ".join(
            f"{a} {int(o):,} (expected {e:,.0f})"
            for a, o, e in zip(names, self.observed, self.expected, strict=True)
        )
        if self.mismatch:
            return (
                f"SAMPLE RATIO MISMATCH: p = {self.p_value:.2g} < {self.threshold:g} ({split}). Assignment "
                "or tracking is broken; do not trust these results until the cause is found."
            )
        return f"SRM check passed: p = {self.p_value:.3g} ({split})."


def srm_p_values(counts: ArrayLike, weights: ArrayLike | None = None) -> Array:
    """Chi-square p-value per row of ``counts`` (rows × arms) against ``weights`` (default equal split).

    Arms with weight 0 are left out of the statistic; degrees of freedom stay ``arms - 1`` (as GrowthBook).
    Rows with no units get p = 1.
    """
    n = np.atleast_2d(np.asarray(counts, dtype=float))
    w = np.ones(n.shape[-1]) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n.shape[-1],) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights: expected {n.shape[-1]} non-negative numbers with a positive sum")
    total = n.sum(axis=-1, keepdims=True)
    expected = w / w.sum() * total
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, (n - expected) ** 2 / np.where(expected > 0, expected, 1.0), 0.0)
    p = st.chi2.sf(terms.sum(axis=-1), n.shape[-1] - 1)
    return np.where(total[..., 0] > 0, p, 1.0)


def srm_check(
    counts: ArrayLike,
    weights: ArrayLike | None = None,
    threshold: float = SRM_THRESHOLD,
    applies: bool = True,
) -> SrmCheck:
    """The SRM check of one experiment's units per arm (``applies=False``: a non-random split, no test)."""
    n = np.asarray(counts, dtype=float)
    w = np.ones(n.shape[-1]) if weights is None else np.asarray(weights, dtype=float)
    p = float(srm_p_values(n, w)[0]) if applies else math.nan
    return SrmCheck(observed=n, expected=w / w.sum() * n.sum(), p_value=p, threshold=threshold)
