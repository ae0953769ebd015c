"""Experiment stats engine: cxlab's vectorised analysis vs GrowthBook's gbstats, metric by metric.

1,000 metrics × 3 arms (a mix of proportions, means with and without CUPED, and ratios), the same
sufficient statistics for both. cxlab analyses them in one call per engine; gbstats runs its per-metric
entry point (``process_single_metric``, what GrowthBook's back end calls) in a loop, and, as a lower bound,
its bare test classes (``TwoSidedTTest`` & co. plus the SRM check) in a loop. Both run in this process,
alternating; medians are reported, with the largest difference between the two answers.

    python bench/experiments.py [--metrics 1000] [--arms 3] [--repeat 5] [--gb-repeat 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from cxlab.experiments.analysis import analyze
from cxlab.experiments.sufficient import Kind, SufficientStats

ENGINES = ("frequentist", "bayesian", "sequential")


def make_stats(metrics: int, arms: int, n: int = 2000, seed: int = 1) -> SufficientStats:
    """Sufficient statistics summed from simulated unit-level data (so every sum is consistent)."""
    rng = np.random.default_rng(seed)
    kinds: list[Kind] = [("proportion", "mean", "mean", "ratio")[i % 4] for i in range(metrics)]
    shape = (metrics, arms)
    grids = {
        f: np.full(shape, np.nan)
        for f in (
            "sum",
            "sum_squares",
            "denominator_sum",
            "denominator_sum_squares",
            "cross_sum",
            "covariate_sum",
            "covariate_sum_squares",
            "covariate_cross_sum",
        )
    }
    lift = 1 + rng.normal(0, 0.05, (metrics, arms, 1))
    lift[:, 0] = 1
    for kind in ("proportion", "mean", "ratio"):
        rows = np.array([k == kind for k in kinds])
        m = int(rows.sum())
        if kind == "proportion":
            y = (rng.random((m, arms, n)) < 0.1 * lift[rows]).astype(float)
        elif kind == "mean":
            x = rng.gamma(2.0, 20.0, (m, arms, n))
            y = np.maximum(0.5 * x + rng.normal(10, 15, (m, arms, n)) * lift[rows], 0)
            cuped = np.arange(m) % 2 == 0
            grids["covariate_sum"][np.flatnonzero(rows)[cuped]] = x[cuped].sum(-1)
            grids["covariate_sum_squares"][np.flatnonzero(rows)[cuped]] = (x[cuped] ** 2).sum(-1)
            grids["covariate_cross_sum"][np.flatnonzero(rows)[cuped]] = (x[cuped] * y[cuped]).sum(-1)
        else:
            d = rng.poisson(1.2, (m, arms, n)).astype(float)
            y = d * rng.gamma(2.0, 25.0, (m, arms, n)) * lift[rows]
            grids["denominator_sum"][rows] = d.sum(-1)
            grids["denominator_sum_squares"][rows] = (d * d).sum(-1)
            grids["cross_sum"][rows] = (y * d).sum(-1)
        grids["sum"][rows] = y.sum(-1)
        grids["sum_squares"][rows] = (y * y).sum(-1)
    return SufficientStats(
        metrics=tuple(f"m{i}" for i in range(metrics)),
        arms=tuple(f"v{j}" for j in range(arms)),
        kinds=tuple(kinds),
        n=np.full(shape, float(n)),
        **grids,
    )


def gb_rows(s: SufficientStats, i: int) -> list[dict[str, Any]]:
    rows = []
    for j in range(s.shape[1]):
        r: dict[str, Any] = {
            "dimension": "",
            "variation": str(j),
            "users": s.n[i, j],
            "count": s.n[i, j],
            "main_sum": s.sum[i, j],
            "main_sum_squares": s.sum_squares[i, j],
        }
        if s.kinds[i] == "ratio":
            r |= {
                "denominator_sum": s.denominator_sum[i, j],
                "denominator_sum_squares": s.denominator_sum_squares[i, j],
                "main_denominator_sum_product": s.cross_sum[i, j],
            }
        if s.has_covariate[i]:
            r |= {
                "covariate_sum": s.covariate_sum[i, j],
                "covariate_sum_squares": s.covariate_sum_squares[i, j],
                "main_covariate_sum_product": s.covariate_cross_sum[i, j],
            }
        rows.append(r)
    return rows


def gbstats_pipeline(s: SufficientStats, engine: str) -> list[Any]:
    """GrowthBook's per-metric entry point, once per metric."""
    from gbstats.gbstats import process_single_metric
    from gbstats.models.settings import AnalysisSettingsForStatsEngine, MetricSettingsForStatsEngine

    k = s.shape[1]
    analysis = AnalysisSettingsForStatsEngine(
        var_names=list(s.arms),
        var_ids=[str(j) for j in range(k)],
        weights=[1 / k] * k,
        stats_engine="bayesian" if engine == "bayesian" else "frequentist",
        sequential_testing_enabled=engine == "sequential",
    )
    out = []
    for i in range(s.shape[0]):
        kind = s.kinds[i]
        binomial = "binomial" if kind == "proportion" else "count"
        metric = MetricSettingsForStatsEngine(
            id=s.metrics[i],
            name=s.metrics[i],
            statistic_type="ratio" if kind == "ratio" else ("mean_ra" if s.has_covariate[i] else "mean"),
            main_metric_type=binomial,
            denominator_metric_type="count" if kind == "ratio" else None,
            covariate_metric_type=binomial if s.has_covariate[i] else None,
        )
        out.append(process_single_metric(gb_rows(s, i), metric, [analysis]).analyses[0].dimensions[0])
    return out


def gbstats_tests(s: SufficientStats, engine: str) -> list[Any]:
    """GrowthBook's bare test classes, once per metric and arm (no data frames): a lower bound."""
    from gbstats.bayesian.tests import EffectBayesianABTest
    from gbstats.frequentist.tests import SequentialTwoSidedTTest, TwoSidedTTest
    from gbstats.models.statistics import (
        ProportionStatistic,
        RatioStatistic,
        RegressionAdjustedStatistic,
        SampleMeanStatistic,
    )
    from gbstats.utils import check_srm

    test = {
        "frequentist": TwoSidedTTest,
        "sequential": SequentialTwoSidedTTest,
        "bayesian": EffectBayesianABTest,
    }
    out = []
    for i in range(s.shape[0]):
        stats = []
        for j in range(s.shape[1]):
            n = int(s.n[i, j])
            if s.kinds[i] == "proportion":
                st: Any = ProportionStatistic(n=n, sum=s.sum[i, j])
            elif s.kinds[i] == "mean":
                st = SampleMeanStatistic(n=n, sum=s.sum[i, j], sum_squares=s.sum_squares[i, j])
                if s.has_covariate[i]:
                    pre = SampleMeanStatistic(
                        n=n, sum=s.covariate_sum[i, j], sum_squares=s.covariate_sum_squares[i, j]
                    )
                    st = RegressionAdjustedStatistic(
                        n=n,
                        post_statistic=st,
                        pre_statistic=pre,
                        post_pre_sum_of_products=s.covariate_cross_sum[i, j],
                        theta=0,
                    )
            else:
                st = RatioStatistic(
                    n=n,
                    m_statistic=SampleMeanStatistic(n=n, sum=s.sum[i, j], sum_squares=s.sum_squares[i, j]),
                    d_statistic=SampleMeanStatistic(
                        n=n, sum=s.denominator_sum[i, j], sum_squares=s.denominator_sum_squares[i, j]
                    ),
                    m_d_sum_of_products=s.cross_sum[i, j],
                )
            stats.append(st)
        results = [test[engine](stats[0], b).compute_result() for b in stats[1:]]
        out.append((results, check_srm([int(x) for x in s.n[i]], [1 / s.shape[1]] * s.shape[1])))
    return out


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def max_difference(ours: Any, ref: list[Any]) -> float:
    t = ours.to_frame()
    t = t[~t["is_control"]]
    lift = t["lift_relative"].to_numpy().reshape(len(ref), -1)
    lo = t["ci_relative_low"].to_numpy().reshape(len(ref), -1)
    theirs = np.array([[v.expected for v in d.variations[1:]] for d in ref])
    theirs_lo = np.array([[v.ci[0] for v in d.variations[1:]] for d in ref])
    return float(max(np.abs(lift - theirs).max(), np.abs(lo - theirs_lo).max()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metrics", type=int, default=1000)
    ap.add_argument("--arms", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5, help="runs of cxlab (median)")
    ap.add_argument("--gb-repeat", type=int, default=1, help="runs of the gbstats loops (median)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message="Setting a value on a Series via .at")  # inside gbstats
    s = make_stats(args.metrics, args.arms)
    analyze(s.take([0, 1]))  # warm up imports
    gb_repeat = args.gb_repeat
    print(
        f"{args.metrics:,} metrics × {args.arms} arms; cxlab: median of {args.repeat}, gbstats: median of {gb_repeat}"
    )
    print(
        f"{'engine':<12} {'cxlab':>8} {'gbstats loop':>13} {'ratio':>7} {'bare gb tests':>14} {'ratio':>7} {'max |diff|':>11}"
    )
    for engine in ENGINES:
        ours_t, ours = timed(lambda e=engine: analyze(s, engine=e, correction="none"), args.repeat)  # type: ignore[misc]
        gb_t, ref = timed(lambda e=engine: gbstats_pipeline(s, e), gb_repeat)  # type: ignore[misc]
        bare_t, _ = timed(lambda e=engine: gbstats_tests(s, e), gb_repeat)  # type: ignore[misc]
        diff = max_difference(ours, ref)
        print(
            f"{engine:<12} {ours_t:>7.3f}s {gb_t:>12.2f}s {gb_t / ours_t:>6.0f}x {bare_t:>13.2f}s "
            f"{bare_t / ours_t:>6.0f}x {diff:>11.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
