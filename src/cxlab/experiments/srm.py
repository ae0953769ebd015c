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

from cxlab.display import p_value
from cxlab.experiments.sufficient import Array

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
                f"SAMPLE RATIO MISMATCH: p {_p(self.p_value)} < {self.threshold:g} ({split}). Assignment "
                "or tracking is broken; do not trust these results until the cause is found."
            )
        return (
            f"SRM check passed: the split matches the plan (p {_p(self.p_value)}; a mismatch needs p < "
            f"{self.threshold:g}) ({split})."
        )


def _p(p: float) -> str:
    """``= 0.123`` or ``< 0.001``: the p-value as the message reads it."""
    shown = p_value(p)
    return shown if shown.startswith("<") else f"= {shown}"


def srm_p_values(counts: ArrayLike, weights: ArrayLike | None = None) -> Array:
    """Chi-square goodness-of-fit p-value (``scipy.stats.chisquare``) per row of ``counts`` (rows × arms)
    against ``weights`` (default equal split).

    Arms with weight 0 are left out of the statistic; degrees of freedom stay ``arms - 1`` (as GrowthBook).
    Rows with no units get p = 1; rows with units in an arm planned to get none get p = 0 (a mismatch
    by definition).
    """
    n = np.atleast_2d(np.asarray(counts, dtype=float))
    k = n.shape[-1]
    w = np.ones(k) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (k,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights: expected {k} non-negative numbers with a positive sum")
    used = w > 0
    total = n.sum(axis=-1)
    p = np.where(total > 0, np.nan, 1.0)
    p[(total > 0) & (n[:, ~used] > 0).any(axis=-1)] = 0.0
    rows = np.isnan(p)
    if rows.any():
        expected = w[used] / w.sum() * total[rows, None]
        p[rows] = st.chisquare(n[rows][:, used], expected, ddof=int(used.sum()) - k, axis=-1).pvalue
    return p


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
