"""Power: sample size, minimum detectable effect and run time of a planned test.

The test planned is the one the frequentist engine runs (two-sided, unpooled variances, normal
approximation). With ``σ₀², σ₁²`` the unit variances of control and treatment (``p(1 - p)`` for a
conversion rate), ``n_b = ratio · n_a``, and ``δ`` the absolute effect:

- absolute lift: ``se² = σ₀²/n_a + σ₁²/n_b``;
- relative lift ``l = δ / μ₀`` (the engine's headline test, delta method): ``se² = (σ₀²(1 + l)²/n_a +
  σ₁²/n_b)``, in absolute units — the uncertainty of the control mean in the denominator costs power;

then ``power = Φ(|δ|/se - z₁₋α/₂) + Φ(-|δ|/se - z₁₋α/₂)``, and the sample size is
``n_a = (z₁₋α/₂ + z_power)² (σ₀²(1 + l)² + σ₁²/ratio) / δ²`` (``l = 0`` for the absolute test).

With more than two arms, ``alpha`` is split over the comparisons with the control (Bonferroni), which
covers Holm as well. The sequential engine pays for its freedom to peek with larger samples: plan it with
this fixed-horizon size as a floor.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import ArrayLike
from scipy import special
from scipy.optimize.elementwise import find_root

from cxlab.display import number, pct
from cxlab.experiments.sufficient import Array

PowerKind = Literal["proportion", "mean"]


def _effective_variances(
    kind: PowerKind, base: Array, delta: Array, sd: Array | None, relative: bool
) -> tuple[Array, Array]:
    """Unit variances of control (scaled for the relative test) and treatment under effect ``delta``."""
    if kind == "proportion":
        p1 = base + delta
        if ((base <= 0) | (base >= 1)).any() or ((p1 <= 0) | (p1 >= 1)).any():
            raise ValueError(
                "a conversion rate and its rate under the effect must lie strictly between 0 and 1"
            )
        v0, v1 = base * (1 - base), p1 * (1 - p1)
    else:
        if sd is None or (np.asarray(sd) <= 0).any():
            raise ValueError("a mean metric needs its standard deviation (--sd), a positive number")
        v0 = v1 = sd**2 + 0 * base
    if relative:
        if (base == 0).any():
            raise ValueError("a relative effect needs a non-zero baseline")
        v0 = v0 * (1 + delta / base) ** 2
    return v0, v1


def _delta(baseline: Array, mde: Array, relative: bool) -> Array:
    return mde * baseline if relative else mde + 0 * baseline


def _alpha(alpha: float, arms: int, correct: bool) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    if arms < 2:
        raise ValueError(f"a test needs at least two arms, got {arms}")
    return alpha / (arms - 1) if correct else alpha


def power_at(
    n_per_arm: ArrayLike,
    baseline: ArrayLike,
    mde: ArrayLike,
    *,
    kind: PowerKind = "proportion",
    sd: ArrayLike | None = None,
    relative: bool = True,
    alpha: float = 0.05,
    arms: int = 2,
    ratio: float = 1.0,
    correct: bool = True,
) -> Array:
    """Probability of a significant result with ``n_per_arm`` control units (treatment: ``ratio`` times)."""
    n, base, eff = (np.asarray(x, dtype=float) for x in (n_per_arm, baseline, mde))
    sdev = None if sd is None else np.asarray(sd, dtype=float)
    delta = _delta(base, eff, relative)
    v0, v1 = _effective_variances(kind, base, delta, sdev, relative)
    z = special.ndtri(1 - _alpha(alpha, arms, correct) / 2)
    shift = np.abs(delta) / np.sqrt(v0 / n + v1 / (ratio * n))
    result: Array = special.ndtr(shift - z) + special.ndtr(-shift - z)
    return result


def sample_size_per_arm(
    baseline: ArrayLike,
    mde: ArrayLike,
    *,
    kind: PowerKind = "proportion",
    sd: ArrayLike | None = None,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    ratio: float = 1.0,
    correct: bool = True,
) -> Array:
    """Control units needed (real-valued; round up) to detect ``mde`` with probability ``power``."""
    if not 0 < power < 1:
        raise ValueError(f"power must lie between 0 and 1, got {power}")
    base, eff = np.asarray(baseline, dtype=float), np.asarray(mde, dtype=float)
    if (eff == 0).any():
        raise ValueError("the minimum detectable effect must not be zero")
    sdev = None if sd is None else np.asarray(sd, dtype=float)
    delta = _delta(base, eff, relative)
    v0, v1 = _effective_variances(kind, base, delta, sdev, relative)
    z = special.ndtri(1 - _alpha(alpha, arms, correct) / 2) + special.ndtri(power)
    result: Array = z**2 * (v0 + v1 / ratio) / delta**2
    return result


def minimum_detectable_effect(
    n_per_arm: ArrayLike,
    baseline: ArrayLike,
    *,
    kind: PowerKind = "proportion",
    sd: ArrayLike | None = None,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    ratio: float = 1.0,
    correct: bool = True,
) -> Array:
    """The smallest positive lift detected with probability ``power`` at ``n_per_arm`` control units."""
    n, base = np.asarray(n_per_arm, dtype=float), np.asarray(baseline, dtype=float)
    if (n <= 1).any():
        raise ValueError("n per arm must be more than 1")
    sdev = None if sd is None else np.asarray(sd, dtype=float)
    z = special.ndtri(1 - _alpha(alpha, arms, correct) / 2) + special.ndtri(power)
    _effective_variances(kind, base, 0 * base, sdev, relative)  # checks the inputs
    if kind == "proportion":
        hi = (1 - base) * (1 - 1e-12) + 0 * n
    else:
        v0, _ = _effective_variances(kind, base, 0 * base, sdev, False)
        hi = 20 * z * np.sqrt(v0 / n + v0 / (ratio * n)) + 0 * n
    sd_arg = np.zeros_like(hi) if sdev is None else sdev + 0 * hi

    def short(d: Array, b: Array, units: Array, sd_: Array) -> Array:
        """``z·se(δ) − δ``: positive while δ is too small to detect (the variances depend on δ)."""
        v0, v1 = _effective_variances(kind, b, d, sd_ if kind == "mean" else None, relative)
        return cast(Array, z * np.sqrt(v0 / units + v1 / (ratio * units)) - d)

    args = np.broadcast_arrays(base + 0 * hi, n + 0 * hi, sd_arg)
    res = find_root(short, (np.zeros_like(hi), hi), args=tuple(args))
    delta = np.where(res.success, res.x, hi)  # no root below hi: not detectable in range, as before
    result: Array = delta / base if relative else delta
    return result


def runtime_days(n_total: float, daily_units: float, share_in_test: float = 1.0) -> int:
    """Whole days until ``n_total`` units enter the test at ``daily_units`` eligible units a day."""
    if daily_units <= 0 or not 0 < share_in_test <= 1:
        raise ValueError("daily traffic must be positive and the share in the test between 0 and 1")
    return math.ceil(n_total / (daily_units * share_in_test))


@dataclass(frozen=True)
class PowerPlan:
    """A planned test: units per arm, the effect it can detect, and how long it runs."""

    kind: PowerKind
    baseline: float
    mde: float
    relative: bool
    alpha: float
    power: float
    arms: int
    ratio: float
    n_control: int
    n_treatment: int
    sd: float | None = None
    daily_units: float | None = None
    days: int | None = None
    method: str = "two-sided test, unpooled variances, normal approximation"

    @property
    def n_total(self) -> int:
        return self.n_control + (self.arms - 1) * self.n_treatment

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"n_total": self.n_total}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def summary(self) -> str:
        effect = f"{pct(self.mde, 2, signed=True)} relative" if self.relative else f"{self.mde:+.4g} absolute"
        base = (
            f"rate {pct(self.baseline, 2)}" if self.kind == "proportion" else f"mean {number(self.baseline)}"
        )
        lines = [
            f"Power plan ({self.method}); {self.kind} metric, baseline {base}"
            + (f", sd {self.sd:.4g}" if self.sd is not None else ""),
            f"  detects a {effect} lift with power {pct(self.power, 0)} at α = {self.alpha:g}"
            + (f" (Bonferroni over {self.arms - 1} comparisons)" if self.arms > 2 else ""),
            f"  n = {self.n_control:,} control + {self.n_treatment:,} per treatment arm × {self.arms - 1} "
            f"= {self.n_total:,} units",
        ]
        if self.days is not None:
            lines.append(f"  run time: {self.days} day(s) at {self.daily_units:,.0f} eligible units a day")
        return "\n".join(lines)

    def figure(self) -> go.Figure:
        """Power against sample size per arm, with the plan marked."""
        n = np.linspace(max(2, self.n_control * 0.1), self.n_control * 2.5, 120)
        pw = power_at(
            n,
            self.baseline,
            self.mde,
            kind=self.kind,
            sd=self.sd,
            relative=self.relative,
            alpha=self.alpha,
            arms=self.arms,
            ratio=self.ratio,
        )
        fig = go.Figure(go.Scatter(x=n, y=pw, mode="lines", name="power"))
        fig.add_hline(y=self.power, line_dash="dot")
        fig.add_vline(x=self.n_control, line_dash="dot")
        fig.update_layout(
            title="Power by sample size per arm",
            xaxis_title="control units",
            yaxis_title="power",
            yaxis_range=[0, 1],
        )
        return fig


def plan(
    baseline: float,
    *,
    mde: float | None = None,
    n_per_arm: float | None = None,
    kind: PowerKind = "proportion",
    sd: float | None = None,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    ratio: float = 1.0,
    daily_units: float | None = None,
) -> PowerPlan:
    """A :class:`PowerPlan` from either the effect to detect (→ sample size) or the sample size (→ MDE)."""
    if (mde is None) == (n_per_arm is None):
        raise ValueError("give exactly one of the minimum detectable effect and the sample size per arm")
    opts: dict[str, Any] = {
        "kind": kind,
        "sd": sd,
        "relative": relative,
        "alpha": alpha,
        "power": power,
        "arms": arms,
        "ratio": ratio,
    }
    if mde is not None:
        n_a = math.ceil(float(sample_size_per_arm(baseline, mde, **opts)))
    else:
        assert n_per_arm is not None
        n_a = math.ceil(n_per_arm)
        mde = float(minimum_detectable_effect(n_a, baseline, **opts))
    n_b = math.ceil(n_a * ratio)
    result = PowerPlan(kind, baseline, mde, relative, alpha, power, arms, ratio, n_a, n_b, sd, daily_units)
    if daily_units is not None:
        object.__setattr__(result, "days", runtime_days(result.n_total, daily_units))
    return result
