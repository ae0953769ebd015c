"""Compare each unit's rate with its peers: effect size, 95% interval, n, corrected p-values, money at stake.

A *unit* (a touchpoint, a channel, a campaign …) belongs to a *peer group*; its peers are the other units of
that group, pooled. Inputs are the sufficient statistics the engine returns per unit (``n``, the sum of the
outcome and, for means, the sum of squares), so nothing here touches raw rows, and every operation is
vectorised over all units at once.

Method: the difference unit − pooled peers with a Wald (unpooled) interval; the test is a pooled two-proportion
z-test for proportions and a Welch t-test for means. Effect size is Cohen's h (proportions) or Cohen's d
(means). Money at stake is what closing the gap to the *median* of the peers' own rates is worth:
``gap × n × value_per_unit`` (the median, so one big peer doesn't set the bar for all).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats
from statsmodels.stats.multitest import multipletests

Kind = Literal["proportion", "mean"]
Correction = Literal["holm", "fdr_bh", "bonferroni", "none"]


def peer_medians(groups: NDArray[np.object_] | pd.Series, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """For each unit, the median of the *other* units' values in its group (NaN when it has no peers)."""
    g = pd.Series(np.asarray(groups)).to_numpy()
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, np.nan)
    for key in pd.unique(g):
        idx = np.flatnonzero(g == key)
        if idx.size < 2:
            continue
        block = np.tile(v[idx], (idx.size, 1))
        np.fill_diagonal(block, np.nan)
        out[idx] = np.nanmedian(block, axis=1)
    return out


def compare_with_peers(
    frame: pd.DataFrame,
    *,
    kind: Kind,
    group: str = "group",
    n: str = "n",
    total: str = "total",
    total_sq: str | None = None,
    value_per_unit: float | NDArray[np.float64] = 1.0,
    higher_is_better: bool = True,
    level: float = 0.95,
    min_n: int = 1,
) -> pd.DataFrame:
    """Each row of ``frame`` (one unit) against the pooled other units of its ``group``.

    ``total`` is the number of successes (proportions) or the sum of the outcome (means); means also need
    ``total_sq``, the sum of squared outcomes. ``value_per_unit`` turns a rate gap into money: the worth of
    one success (proportions) or 1 for a money-valued mean. Units with fewer than ``min_n`` observations
    take no part (as unit or as peer). Returns ``frame`` plus ``value, peer_value, peer_n, peer_median,
    diff, ci_low, ci_high, effect_size, p_value, money_at_stake`` (money at stake > 0: what the unit loses
    against the peer median when ``diff`` points the bad way; what it earns above them otherwise).
    """
    df = frame.copy()
    nn = df[n].to_numpy(dtype=float)
    tot = df[total].to_numpy(dtype=float)
    keep = nn >= max(min_n, 1)
    nn = np.where(keep, nn, 0.0)
    tot = np.where(keep, tot, 0.0)
    if kind == "proportion":
        sq = tot
    elif total_sq is None:
        raise ValueError("means need total_sq, the sum of squared outcomes")
    else:
        sq = np.where(keep, df[total_sq].to_numpy(dtype=float), 0.0)
    g = df[group].astype(str).to_numpy()
    sums = pd.DataFrame({"g": g, "n": nn, "t": tot, "s": sq}).groupby("g")[["n", "t", "s"]].transform("sum")
    pn = sums["n"].to_numpy() - nn
    pt = sums["t"].to_numpy() - tot
    ps = sums["s"].to_numpy() - sq
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(nn > 0, tot / nn, np.nan)
        peer = np.where(pn > 0, pt / pn, np.nan)
        diff = value - peer
        z_crit = stats.norm.ppf(0.5 + level / 2)
        if kind == "proportion":
            var1 = value * (1 - value) / nn
            var2 = peer * (1 - peer) / pn
            pooled = (tot + pt) / (nn + pn)
            se0 = np.sqrt(pooled * (1 - pooled) * (1 / nn + 1 / pn))
            zstat = diff / se0
            p = 2 * stats.norm.sf(np.abs(zstat))
            effect = 2 * np.arcsin(np.sqrt(value)) - 2 * np.arcsin(np.sqrt(peer))
            se = np.sqrt(var1 + var2)
            crit = np.full(value.shape, z_crit)
        else:
            s1 = (sq - nn * value**2) / (nn - 1)
            s2 = (ps - pn * peer**2) / (pn - 1)
            s1, s2 = np.maximum(s1, 0.0), np.maximum(s2, 0.0)
            v1, v2 = s1 / nn, s2 / pn
            se = np.sqrt(v1 + v2)
            dof = (v1 + v2) ** 2 / (v1**2 / (nn - 1) + v2**2 / (pn - 1))
            tstat = diff / se
            p = 2 * stats.t.sf(np.abs(tstat), dof)
            sd_pooled = np.sqrt(((nn - 1) * s1 + (pn - 1) * s2) / (nn + pn - 2))
            effect = diff / sd_pooled
            crit = stats.t.ppf(0.5 + level / 2, dof)
        usable = (nn >= 2) & (pn >= 2) & np.isfinite(se) & (se > 0)
        p = np.where(usable, p, np.nan)
        median = peer_medians(g, np.where(keep, value, np.nan))
        gap = (median - value) if higher_is_better else (value - median)
        bad = (diff < 0) if higher_is_better else (diff > 0)
        money = np.abs(gap) * nn * np.asarray(value_per_unit, dtype=float)
        money = np.where(np.isfinite(money), money, 0.0)
        money = np.where(bad == (gap > 0), money, 0.0)  # the median and the pooled peers disagree: no claim
    df["value"] = value
    df["peer_value"] = peer
    df["peer_n"] = pn.astype(np.int64)
    df["peer_median"] = median
    df["diff"] = diff
    df["ci_low"] = diff - crit * se
    df["ci_high"] = diff + crit * se
    df["effect_size"] = effect
    df["p_value"] = p
    df["money_at_stake"] = money
    return df


def adjust_pvalues(p: NDArray[np.float64] | pd.Series, method: Correction = "holm") -> NDArray[np.float64]:
    """Multiple-comparison adjusted p-values (Holm by default); NaN stays NaN and isn't counted."""
    arr = np.asarray(p, dtype=float)
    out = np.full(arr.shape, np.nan)
    ok = np.isfinite(arr)
    if ok.any():
        out[ok] = arr[ok] if method == "none" else multipletests(arr[ok], method=method)[1]
    return out
