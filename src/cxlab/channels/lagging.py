"""Which groups (channels, campaigns, touchpoints) convert worse than their peers, and how sure we are.

Each group's rate is tested against the pooled rate of its peers (by default every other group) with a
one-sided two-proportion z-test (pooled variance; ``H1``: the group's rate is lower), and the p-values of
all groups tested are adjusted for multiple comparisons (Holm by default, any ``statsmodels``
``multipletests`` method). A group lags when its adjusted p-value is below ``alpha``. The difference comes
with a Newcombe (hybrid Wilson score) interval, and the gap is priced: the successes (and value) the group
would have had at its peers' rate.

Generic over the table it is given, so the journey map's strengths-and-weaknesses analysis uses it for
touchpoints as channel performance does for channels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from cxlab.channels.records import records
from cxlab.stats.proportions import wilson_interval


@dataclass(frozen=True)
class Lagging:
    """Per group: its rate and its peers', the difference with its interval, adjusted p-value, verdict."""

    table: pd.DataFrame
    group: str
    alpha: float
    correction: str
    level: float

    @property
    def lagging(self) -> list[str]:
        """The groups that lag, worst first."""
        t = self.table[self.table["lagging"]].sort_values("rate")
        return [str(g) for g in t[self.group]]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "one-sided two-proportion z-test vs pooled peers; "
            f"{self.correction} adjustment; difference with Newcombe {self.level:.0%} interval",
            "alpha": self.alpha,
            "lagging": self.lagging,
            "groups": records(self.table),
        }

    def summary(self) -> str:
        names = ", ".join(self.lagging) or "none"
        return (
            f"Lagging {self.group}s (rate below peers, {self.correction}-adjusted one-sided p < {self.alpha}): "
            f"{names}."
        )


def find_lagging(
    table: pd.DataFrame,
    *,
    group: str = "channel",
    successes: str = "successes",
    trials: str = "trials",
    value_per_success: str | None = None,
    peers: Mapping[str, Sequence[str]] | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    level: float = 0.95,
    min_trials: int = 30,
) -> Lagging:
    """Test every group of ``table`` (one row per group) against its peers.

    ``peers`` maps a group to the groups it is compared with (default: all others); groups with fewer than
    ``min_trials`` trials, or without peers, are reported but not tested. ``value_per_success`` names a
    column (e.g. average order value) that prices the gap."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    names = [str(g) for g in table[group]]
    x = table[successes].to_numpy(dtype=float)
    n = table[trials].to_numpy(dtype=float)
    if (x < 0).any() or (x > n).any():
        raise ValueError(f"{successes} must be between 0 and {trials} in every row")
    pos = {g: i for i, g in enumerate(names)}
    peer_mask = np.zeros((len(names), len(names)), dtype=bool)
    for i, g in enumerate(names):
        chosen = peers.get(g, []) if peers is not None else [h for h in names if h != g]
        peer_mask[i, [pos[h] for h in chosen if h in pos and h != g]] = True
    px, pn = peer_mask @ x, peer_mask @ n

    rate = np.divide(x, n, out=np.full_like(x, np.nan), where=n > 0)
    peer_rate = np.divide(px, pn, out=np.full_like(x, np.nan), where=pn > 0)
    pooled = np.divide(x + px, n + pn, out=np.full_like(x, np.nan), where=(n + pn) > 0)
    tested = (n >= min_trials) & (pn >= min_trials)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / pn))
        z = np.where(tested & (se > 0), (rate - peer_rate) / se, np.nan)
    p = np.where(tested, norm.cdf(np.nan_to_num(z, nan=0.0)), np.nan)
    p_adj = np.full_like(p, np.nan)
    if tested.any():
        p_adj[tested] = multipletests(p[tested], alpha=alpha, method=correction)[1]
    lo1, hi1 = wilson_interval(x, n, level)
    lo2, hi2 = wilson_interval(px, pn, level)
    diff = rate - peer_rate
    diff_lo = diff - np.sqrt((rate - lo1) ** 2 + (hi2 - peer_rate) ** 2)
    diff_hi = diff + np.sqrt((hi1 - rate) ** 2 + (peer_rate - lo2) ** 2)
    gap = np.where(tested, np.clip(peer_rate - rate, 0, None) * n, np.nan)

    out = pd.DataFrame(
        {
            group: table[group].to_numpy(),
            "successes": x,
            "trials": n,
            "rate": rate,
            "ci_low": lo1,
            "ci_high": hi1,
            "peer_rate": peer_rate,
            "difference": diff,
            "difference_low": diff_lo,
            "difference_high": diff_hi,
            "relative": np.divide(rate, peer_rate, out=np.full_like(x, np.nan), where=peer_rate > 0) - 1,
            "z": z,
            "p_value": p,
            "p_adjusted": p_adj,
            "lagging": tested & (p_adj < alpha),
            "rank": pd.Series(rate).rank(method="min", na_option="bottom").to_numpy(),
            "gap": gap,
        }
    )
    if value_per_success is not None:
        out["gap_value"] = gap * table[value_per_success].to_numpy(dtype=float)
    return Lagging(out, group, alpha, correction, level)
