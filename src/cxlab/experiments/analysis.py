"""Analyse an experiment: every metric × arm at once, with the chosen engine, SRM check and corrections.

``analyze(stats, engine=...)`` is the one entry point; it returns an :class:`ExperimentResult` that states
the method, n, intervals and SRM status, and converts to a frame, a dict (the ``--json`` document) or a
figure. No loop runs per metric: every step is a numpy operation over the ``(metrics, arms)`` grid.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from cxlab import display
from cxlab.experiments.bayesian import GaussianPrior, Posterior, beta_binomial, gaussian
from cxlab.experiments.comparison import Comparison, compare
from cxlab.experiments.frequentist import Dist, Interval, welch
from cxlab.experiments.sequential import DEFAULT_TUNING, mixture_sprt
from cxlab.experiments.srm import SRM_THRESHOLD, SrmCheck, srm_check
from cxlab.experiments.sufficient import Array, SufficientStats
from cxlab.stats.multitest import adjust_pvalues

Engine = Literal["frequentist", "bayesian", "sequential"]
ENGINES: tuple[Engine, ...] = ("frequentist", "bayesian", "sequential")
Correction = Literal["none", "holm", "bh"]
"""Over goal metrics × arms: none, Holm (family-wise error) or Benjamini–Hochberg (false discovery rate)."""
CORRECTIONS: tuple[Correction, ...] = ("none", "holm", "bh")


def _method(engine: Engine, dist: Dist, exact: bool, prior: GaussianPrior, tuning: float) -> str:
    if engine == "frequentist":
        test = "Welch t-test" if dist == "t" else "z-test (unpooled variance)"
        return f"frequentist: {test}, two-sided; relative lift by the delta method"
    if engine == "sequential":
        return (
            "sequential: mixture SPRT, always-valid p-values and confidence sequences "
            f"(tuned for {tuning:,.0f} units); relative lift by the delta method"
        )
    proper = np.any(np.asarray(prior.proper, dtype=bool))
    prior_text = (
        f"normal prior on the relative lift (mean {np.asarray(prior.mean).mean():g}, sd "
        f"{np.asarray(prior.sd).mean():g})"
        if proper
        else "flat prior"
    )
    exact_text = "; exact beta-binomial (uniform prior) for proportions" if exact else ""
    return f"bayesian: Gaussian approximation, {prior_text}{exact_text}"


def _with_control(x: Array, fill: Any = np.nan) -> np.ndarray:
    """``(M, K-1)`` comparison values → ``(M, K)`` with ``fill`` in the control column, flattened."""
    col = np.full((x.shape[0], 1), fill, dtype=x.dtype if x.dtype != object else object)
    return np.concatenate([col, x], axis=1).ravel()


@dataclass(frozen=True)
class ExperimentResult:
    """The analysis of one experiment: a row per metric × arm (control rows carry n and mean only)."""

    table: pd.DataFrame
    engine: Engine
    alpha: float
    arms: tuple[str, ...]
    srm: SrmCheck
    method: str
    correction: Correction
    experiment_id: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    period: tuple[datetime, datetime] | None = None
    """First and last exposure, when the statistics come from a store."""

    @property
    def control(self) -> str:
        return self.arms[0]

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(self.table["metric"]))

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def row(self, metric: str, arm: str) -> pd.Series:
        t = self.table
        hit = t[(t["metric"] == metric) & (t["arm"] == arm)]
        if hit.empty:
            raise KeyError(f"no result for metric {metric!r} and arm {arm!r}")
        return hit.iloc[0]

    def variants(self, metric: str) -> list[dict[str, Any]]:
        """The per-arm records of one metric in the ``--json`` contract shape."""
        t = self.table[self.table["metric"] == metric]
        out: list[dict[str, Any]] = []
        for r in t.to_dict(orient="records"):
            v: dict[str, Any] = {"name": r["arm"], "n": int(r["n"]), "mean": _num(r["mean"])}
            if r["is_control"]:  # the same keys, empty: nothing to compare the control with
                v |= dict.fromkeys(("lift_relative", "lift_absolute", "ci_relative", "ci_absolute"))
                keys = ("chance_to_win", "risk") if self.engine == "bayesian" else ("p_value",)
                v |= dict.fromkeys(keys) | {"status": "control"}
            else:
                v |= {
                    "lift_relative": _num(r["lift_relative"]),
                    "lift_absolute": _num(r["lift_absolute"]),
                    "ci_relative": [_num(r["ci_relative_low"]), _num(r["ci_relative_high"])],
                    "ci_absolute": [_num(r["ci_absolute_low"]), _num(r["ci_absolute_high"])],
                }
                if self.engine == "bayesian":
                    v |= {
                        "chance_to_win": _num(r["chance_to_win"]),
                        "risk": _num(r["risk"]),
                        "risk_control": _num(r["risk_control"]),
                    }
                else:
                    v |= {
                        "p_value": _num(r["p_value"]),
                        "p_value_absolute": _num(r["p_value_absolute"]),
                        "p_value_adjusted": _num(r["p_value_adjusted"]),
                    }
                if r["cuped_theta"] != 0 and not pd.isna(r["cuped_theta"]):
                    v["cuped_theta"] = _num(r["cuped_theta"])
                v["status"] = r["status"]
                if r["error"]:
                    v["error"] = r["error"]
            out.append(v)
        return out

    def to_contract(self, metric: str | None = None) -> dict[str, Any]:
        """The ``experiment analyze --stats … --json`` document for one metric."""
        name = metric or self.metrics[0]
        first = self.table[self.table["metric"] == name].iloc[0]
        return {
            "engine": self.engine,
            "srm_p_value": _num(self.srm.p_value),
            "srm_mismatch": self.srm.mismatch,
            "alpha": self.alpha,
            "method": self.method,
            "metric": {"name": name, "type": first["type"]},
            "variants": self.variants(name),
        }

    def to_dict(self) -> dict[str, Any]:
        metrics = []
        for name in self.metrics:
            first = self.table[self.table["metric"] == name].iloc[0]
            metrics.append(
                {
                    "name": name,
                    "type": first["type"],
                    "guardrail": bool(first["guardrail"]),
                    "inverse": bool(first["inverse"]),
                    "variants": self.variants(name),
                }
            )
        return {
            "experiment_id": self.experiment_id,
            "engine": self.engine,
            "method": self.method,
            "alpha": self.alpha,
            "correction": self.correction,
            "control": self.control,
            "period": [p.isoformat() for p in self.period] if self.period else None,
            "srm_p_value": _num(self.srm.p_value),
            "srm_mismatch": self.srm.mismatch,
            "srm": {
                "observed": [int(x) for x in self.srm.observed],
                "expected": [float(x) for x in self.srm.expected],
                "message": self.srm.message(self.arms),
            },
            "metrics": metrics,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """A statsmodels-style text block: method, n, intervals, SRM status, per metric and arm."""
        level = f"{1 - self.alpha:.0%}"
        head = f"Experiment {self.experiment_id}" if self.experiment_id else "Experiment"
        if not self.srm.applies:
            head = "Before/after comparison"
        when = f", exposures {self.period[0]:%Y-%m-%d} to {self.period[1]:%Y-%m-%d}" if self.period else ""
        lines = [
            f"{head}: {len(self.metrics)} metric(s), arms {', '.join(self.arms)} (control: {self.control}){when}",
            f"Method: {self.method}; α = {self.alpha:g}"
            + (
                f"; {self.correction} correction over goal metrics × arms"
                if self.correction != "none"
                else ""
            ),
            self.srm.message(self.arms),
        ]
        bayes = self.engine == "bayesian"
        w = min(40, max(8, *(len(str(m)) for m in self.metrics))) + 2
        cols = f"{'metric':<{w}}{'arm':<14}{'n':>9}{'mean':>12}{'lift':>10}  {level + ' interval':<22}"
        cols += f"{'P(win)':>8}{'risk':>9}" if bayes else f"{'p':>9}{'p adj':>9}"
        lines += ["", cols + "  status", "-" * (len(cols) + 8)]
        for r in self.table.to_dict(orient="records"):
            name = str(r["metric"])[: w - 2]
            base = f"{name:<{w}}{str(r['arm'])[:13]:<14}{int(r['n']):>9,}{display.number(r['mean']):>12}"
            if r["is_control"]:
                lines.append(base + f"{'control':>10}")
                continue
            ci = f"[{_lift(r['ci_relative_low'])}, {_lift(r['ci_relative_high'])}]"
            extra = (
                f"{display.pct(r['chance_to_win']):>8}{_lift(r['risk']):>9}"
                if bayes
                else f"{display.p_value(r['p_value']):>9}{display.p_value(r['p_value_adjusted']):>9}"
            )
            status = r["status"] if r["role"] == "goal" else f"{r['role']}: {r['status']}"
            lines.append(base + f"{_lift(r['lift_relative']):>10}  {ci:<22}{extra}  {status}")
            if r["error"]:
                lines.append(f"    ! {r['error']}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def figure(self) -> go.Figure:
        """Relative lift of each treatment arm on each metric, with its interval (a forest plot)."""
        t = self.table[~self.table["is_control"]].iloc[::-1]
        labels = [html.escape(f"{m} · {a}") for m, a in zip(t["metric"], t["arm"], strict=True)]
        colours = {"win": "#1a7f37", "loss": "#cf222e", "fail": "#cf222e", "warn": "#bf8700"}
        fig = go.Figure(
            go.Scatter(
                x=t["lift_relative"] * 100,
                y=labels,
                mode="markers",
                marker={"size": 9, "color": [colours.get(s, "#57606a") for s in t["status"]]},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (t["ci_relative_high"] - t["lift_relative"]) * 100,
                    "arrayminus": (t["lift_relative"] - t["ci_relative_low"]) * 100,
                },
                hovertemplate="%{y}: %{x:.2f}%<extra></extra>",
            )
        )
        fig.add_vline(x=0, line_dash="dot")
        fig.update_layout(
            title=f"Relative lift vs {html.escape(self.control)} ({1 - self.alpha:.0%} {self.engine} interval)",
            xaxis_title="% change vs control",
            height=140 + 30 * len(t),
            margin={"l": 220, "r": 30, "t": 50, "b": 40},
        )
        return fig


def _lift(x: Any) -> str:
    """A relative lift (or risk, in lift units) in the summary table: ``+12.34%``."""
    return display.pct(x, 2, signed=True)


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _engine_results(
    s: SufficientStats,
    c: Comparison,
    engine: Engine,
    alpha: float,
    dist: Dist,
    prior: GaussianPrior,
    exact: bool,
    tuning: float,
) -> tuple[Interval | Posterior, Interval | Posterior, list[str]]:
    notes: list[str] = []
    if engine == "frequentist":
        return (
            welch(c, relative=True, alpha=alpha, dist=dist),
            welch(c, relative=False, alpha=alpha, dist=dist),
            [],
        )
    if engine == "sequential":
        return (
            mixture_sprt(c, relative=True, alpha=alpha, tuning=tuning),
            mixture_sprt(c, relative=False, alpha=alpha, tuning=tuning),
            [],
        )
    inverse = s.inverse
    rel = gaussian(c, relative=True, alpha=alpha, prior=prior, inverse=inverse)
    ab = gaussian(c, relative=False, alpha=alpha, prior=prior, inverse=inverse)
    if exact:
        prop = s.is_kind("proportion")
        if prop.any():
            k = s.shape[1]
            args = (s.sum[prop, :1], s.n[prop, :1], s.sum[prop, 1:], s.n[prop, 1:])
            inv = np.repeat(inverse[prop, None], k - 1, axis=1)
            ex_rel = beta_binomial(*args, alpha=alpha, relative=True, inverse=inv)
            ex_abs = beta_binomial(*args, alpha=alpha, relative=False, inverse=inv)
            for target, src in ((rel, ex_rel), (ab, ex_abs)):
                for name in Posterior.__dataclass_fields__:
                    getattr(target, name)[prop] = getattr(src, name)
            if s.has_covariate[prop].any():
                notes.append("exact beta-binomial ignores the CUPED covariate of proportion metrics")
        if not prop.all():
            notes.append("exact beta-binomial applies to proportions only; other metrics use the Gaussian")
    return rel, ab, notes


def analyze(
    stats: SufficientStats,
    *,
    engine: Engine = "frequentist",
    alpha: float = 0.05,
    correction: Correction = "holm",
    cuped: bool = True,
    dist: Dist = "t",
    prior: GaussianPrior | None = None,
    exact: bool = False,
    tuning: float = DEFAULT_TUNING,
    weights: ArrayLike | None = None,
    units: ArrayLike | None = None,
    srm_threshold: float = SRM_THRESHOLD,
    randomised: bool = True,
    experiment_id: str | None = None,
) -> ExperimentResult:
    """Analyse every metric × treatment arm of ``stats`` against the control (its first arm).

    ``weights`` is the planned split (default equal) and ``units`` the units per arm for the SRM check
    (default: the first metric's n); ``randomised=False`` (a before/after comparison) skips it.

    The correction runs over goal metrics (not guardrails, not secondary) × arms for the frequentist and
    sequential engines, on the absolute difference's p-values when the family has more than one member
    (see the comment in the code). A goal metric 'wins' or 'loses' when its adjusted p-value (for the
    Bayesian engine: its chance to win) clears ``alpha`` two-sided; a guardrail 'fails' when it gets
    significantly worse (uncorrected, so harm is caught early) and 'warns' when it merely points that way.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    prior = prior or GaussianPrior()
    m, k = stats.shape
    c = compare(stats, cuped=cuped)
    rel, ab, notes = _engine_results(stats, c, engine, alpha, dist, prior, exact, tuning)

    problems = c.problems()
    dead = (problems != "") & (problems != "control mean is zero: no relative lift")
    no_rel = problems != ""
    bayes = isinstance(rel, Posterior)
    lift_rel = rel.mean if isinstance(rel, Posterior) else rel.estimate
    lift_abs = ab.mean if isinstance(ab, Posterior) else ab.estimate

    def blank(x: Array, mask: np.ndarray) -> Array:
        return np.where(mask, np.nan, x)

    goal = (~stats.guardrail & ~stats.secondary)[:, None] & np.ones((m, k - 1), dtype=bool)
    guard = stats.guardrail[:, None] & np.ones((m, k - 1), dtype=bool)
    direction = np.sign(lift_abs) * np.where(stats.inverse[:, None], -1, 1)  # +1: better, -1: worse
    if isinstance(rel, Posterior):
        p_value = p_adj = p_abs = np.full((m, k - 1), np.nan)
        win = blank(rel.chance_to_win, no_rel)
        better, worse = win > 1 - alpha / 2, win < alpha / 2
    else:
        assert isinstance(ab, Interval)
        p_abs = blank(ab.p_value, dead)
        p_value = np.where(no_rel, p_abs, rel.p_value)
        win = np.full((m, k - 1), np.nan)
        p_adj = p_value.copy()  # secondary metrics and guardrails: uncorrected
        if goal.sum() > 1 and correction != "none":
            # corrections act in the far tail, where the delta-method relative p-value is anti-conservative
            # (its two tails are unequal); the absolute difference's p-value tests the same null, accurately
            p_adj[goal] = adjust_pvalues(p_abs[goal], correction)
        better, worse = (p_adj < alpha) & (direction > 0), (p_adj < alpha) & (direction < 0)
    labels = ("win", "loss", "inconclusive") if randomised else ("better", "worse", "no clear change")
    status = np.where(better, labels[0], np.where(worse, labels[1], labels[2])).astype(object)
    status = np.where(guard, np.where(worse, "fail", np.where(direction < 0, "warn", "ok")), status)
    status = np.where(dead, "error", status)

    k_arms = np.tile(np.array(stats.arms, dtype=object), m)
    table = pd.DataFrame(
        {
            "metric": np.repeat(np.array(stats.metrics, dtype=object), k),
            "type": np.repeat(np.array(stats.kinds, dtype=object), k),
            "arm": k_arms,
            "is_control": np.tile(np.arange(k) == 0, m),
            "n": stats.n.ravel().astype(np.int64),
            "mean": np.concatenate([c.raw_mean_a[:, :1], c.raw_mean_b], axis=1).ravel(),
            "lift_absolute": _with_control(blank(lift_abs, dead)),
            "ci_absolute_low": _with_control(blank(ab.low, dead)),
            "ci_absolute_high": _with_control(blank(ab.high, dead)),
            "lift_relative": _with_control(blank(lift_rel, no_rel)),
            "ci_relative_low": _with_control(blank(rel.low, no_rel)),
            "ci_relative_high": _with_control(blank(rel.high, no_rel)),
            "se_relative": _with_control(blank(rel.sd if isinstance(rel, Posterior) else rel.se, no_rel)),
            "p_value": _with_control(p_value),
            "p_value_adjusted": _with_control(p_adj),
            "p_value_absolute": _with_control(p_abs),
            "chance_to_win": _with_control(win),
            "risk": _with_control(blank(rel.risk, no_rel) if isinstance(rel, Posterior) else win),
            "risk_control": _with_control(
                blank(rel.risk_control, no_rel) if isinstance(rel, Posterior) else win
            ),
            "cuped_theta": _with_control(c.theta),
            "role": np.repeat(stats.roles, k),
            "guardrail": np.repeat(stats.guardrail, k),
            "inverse": np.repeat(stats.inverse, k),
            "status": _with_control(status.astype(object), fill="control"),
            "error": _with_control(problems, fill=""),
        }
    )
    units_per_arm = stats.n[0] if units is None else np.asarray(units, dtype=float)
    srm = srm_check(units_per_arm, weights, srm_threshold, applies=randomised)
    if cuped and stats.has_covariate.any():
        notes.append("CUPED: pre-period covariate, θ pooled over control and each arm")
    method = _method(engine, dist, exact, prior, tuning)
    return ExperimentResult(
        table=table,
        engine=engine,
        alpha=alpha,
        arms=stats.arms,
        srm=srm,
        method=method,
        correction=correction if not bayes else "none",
        experiment_id=experiment_id,
        notes=tuple(notes),
    )
