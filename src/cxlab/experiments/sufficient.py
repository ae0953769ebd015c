"""Sufficient statistics of an experiment: per metric × arm sums, and the per-arm moments they imply.

Every engine works on these arrays, shape ``(metrics, arms)``, the control arm first. A metric is

- ``proportion``: a 0/1 outcome per unit; variance ``p(1 - p)`` (as GrowthBook's ``ProportionStatistic``);
- ``mean``: any numeric outcome per unit; sample variance with ``n - 1``;
- ``ratio``: ``sum(numerator) / sum(denominator)`` over units (revenue per order, clicks per open), its
  unit-level variance by the delta method from the numerator and denominator sums, sums of squares and
  cross-products.

A metric may carry a pre-period covariate (sum, sum of squares, cross-product with the outcome) for CUPED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

Kind = Literal["proportion", "mean", "ratio"]
KINDS: tuple[Kind, ...] = ("proportion", "mean", "ratio")
Array = NDArray[np.float64]

RATIO_FIELDS = ("denominator_sum", "denominator_sum_squares", "cross_sum")
COVARIATE_FIELDS = ("covariate_sum", "covariate_sum_squares", "covariate_cross_sum")


def _grid(values: ArrayLike | None, shape: tuple[int, int], name: str) -> Array:
    if values is None:
        return np.full(shape, np.nan)
    a = np.asarray(values, dtype=float)
    if a.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} (metrics × arms), got {a.shape}")
    return a


@dataclass(frozen=True, eq=False)
class SufficientStats:
    """Sums per metric (rows) and arm (columns, control first); NaN where a field doesn't apply."""

    metrics: tuple[str, ...]
    arms: tuple[str, ...]
    kinds: tuple[Kind, ...]
    n: Array
    sum: Array
    sum_squares: Array
    denominator_sum: Array = field(default_factory=lambda: np.empty(0))
    denominator_sum_squares: Array = field(default_factory=lambda: np.empty(0))
    cross_sum: Array = field(default_factory=lambda: np.empty(0))
    covariate_sum: Array = field(default_factory=lambda: np.empty(0))
    covariate_sum_squares: Array = field(default_factory=lambda: np.empty(0))
    covariate_cross_sum: Array = field(default_factory=lambda: np.empty(0))
    inverse: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))
    """Per metric: lower is better (support contacts, returns)."""
    guardrail: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))
    """Per metric: a metric that must not get worse, rather than one the change tries to move."""
    secondary: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))
    """Per metric: reported but outside the family that multiple-testing corrections cover."""

    def __post_init__(self) -> None:
        m, k = len(self.metrics), len(self.arms)
        shape = (m, k)
        if m < 1:
            raise ValueError("no metrics to analyse")
        if k < 2:
            raise ValueError(f"an experiment needs a control and at least one treatment arm, got {k} arm(s)")
        if len(set(self.arms)) != k:
            raise ValueError(f"arm names must be unique, got {list(self.arms)}")
        if len(self.kinds) != m:
            raise ValueError(f"kinds: expected one per metric ({m}), got {len(self.kinds)}")
        bad = sorted({str(x) for x in self.kinds if x not in KINDS})
        if bad:
            raise ValueError(f"unknown metric type {bad[0]!r} (expected one of {', '.join(KINDS)})")
        for name in ("n", "sum", "sum_squares", *RATIO_FIELDS, *COVARIATE_FIELDS):
            value = getattr(self, name)
            given = None if np.asarray(value).size == 0 else value
            object.__setattr__(self, name, _grid(given, shape, name))
        for name in ("inverse", "guardrail", "secondary"):
            value = np.asarray(getattr(self, name), dtype=bool)
            object.__setattr__(self, name, np.zeros(m, dtype=bool) if value.size == 0 else value)
            if getattr(self, name).shape != (m,):
                raise ValueError(f"{name}: expected one flag per metric ({m})")
        if np.isnan(self.n).any() or (self.n < 0).any() or (self.n != np.round(self.n)).any():
            raise ValueError("n: every arm needs a whole, non-negative number of units")
        if np.isnan(self.sum).any():
            raise ValueError("sum: missing for some metric and arm")
        prop = self.is_kind("proportion")[:, None]
        ss = np.where(prop & np.isnan(self.sum_squares), self.sum, self.sum_squares)
        object.__setattr__(self, "sum_squares", ss)
        if np.isnan(ss).any():
            raise ValueError("sum_squares: required for mean and ratio metrics")
        if (prop & ((self.sum < 0) | (self.sum > self.n))).any():
            raise ValueError("sum: a proportion's sum (units converted) must lie between 0 and n")
        ratio = self.is_kind("ratio")[:, None]
        for name in RATIO_FIELDS:
            if (ratio & np.isnan(getattr(self, name))).any():
                raise ValueError(f"{name}: required for ratio metrics")
        cov = ~np.isnan(self.covariate_sum)
        partial = cov.any(axis=1) & ~cov.all(axis=1)
        if partial.any():
            raise ValueError("covariate_sum: given for some arms of a metric but not all")
        for name in COVARIATE_FIELDS[1:]:
            if (cov & np.isnan(getattr(self, name))).any():
                raise ValueError(f"{name}: required with covariate_sum (CUPED)")
        if (ratio[:, 0] & cov.all(axis=1)).any():
            raise ValueError("CUPED (covariate_*) is supported for proportion and mean metrics, not ratios")

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.metrics), len(self.arms)

    def is_kind(self, kind: Kind) -> NDArray[np.bool_]:
        return np.array([k == kind for k in self.kinds], dtype=bool)

    @property
    def roles(self) -> NDArray[np.object_]:
        """Per metric: ``goal``, ``secondary`` or ``guardrail``."""
        return np.where(self.guardrail, "guardrail", np.where(self.secondary, "secondary", "goal")).astype(
            object
        )

    @property
    def has_covariate(self) -> NDArray[np.bool_]:
        """Per metric: pre-period covariate sums are present (CUPED possible)."""
        return cast(NDArray[np.bool_], ~np.isnan(self.covariate_sum).any(axis=1))

    def take(self, rows: Sequence[int] | NDArray[np.intp]) -> SufficientStats:
        """The metrics at ``rows`` (all arms)."""
        idx = np.asarray(rows, dtype=np.intp)
        grids = {
            name: getattr(self, name)[idx]
            for name in ("n", "sum", "sum_squares", *RATIO_FIELDS, *COVARIATE_FIELDS)
        }
        return SufficientStats(
            metrics=tuple(self.metrics[i] for i in idx),
            arms=self.arms,
            kinds=tuple(self.kinds[i] for i in idx),
            inverse=self.inverse[idx],
            guardrail=self.guardrail[idx],
            secondary=self.secondary[idx],
            **grids,
        )

    @classmethod
    def from_frame(cls, df: pd.DataFrame, control: str | None = None) -> SufficientStats:
        """From a long frame, one row per metric and arm: ``metric``, ``type``, ``arm``, ``n``, ``sum`` and
        the other sums as columns (missing columns or values: not applicable). ``control`` (default: the
        first arm seen) goes first; ``inverse``, ``guardrail`` and ``secondary`` columns are optional."""
        missing = [c for c in ("metric", "type", "arm", "n", "sum") if c not in df.columns]
        if missing:
            raise ValueError(f"missing column {missing[0]!r}")
        arms = list(dict.fromkeys(df["arm"].astype(str)))
        if control is not None:
            if control not in arms:
                raise ValueError(f"control {control!r} is not an arm ({', '.join(arms)})")
            arms = [control] + [a for a in arms if a != control]
        metrics = list(dict.fromkeys(df["metric"].astype(str)))
        keyed = df.assign(metric=df["metric"].astype(str), arm=df["arm"].astype(str))
        if keyed.duplicated(["metric", "arm"]).any():
            raise ValueError("one row per metric and arm, please: found duplicates")
        keyed = keyed.set_index(["metric", "arm"])
        index = pd.MultiIndex.from_product([metrics, arms])
        if not index.isin(keyed.index).all():
            raise ValueError("every metric needs a row for every arm")
        keyed = keyed.reindex(index)

        def grid(col: str) -> Array | None:
            if col not in keyed.columns:
                return None
            return keyed[col].to_numpy(dtype=np.float64).reshape(len(metrics), len(arms))

        def flags(col: str) -> NDArray[np.bool_]:
            if col not in keyed.columns:
                return np.zeros(len(metrics), dtype=bool)
            return keyed[col].fillna(False).astype(bool).to_numpy().reshape(len(metrics), len(arms))[:, 0]

        kinds = keyed["type"].to_numpy().reshape(len(metrics), len(arms))[:, 0]
        grids = {f: grid(f) for f in ("n", "sum", "sum_squares", *RATIO_FIELDS, *COVARIATE_FIELDS)}
        return cls(
            metrics=tuple(metrics),
            arms=tuple(arms),
            kinds=tuple(cast(Kind, str(k)) for k in kinds),
            inverse=flags("inverse"),
            guardrail=flags("guardrail"),
            secondary=flags("secondary"),
            **{f: (np.empty(0) if g is None else g) for f, g in grids.items()},
        )

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], name: str = "metric") -> SufficientStats:
        """One metric in the ``--stats`` file format: ``{"metric": {"type": ...}, "variants": [...]}``.

        Each variant holds ``name``, ``n``, ``sum``, ``sum_squares`` (optional for proportions), for ratios
        ``denominator_sum``, ``denominator_sum_squares``, ``cross_sum``, and for CUPED ``covariate_sum``,
        ``covariate_sum_squares``, ``covariate_cross_sum``; the control comes first.
        """
        if not isinstance(doc, Mapping):
            raise ValueError("expected a JSON object with 'metric' and 'variants'")
        metric = doc.get("metric")
        if not isinstance(metric, Mapping) or "type" not in metric:
            raise ValueError('metric: expected an object such as {"type": "proportion"}')
        kind = metric["type"]
        if kind not in KINDS:
            raise ValueError(f"metric.type: {kind!r} is not one of {', '.join(KINDS)}")
        variants = doc.get("variants")
        if not isinstance(variants, list) or len(variants) < 2:
            raise ValueError("variants: expected a list of at least two arms, the control first")
        cols: dict[str, list[float]] = {f: [] for f in ("n", "sum", "sum_squares", *RATIO_FIELDS)}
        cols |= {f: [] for f in COVARIATE_FIELDS}
        names: list[str] = []
        for i, v in enumerate(variants):
            if not isinstance(v, Mapping):
                raise ValueError(f"variants[{i}]: expected an object")
            names.append(str(v.get("name", f"arm {i}")))
            for f, values in cols.items():
                x = v.get(f)
                if x is None and f in ("n", "sum"):
                    raise ValueError(f"variants[{i}].{f}: missing")
                if x is not None and (isinstance(x, bool) or not isinstance(x, int | float)):
                    raise ValueError(f"variants[{i}].{f}: expected a number, got {x!r}")
                values.append(np.nan if x is None else float(x))
        return cls(
            metrics=(str(metric.get("name", name)),),
            arms=tuple(names),
            kinds=(cast(Kind, kind),),
            inverse=np.array([bool(metric.get("inverse", False))]),
            guardrail=np.array([bool(metric.get("guardrail", False))]),
            secondary=np.array([bool(metric.get("secondary", False))]),
            **{f: np.array([values]) for f, values in cols.items()},
        )


def _safe_div(num: Array, den: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return cast(Array, np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan))


def sample_variance(n: Array, s: Array, ss: Array) -> Array:
    """``(ss - s²/n) / (n - 1)``; 0 with fewer than two units."""
    return np.where(n > 1, _safe_div(ss - s * s / np.where(n > 0, n, 1.0), n - 1), 0.0)


def sample_covariance(n: Array, s1: Array, s2: Array, s12: Array) -> Array:
    """``(s12 - s1·s2/n) / (n - 1)``; 0 with fewer than two units."""
    return np.where(n > 1, _safe_div(s12 - s1 * s2 / np.where(n > 0, n, 1.0), n - 1), 0.0)


@dataclass(frozen=True, eq=False)
class Moments:
    """Per metric × arm: the metric's value (mean or ratio) and the unit-level variance of its estimate."""

    mean: Array
    variance: Array
    """Variance per unit: the estimate's variance is ``variance / n``."""


def moments(s: SufficientStats) -> Moments:
    """Means and unit variances per arm, all metric types at once (delta method for ratios)."""
    prop = s.is_kind("proportion")[:, None]
    ratio = s.is_kind("ratio")[:, None]
    mean = _safe_div(s.sum, s.n)
    var = np.where(prop, mean * (1 - mean), sample_variance(s.n, s.sum, s.sum_squares))
    if ratio.any():
        m, d = mean, _safe_div(s.denominator_sum, s.n)
        var_d = sample_variance(s.n, s.denominator_sum, s.denominator_sum_squares)
        cov = sample_covariance(s.n, s.sum, s.denominator_sum, s.cross_sum)
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = var / d**2 - 2 * cov * m / d**3 + m**2 * var_d / d**4
        var = np.where(ratio, np.where((d != 0) & (s.n > 1), delta, 0.0), var)
        mean = np.where(ratio, _safe_div(s.sum, s.denominator_sum), mean)
    return Moments(mean=mean, variance=var)
