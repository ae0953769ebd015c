"""Helpers for the experiment tests: raw simulated data → sufficient statistics, and GrowthBook's gbstats as the reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from cxlab.experiments.sufficient import SufficientStats

Arm = dict[str, float]


def sums(y: np.ndarray, d: np.ndarray | None = None, x: np.ndarray | None = None) -> Arm:
    """Sufficient statistics of one arm's unit-level outcome ``y`` (denominator ``d``, covariate ``x``)."""
    out: Arm = {"n": float(y.size), "sum": float(y.sum()), "sum_squares": float((y * y).sum())}
    if d is not None:
        out |= {
            "denominator_sum": float(d.sum()),
            "denominator_sum_squares": float((d * d).sum()),
            "cross_sum": float((y * d).sum()),
        }
    if x is not None:
        out |= {
            "covariate_sum": float(x.sum()),
            "covariate_sum_squares": float((x * x).sum()),
            "covariate_cross_sum": float((y * x).sum()),
        }
    return out


def to_stats(kind: str, arms: list[Arm], names: list[str] | None = None) -> SufficientStats:
    names = names or [f"v{i}" for i in range(len(arms))]
    doc = {"metric": {"type": kind}, "variants": [{"name": n} | a for n, a in zip(names, arms, strict=True)]}
    return SufficientStats.from_json(doc)


def gb_rows(arms: list[Arm]) -> list[dict[str, Any]]:
    """The arms as rows of GrowthBook's metric query (``main_*``, ``denominator_*``, ``covariate_*``)."""
    rows = []
    for i, a in enumerate(arms):
        r: dict[str, Any] = {
            "dimension": "",
            "variation": str(i),
            "users": a["n"],
            "count": a["n"],
            "main_sum": a["sum"],
            "main_sum_squares": a["sum_squares"],
        }
        if "denominator_sum" in a:
            r |= {
                "denominator_sum": a["denominator_sum"],
                "denominator_sum_squares": a["denominator_sum_squares"],
                "main_denominator_sum_product": a["cross_sum"],
            }
        if "covariate_sum" in a:
            r |= {
                "covariate_sum": a["covariate_sum"],
                "covariate_sum_squares": a["covariate_sum_squares"],
                "main_covariate_sum_product": a["covariate_cross_sum"],
            }
        rows.append(r)
    return rows


def gbstats_run(
    kind: str,
    arms: list[Arm],
    *,
    engine: str = "frequentist",
    sequential: bool = False,
    tuning: float = 5000,
    alpha: float = 0.05,
    prior: tuple[float, float] | None = None,
    inverse: bool = False,
    weights: list[float] | None = None,
    difference_type: str = "relative",
) -> Any:
    """GrowthBook's full per-metric pipeline (``process_single_metric``) on the same sums."""
    from gbstats.gbstats import process_single_metric
    from gbstats.models.settings import AnalysisSettingsForStatsEngine, MetricSettingsForStatsEngine

    cuped = "covariate_sum" in arms[0]
    binomial = kind == "proportion"
    metric = MetricSettingsForStatsEngine(
        id="m",
        name="m",
        statistic_type="ratio" if kind == "ratio" else ("mean_ra" if cuped else "mean"),
        main_metric_type="binomial" if binomial else "count",
        denominator_metric_type="count" if kind == "ratio" else None,
        covariate_metric_type=("binomial" if binomial else "count") if cuped else None,
        inverse=inverse,
        prior_proper=prior is not None,
        prior_mean=prior[0] if prior else 0.0,
        prior_stddev=prior[1] if prior else 0.1,
    )
    k = len(arms)
    analysis = AnalysisSettingsForStatsEngine(
        var_names=[f"v{i}" for i in range(k)],
        var_ids=[str(i) for i in range(k)],
        weights=weights or [1 / k] * k,
        stats_engine="bayesian" if engine == "bayesian" else "frequentist",
        sequential_testing_enabled=sequential,
        sequential_tuning_parameter=tuning,
        alpha=alpha,
        difference_type=difference_type,
    )
    return process_single_metric(gb_rows(arms), metric, [analysis]).analyses[0].dimensions[0]
