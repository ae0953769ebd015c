"""Which groups (channels, campaigns, touchpoints) convert worse than their peers, and how sure we are.

Each group's rate is tested against the pooled rate of its peers (by default every other group) with the
shared peer comparison, :func:`cxlab.stats.peers.compare_with_peers`: a one-sided score test (pooled
two-proportion z-test; ``H1``: the group's rate is lower) and the difference with a Newcombe (hybrid Wilson
score) interval. The p-values of all groups tested are adjusted for multiple comparisons (Holm by default,
any ``statsmodels`` ``multipletests`` method). A group lags when its adjusted p-value is below ``alpha``.
The gap is priced: the successes (and value) the group would have had at its peers' pooled rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cxlab.jsonable import jsonable
from cxlab.stats.peers import adjust_pvalues, compare_with_peers


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
            "groups": jsonable(self.table.to_dict(orient="records")),
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
    ``min_trials`` trials, or without peers, are reported but not tested (and don't count as peers).
    ``value_per_success`` names a column (e.g. average order value) that prices the gap."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    names = [str(g) for g in table[group]]
    frame = pd.DataFrame(
        {"name": names, "group": "all", "n": table[trials].to_numpy(), "total": table[successes].to_numpy()}
    )
    cmp = compare_with_peers(  # peers None: every other group
        frame, kind="proportion", peers=peers, alternative="smaller", level=level, min_n=min_trials
    )
    x, n = cmp["total"].to_numpy(dtype=float), cmp["n"].to_numpy(dtype=float)
    rate, peer_rate, p = (cmp[c].to_numpy() for c in ("value", "peer_value", "p_value"))
    tested = np.isfinite(p)
    p_adj = adjust_pvalues(p, correction)
    gap = np.where(tested, np.clip(peer_rate - rate, 0, None) * n, np.nan)
    out = pd.DataFrame(
        {
            group: table[group].to_numpy(),
            "successes": x,
            "trials": n,
            "rate": rate,
            "ci_low": cmp["value_low"].to_numpy(),
            "ci_high": cmp["value_high"].to_numpy(),
            "peer_rate": peer_rate,
            "difference": cmp["diff"].to_numpy(),
            "difference_low": cmp["ci_low"].to_numpy(),
            "difference_high": cmp["ci_high"].to_numpy(),
            "relative": np.divide(rate, peer_rate, out=np.full_like(x, np.nan), where=peer_rate > 0) - 1,
            "z": cmp["statistic"].to_numpy(),
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
