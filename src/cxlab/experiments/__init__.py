"""Experiments: a vectorised stats engine on sufficient statistics, power, SRM, and the change log.

``analyze(SufficientStats, engine=...)`` runs every metric × arm at once: frequentist (Welch / z),
Bayesian (Gaussian approximation with optional informative priors; exact beta-binomial for small
conversion tests), or sequential (mixture SPRT: always-valid p-values and confidence sequences), with CUPED,
an SRM check, Holm / Benjamini–Hochberg corrections and guardrails. ``analyze_experiment`` builds the
statistics from the store's ``exposures`` with the ``[metrics.*]`` of ``cxlab.toml`` in one Ibis query;
``plan`` sizes a test; ``change_log`` / ``change_impact`` tie every change to its measured effect.

Where the methods coincide, results equal GrowthBook's ``gbstats`` 0.8 to 1e-6 (tests/experiments).
Intended differences:

- A comparison that can't be analysed (control mean zero, zero variance, fewer than two units) gives NaN
  and an ``error`` message; gbstats returns lift 0, CI [0, 0], p = 1 (or chance to win 0.5).
- Ratio metrics: numerator and denominator always get ``n - 1`` sample variances (gbstats' ``count``
  type); gbstats would use ``p(1 - p)`` for a binomial numerator.
- CUPED covariate of a proportion metric: Bernoulli variance when the covariate is binary, else the
  sample variance (gbstats takes the covariate's type from the metric settings).
- Multiple-testing corrections (gbstats has none) adjust the absolute difference's p-values: the
  delta-method relative p-value, which ``p_value`` reports as gbstats does, has unequal tails and is
  anti-conservative at Bonferroni-sized levels (see tests/experiments/test_exp_simulation.py).
- Bayesian decisions: 'win' / 'loss' when the chance to win is above ``1 - alpha/2`` or below ``alpha/2``
  (the credible interval excludes 0); GrowthBook's UI defaults to 95% / 5%.
- Exact beta-binomial, power, SRM alarm wording, guardrail statuses and the change log have no gbstats
  counterpart.
"""

from cxlab.experiments.analysis import ENGINES, Engine, ExperimentResult, analyze
from cxlab.experiments.bayesian import GaussianPrior, beta_binomial
from cxlab.experiments.changelog import (
    ChangeImpact,
    ChangeLog,
    add_change,
    change_impact,
    change_impacts,
    change_log,
)
from cxlab.experiments.definitions import MetricDef, default_metrics, metrics_from_config, parse_metrics
from cxlab.experiments.experiment import analyze_experiment, list_experiments
from cxlab.experiments.metrics import experiment_stats
from cxlab.experiments.power import PowerPlan, minimum_detectable_effect, plan, power_at, sample_size_per_arm
from cxlab.experiments.srm import srm_check
from cxlab.experiments.sufficient import SufficientStats

__all__ = [
    "ENGINES",
    "ChangeImpact",
    "ChangeLog",
    "Engine",
    "ExperimentResult",
    "GaussianPrior",
    "MetricDef",
    "PowerPlan",
    "SufficientStats",
    "add_change",
    "analyze",
    "analyze_experiment",
    "beta_binomial",
    "change_impact",
    "change_impacts",
    "change_log",
    "default_metrics",
    "experiment_stats",
    "list_experiments",
    "metrics_from_config",
    "minimum_detectable_effect",
    "parse_metrics",
    "plan",
    "power_at",
    "sample_size_per_arm",
    "srm_check",
]
