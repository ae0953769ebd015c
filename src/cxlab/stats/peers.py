"""Compare each unit with its pooled peers: difference, 95% interval, test, effect size, money at stake.

The one routine behind every "does this one differ from the others" question in cxlab: touchpoints and
channels in the journey's strengths and weaknesses, breakdown values of a funnel, lagging channels and
campaigns (:func:`cxlab.channels.lagging.find_lagging`).

A *unit* (a touchpoint, a channel, a campaign …) is compared with its *peers*, pooled: either the other units
of its ``group`` (a partition), or the units that a ``peers`` mapping names for it (any relation, e.g. a
campaign against the other campaigns of its channel). Inputs are the sufficient statistics the engine returns
per unit (``n``, the sum of the outcome and, for means, the sum of squares), so nothing here touches raw rows,
and every operation is vectorised over all units at once.

Method:

* proportions: the difference unit − pooled peers with Newcombe's hybrid score interval (method 10 of
  Newcombe 1998, the Wilson score intervals of both rates combined; it keeps its coverage near 0 and 1 and for
  small n, where the Wald interval does not), and the score test of no difference (the pooled two-proportion
  z-test, Pearson's chi-square without continuity correction: the test whose inversion gives the Wilson
  intervals the Newcombe interval is built from). Effect size: Cohen's h.
* means: the difference with Welch's interval and Welch's t-test. Effect size: Cohen's d (pooled SD).

Tests are two-sided unless ``alternative`` says ``"smaller"`` (H1: the unit is below its peers) or
``"larger"``; the interval is always two-sided at ``level``. Units with fewer than ``min_n`` observations
take no part as peers and are not tested (their own rate is still shown). Money at stake is what closing the
gap to the *median* of the peers' own rates is worth: ``gap × n × value_per_unit`` (the median, so one big
peer doesn't set the bar for all). Multiple comparisons: :func:`cxlab.stats.multitest.adjust_pvalues` (Holm by default;
re-exported here, as ``Correction``, for the callers that import both from this module).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from cxlab.stats.multitest import Correction, adjust_pvalues
from cxlab.stats.proportions import wilson_interval
from cxlab.stats.welch import welch_dof

__all__ = ["Correction", "adjust_pvalues", "compare_with_peers", "peer_medians"]

Kind = Literal["proportion", "mean"]
Alternative = Literal["two-sided", "smaller", "larger"]


def _loo_medians(codes: NDArray[np.intp], v: NDArray[np.float64]) -> NDArray[np.float64]:
    """For each unit, the median of the finite values of the *other* units with its code (NaN if none).

    One sort, no loops: removing the unit's own value from its group's sorted values shifts the positions
    after it by one."""
    m = v.size
    out = np.full(m, np.nan)
    if m == 0:
        return out
    fin = np.isfinite(v)
    key = np.where(fin, v, np.inf)  # non-finite values sort last in their group and are never picked
    order = np.lexsort((key, codes))
    sorted_codes, sorted_vals = codes[order], key[order]
    start = np.searchsorted(sorted_codes, np.arange(codes.max() + 1))
    count = np.bincount(codes[fin], minlength=codes.max() + 1)[codes]
    rank = np.empty(m, dtype=np.intp)
    rank[order] = np.arange(m) - start[sorted_codes]
    own = np.where(fin, rank, count)  # a non-finite unit removes nothing
    left = count - fin.astype(np.intp)  # how many other finite values

    def kth(k: NDArray[np.intp]) -> NDArray[np.float64]:
        j = np.clip(k + (k >= own), 0, np.maximum(count - 1, 0))
        return sorted_vals[start[codes] + j]

    has = left > 0
    med = (kth((left - 1) // 2) + kth(left // 2)) / 2
    out[has] = med[has]
    return out


def peer_medians(groups: NDArray[np.object_] | pd.Series, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """For each unit, the median of the *other* units' values in its group (NaN values and units without
    peers give NaN)."""
    codes = pd.factorize(pd.Series(np.asarray(groups)).astype(str))[0].astype(np.intp)
    return _loo_medians(codes, np.asarray(values, dtype=float))


def _pair_medians(
    i: NDArray[np.intp], j: NDArray[np.intp], v: NDArray[np.float64], m: int
) -> NDArray[np.float64]:
    """For each unit ``u``, the median of ``v[j]`` over the pairs ``(u, j)`` with a finite value."""
    out = np.full(m, np.nan)
    ok = np.isfinite(v[j])
    i, j = i[ok], j[ok]
    if not i.size:
        return out
    order = np.argsort(i, kind="stable")
    i, j = i[order], j[order]
    count = np.bincount(i, minlength=m)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    pad = np.full((m, int(count.max())), np.nan)
    pad[i, np.arange(i.size) - start[i]] = v[j]
    has = count > 0
    out[has] = np.nanmedian(pad[has], axis=1)
    return out


def _peer_pairs(names: Sequence[str], peers: Mapping[str, Sequence[str]]) -> tuple[NDArray[np.intp], ...]:
    pos = {g: k for k, g in enumerate(names)}
    if len(pos) != len(names):
        raise ValueError("unit names must be unique when peers are given")
    pairs = sorted(
        {(pos[g], pos[h]) for g, hs in peers.items() if g in pos for h in hs if h in pos and h != g}
    )
    arr = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def compare_with_peers(
    frame: pd.DataFrame,
    *,
    kind: Kind,
    group: str = "group",
    peers: Mapping[str, Sequence[str]] | None = None,
    name: str = "name",
    n: str = "n",
    total: str = "total",
    total_sq: str | None = None,
    value_per_unit: float | NDArray[np.float64] = 1.0,
    higher_is_better: bool = True,
    alternative: Alternative = "two-sided",
    level: float = 0.95,
    min_n: int = 1,
) -> pd.DataFrame:
    """Each row of ``frame`` (one unit) against its pooled peers (see the module docstring).

    Peers: the other rows with the same ``group`` value or, when ``peers`` is given, the rows whose ``name``
    it lists for the row's ``name`` (a name it doesn't list has no peers). ``total`` is the number of
    successes (proportions) or the sum of the outcome (means); means also need ``total_sq``, the sum of
    squared outcomes. ``value_per_unit`` (a number or one per row) turns a rate gap into money: the worth of
    one success (proportions) or 1 for a money-valued mean.

    Returns ``frame`` plus ``value`` (with its own interval ``value_low``–``value_high``: Wilson or t),
    ``peer_value``, ``peers`` (peer units taking part), ``peer_n``, ``peer_median``, ``diff`` (value − peer
    value) with ``ci_low``–``ci_high``, ``effect_size``, ``statistic`` (z or t), ``p_value`` (NaN where not
    tested: too few observations, no peers or no variation) and ``money_at_stake`` (> 0: what the unit loses
    against the peer median when ``diff`` points the bad way; what it earns above them otherwise).
    """
    if kind not in ("proportion", "mean"):
        raise ValueError(f"kind must be 'proportion' or 'mean', got {kind!r}")
    if alternative not in ("two-sided", "smaller", "larger"):
        raise ValueError(f"alternative must be 'two-sided', 'smaller' or 'larger', got {alternative!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    df = frame.copy()
    nn = df[n].to_numpy(dtype=float)
    tot = df[total].to_numpy(dtype=float)
    if kind == "proportion":
        if ((tot < 0) | (tot > nn)).any():
            raise ValueError(f"{total} must be between 0 and {n} in every row")
        sq = tot
    elif total_sq is None:
        raise ValueError("means need total_sq, the sum of squared outcomes")
    else:
        sq = df[total_sq].to_numpy(dtype=float)
    floor = max(min_n, 1)
    keep = nn >= floor
    kn, kt, ks, kc = (np.where(keep, a, 0.0) for a in (nn, tot, sq, np.ones_like(nn)))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(nn > 0, tot / nn, np.nan)
    kept_value = np.where(keep, value, np.nan)
    if peers is None:
        codes = pd.factorize(df[group].astype(str))[0].astype(np.intp)
        pn, pt, ps, count = (np.bincount(codes, weights=a)[codes] - a for a in (kn, kt, ks, kc))
        median = _loo_medians(codes, kept_value)
    else:
        i, j = _peer_pairs([str(x) for x in df[name]], peers)
        pn, pt, ps, count = (np.bincount(i, weights=a[j], minlength=len(df)) for a in (kn, kt, ks, kc))
        median = _pair_medians(i, j, kept_value, len(df))
    with np.errstate(divide="ignore", invalid="ignore"):
        peer = np.where(pn > 0, pt / pn, np.nan)
        diff = value - peer
        if kind == "proportion":
            lo1, hi1 = wilson_interval(tot, nn, level)
            lo2, hi2 = wilson_interval(pt, pn, level)
            ci_low = diff - np.sqrt((value - lo1) ** 2 + (hi2 - peer) ** 2)
            ci_high = diff + np.sqrt((hi1 - value) ** 2 + (peer - lo2) ** 2)
            pooled = (tot + pt) / (nn + pn)
            se0 = np.sqrt(pooled * (1 - pooled) * (1 / nn + 1 / pn))
            statistic = diff / se0
            dist = stats.norm()
            usable = np.isfinite(se0) & (se0 > 0)
            effect = 2 * np.arcsin(np.sqrt(value)) - 2 * np.arcsin(np.sqrt(peer))
        else:
            s1 = np.maximum((sq - nn * value**2) / (nn - 1), 0.0)
            s2 = np.maximum((ps - pn * peer**2) / (pn - 1), 0.0)
            v1, v2 = s1 / nn, s2 / pn
            se = np.sqrt(v1 + v2)
            dof = welch_dof(s1, nn, s2, pn)
            crit = stats.t.ppf(0.5 + level / 2, dof)
            ci_low, ci_high = diff - crit * se, diff + crit * se
            half = stats.t.ppf(0.5 + level / 2, nn - 1) * np.sqrt(s1 / nn)
            lo1, hi1 = value - half, value + half
            statistic = diff / se
            dist = stats.t(np.where(np.isfinite(dof), dof, 1.0))
            usable = np.isfinite(se) & (se > 0)
            effect = diff / np.sqrt(((nn - 1) * s1 + (pn - 1) * s2) / (nn + pn - 2))
        tested = keep & (nn >= 2) & (pn >= max(floor, 2)) & usable & np.isfinite(statistic)
        stat_t = np.where(tested, statistic, 0.0)
        if alternative == "two-sided":
            p = 2 * dist.sf(np.abs(stat_t))
        elif alternative == "smaller":
            p = dist.cdf(stat_t)
        else:
            p = dist.sf(stat_t)
        p = np.where(tested, p, np.nan)
        gap = (median - value) if higher_is_better else (value - median)
        bad = (diff < 0) if higher_is_better else (diff > 0)
        money = np.abs(gap) * kn * np.asarray(value_per_unit, dtype=float)
        money = np.where(np.isfinite(money), money, 0.0)
        money = np.where(bad == (gap > 0), money, 0.0)  # the median and the pooled peers disagree: no claim
    columns = {
        "value": value,
        "value_low": lo1,
        "value_high": hi1,
        "peer_value": peer,
        "peers": count.astype(np.int64),
        "peer_n": pn.astype(np.int64),
        "peer_median": median,
        "diff": diff,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "effect_size": effect,
        "statistic": np.where(tested, statistic, np.nan),
        "p_value": p,
        "money_at_stake": money,
    }
    for col, values in columns.items():
        df[col] = values
    return df
