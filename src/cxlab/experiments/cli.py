"""``cxlab experiment …`` and ``cxlab changes …``: thin Typer shells over :mod:`cxlab.experiments`.

Mounted by the main CLI as ``app.add_typer(experiment_app, name="experiment")`` and
``app.add_typer(changes_app, name="changes")``. Conventions are :mod:`cxlab.clitools`'s: rich tables by
default, one JSON document with ``--json``, exit 0 / 1 (analysis failed) / 2 (bad input, one line).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    FigureOpt,
    FitTable,
    JsonOpt,
    WideOpt,
    console,
    emit_json,
    err,
    errors_as_exit,
    fail,
    show_table,
    write_figure,
)
from cxlab.display import count, day
from cxlab.experiments.analysis import CORRECTIONS, ENGINES, ExperimentResult, analyze
from cxlab.experiments.bayesian import GaussianPrior
from cxlab.experiments.sufficient import SufficientStats

experiment_app = typer.Typer(
    help="A/B tests: analyse (frequentist, Bayesian, sequential; CUPED, SRM), plan sample sizes.",
    no_args_is_help=True,
)
changes_app = typer.Typer(
    help="The change log: record changes and see the measured effect of each.", no_args_is_help=True
)

EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine", help="frequentist (Welch), bayesian (Gaussian; --exact: beta-binomial), sequential."
    ),
]
AlphaOpt = Annotated[float, typer.Option("--alpha", help="Significance level; intervals are 1 - alpha.")]


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        fail(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _weights(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        w = [float(x) for x in text.split(",")]
    except ValueError:
        fail(f"--weights: expected numbers separated by commas such as 50,50, got {text!r}")
    if any(x < 0 for x in w) or sum(w) <= 0:
        fail("--weights: expected non-negative numbers with a positive sum")
    return w


def _report(result: ExperimentResult, doc: dict[str, Any], json_: bool) -> None:
    if result.srm.mismatch:
        err.print(f"[bold red]WARNING: {escape(result.srm.message(result.arms))}[/]", soft_wrap=True)
    if json_:
        emit_json(doc)
    else:
        console.print(escape(result.summary()), soft_wrap=True)


def _read_stats(path: Path) -> SufficientStats:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise FileNotFoundError(f"{path}: cannot read: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON: {e}") from e
    try:
        return SufficientStats.from_json(doc)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from e


STATS_EXAMPLE = """{
  "metric": {"name": "purchase", "type": "proportion"},
  "variants": [
    {"name": "control", "n": 5000, "sum": 610},
    {"name": "new_checkout", "n": 5010, "sum": 668}
  ]
}"""
"""A ``--stats`` file: one metric, the control first (documented in ``--help`` and the README)."""

STATS_FORMAT = f"""[bold]--stats FILE.json[/]: the sufficient statistics of one metric, the control arm first:

{escape(STATS_EXAMPLE)}

Per arm: [bold]n[/] (units), [bold]sum[/] (conversions, or the metric summed over units) and \
[bold]sum_squares[/] (the squares summed; optional for a proportion). metric.type is proportion, mean or \
ratio; a ratio also needs denominator_sum, denominator_sum_squares and cross_sum (numerator × denominator \
summed); CUPED needs covariate_sum, covariate_sum_squares and covariate_cross_sum. Optional in metric: \
"inverse": true (lower is better), "guardrail": true, "secondary": true."""


@experiment_app.command("analyze", epilog=STATS_FORMAT)
def analyze_cmd(
    experiment_id: Annotated[str | None, typer.Argument(help="Experiment in the store's exposures.")] = None,
    stats: Annotated[
        Path | None, typer.Option("--stats", help="Analyse sufficient statistics from a JSON file instead.")
    ] = None,
    engine: EngineOpt = "frequentist",
    alpha: AlphaOpt = 0.05,
    correction: Annotated[
        str,
        typer.Option("--correction", help="Over goal metrics × arms: holm, bh (Benjamini–Hochberg), none."),
    ] = "holm",
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Metric from cxlab.toml to analyse (repeatable).")
    ] = None,
    goal: Annotated[
        list[str] | None,
        typer.Option("--goal", help="Goal metric (repeatable); default: the changed touchpoint's."),
    ] = None,
    control: Annotated[str | None, typer.Option("--control", help="The control arm (store).")] = None,
    cuped: Annotated[
        bool, typer.Option("--cuped/--no-cuped", help="Use pre-period covariates (CUPED).")
    ] = True,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="Planned split for the SRM check, e.g. 50,50 (default equal)."),
    ] = None,
    prior_mean: Annotated[
        float | None, typer.Option("--prior-mean", help="Bayesian: prior mean of the relative lift.")
    ] = None,
    prior_sd: Annotated[
        float | None, typer.Option("--prior-sd", help="Bayesian: prior sd of the relative lift.")
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="Bayesian: exact beta-binomial for proportions (small tests).")
    ] = False,
    tuning: Annotated[
        float,
        typer.Option("--tuning", help="Sequential: units at which the confidence sequence is tightest."),
    ] = 5000.0,
    dist: Annotated[
        str, typer.Option("--dist", help="Frequentist reference distribution: t (Welch) or z.")
    ] = "t",
    figure: FigureOpt = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Analyse an experiment from the store, or sufficient statistics given with --stats FILE.json."""
    _check_choice("--engine", engine, ENGINES)
    _check_choice("--correction", correction, CORRECTIONS)
    _check_choice("--dist", dist, ("t", "z"))
    if (experiment_id is None) == (stats is None):
        fail("give either an EXPERIMENT_ID (from the store) or --stats FILE.json")
    if prior_sd is not None and prior_sd <= 0:
        fail("--prior-sd must be positive")
    prior = (
        GaussianPrior(mean=prior_mean or 0.0, sd=prior_sd or 0.3, proper=True)
        if prior_mean is not None or prior_sd is not None
        else GaussianPrior()
    )
    options: dict[str, Any] = {
        "engine": engine,
        "alpha": alpha,
        "correction": correction,
        "dist": dist,
        "prior": prior,
        "exact": exact,
        "tuning": tuning,
        "weights": _weights(weights),
    }
    with errors_as_exit():
        if not 0 < alpha < 1:
            raise ValueError(f"--alpha must lie between 0 and 1, got {alpha}")
        if stats is not None:
            result = analyze(_read_stats(stats), cuped=cuped, **options)
            doc = result.to_contract()
        else:
            assert experiment_id is not None
            from cxlab.automate.flows import flow_split
            from cxlab.experiments.definitions import metrics_from_config
            from cxlab.experiments.experiment import analyze_experiment
            from cxlab.store import open_store

            with open_store(db) as store:
                result = analyze_experiment(
                    store.ibis(),
                    experiment_id,
                    metrics_from_config(store.config),
                    names=metric or None,
                    goals=goal or None,
                    control=control,
                    cuped=cuped,
                    config=store.config,
                    split=flow_split(store.config, store.project_dir, experiment_id),
                    **options,
                )
            doc = result.to_dict()
        if figure is not None:
            write_figure(result.figure(), figure)
    _report(result, doc, json_)


@experiment_app.command("list")
def list_cmd(db: DbOpt = DEFAULT_DB, json_: JsonOpt = False, wide: WideOpt = False) -> None:
    """Experiments in the store: units per arm, first and last exposure."""
    from cxlab.experiments.experiment import list_experiments
    from cxlab.store import open_store

    with errors_as_exit(), open_store(db) as store:
        df = list_experiments(store.ibis())
    if json_:
        emit_json({"experiments": df.to_dict(orient="records")})
        return
    t = FitTable("experiments", keep=2)
    t.ident("experiment")
    t.text("arm")
    t.number("units", essential=True)
    t.text("first exposure")
    t.text("last exposure")
    for r in df.itertuples(index=False):
        t.add_row(
            escape(str(r.experiment_id)),
            escape(str(r.variant)),
            count(r.units),
            day(r.first_exposure),
            day(r.last_exposure),
        )
    show_table(t, wide)


@experiment_app.command("power")
def power_cmd(
    baseline: Annotated[float, typer.Option("--baseline", help="Control conversion rate (0-1) or mean.")],
    mde: Annotated[
        float | None, typer.Option("--mde", help="Minimum detectable effect (relative unless --absolute).")
    ] = None,
    n: Annotated[
        float | None, typer.Option("--n", help="Units per arm: gives the detectable effect instead.")
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="proportion or mean.")] = "proportion",
    sd: Annotated[
        float | None, typer.Option("--sd", help="Standard deviation per unit (mean metrics).")
    ] = None,
    absolute: Annotated[bool, typer.Option("--absolute", help="--mde is an absolute difference.")] = False,
    alpha: AlphaOpt = 0.05,
    power: Annotated[float, typer.Option("--power", help="Chance to detect the effect.")] = 0.8,
    arms: Annotated[int, typer.Option("--arms", help="Arms including the control.")] = 2,
    ratio: Annotated[
        float, typer.Option("--ratio", help="Units per treatment arm / units in the control.")
    ] = 1.0,
    daily_traffic: Annotated[
        float | None, typer.Option("--daily-traffic", help="Eligible units a day, for the run time.")
    ] = None,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Sample size (from --mde) or detectable effect (from --n) of a test, and its run time from traffic."""
    from cxlab.experiments.power import plan

    _check_choice("--kind", kind, ("proportion", "mean"))
    if (mde is None) == (n is None):
        fail("give exactly one of --mde (to get the sample size) and --n (to get the detectable effect)")
    with errors_as_exit():
        result = plan(
            baseline,
            mde=mde,
            n_per_arm=n,
            kind="mean" if kind == "mean" else "proportion",
            sd=sd,
            relative=not absolute,
            alpha=alpha,
            power=power,
            arms=arms,
            ratio=ratio,
            daily_units=daily_traffic,
        )
        if figure is not None:
            write_figure(result.figure(), figure)
    if json_:
        emit_json(result.to_dict())
    else:
        console.print(escape(result.summary()), soft_wrap=True)


def _parse_when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--date: expected an ISO date or time such as 2025-03-03 or 2025-03-03T09:00, got {text!r}")


@changes_app.command("add")
def changes_add(
    touchpoint: Annotated[str, typer.Option("--touchpoint", help="The touchpoint changed (see cxlab.toml).")],
    description: Annotated[str, typer.Option("--description", help="What changed, in a sentence.")],
    date: Annotated[
        str | None, typer.Option("--date", help="When (ISO, UTC unless an offset); default now.")
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="The experiment that tests the change.")
    ] = None,
    change_id: Annotated[
        str | None, typer.Option("--id", help="Change id (default: the next CHnnn).")
    ] = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Record a change to the experience."""
    from cxlab.experiments.changelog import add_change
    from cxlab.store import Store

    when = _parse_when(date)
    with errors_as_exit(), Store(db) as store:
        known = store.config.journey.touchpoints
        if touchpoint not in known:
            err.print(
                f"warning: touchpoint {escape(touchpoint)!r} is not in cxlab.toml [journey.touchpoints]"
            )
        row = add_change(
            store, touchpoint, description, ts=when, experiment_id=experiment, change_id=change_id
        )
    row = row | {"ts": row["ts"].isoformat()}
    if json_:
        emit_json(row)
    else:
        console.print(f"recorded {escape(row['change_id'])} at {escape(row['ts'])}: {escape(description)}")


WindowOpt = Annotated[int, typer.Option("--window", help="Days either side of a change for before/after.")]


@changes_app.command("list")
def changes_list(
    window: WindowOpt = 28, db: DbOpt = DEFAULT_DB, json_: JsonOpt = False, wide: WideOpt = False
) -> None:
    """The change log, with changes that overlap on the same touchpoint flagged."""
    from cxlab.experiments.changelog import change_log
    from cxlab.store import open_store

    with errors_as_exit(), open_store(db) as store:
        log = change_log(store.ibis(), window)
    if json_:
        emit_json(log.to_dict())
        return
    t = FitTable("change log")
    t.ident("id")
    t.text("date")
    t.text("touchpoint")
    t.text("description", essential=True)
    t.text("experiment")
    t.text("overlaps", essential=True)
    for r in log.table.to_dict(orient="records"):
        overlaps: list[str] = r["overlaps"]
        t.add_row(
            escape(str(r["change_id"])),
            day(r["ts"]),
            escape(str(r["touchpoint"])),
            escape(str(r["description"])),
            escape(str(r["experiment_id"] or "")),
            "[bold red]" + escape(", ".join(overlaps)) + "[/]" if overlaps else "",
        )
    show_table(t, wide)
    console.print(escape(log.summary()))


@changes_app.command("impact")
def changes_impact(
    change_id: Annotated[str | None, typer.Argument(help="The change (default: every change).")] = None,
    window: WindowOpt = 28,
    engine: EngineOpt = "frequentist",
    alpha: AlphaOpt = 0.05,
    figure: FigureOpt = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """The measured effect of each change: its experiment, else before/after with a non-causal warning."""
    from cxlab.experiments.changelog import change_impact, change_impacts
    from cxlab.experiments.definitions import metrics_from_config
    from cxlab.store import open_store

    _check_choice("--engine", engine, ENGINES)
    with errors_as_exit(), open_store(db) as store:
        metrics = metrics_from_config(store.config)
        con = store.ibis()
        if change_id is not None:
            impacts = [
                change_impact(
                    con,
                    change_id,
                    metrics,
                    window_days=window,
                    config=store.config,
                    engine=engine,
                    alpha=alpha,
                )
            ]
        else:
            impacts = change_impacts(
                con, metrics, window_days=window, config=store.config, engine=engine, alpha=alpha
            )
        if impacts and figure is not None:
            write_figure(impacts[0].figure(), figure)
    if json_:
        emit_json({"changes": [i.to_dict() for i in impacts]})
        return
    for i in impacts:
        console.print(escape(i.summary()), soft_wrap=True)
        console.print()
    if not impacts:
        console.print("the change log is empty (add changes with `cxlab changes add`)")
