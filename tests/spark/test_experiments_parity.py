"""Experiments on Spark: the engine computes each experiment's sufficient statistics, the analyses (frequentist,
Bayesian, sequential; CUPED, SRM) run in process on them, and every result equals the DuckDB store's; so do
``cxlab experiment …`` and ``cxlab changes …`` over ``spark://local[2]?tables=DIR``."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from cxlab.automate.flows import flow_split
from cxlab.cli import app
from cxlab.experiments import ENGINES, analyze, change_log, experiment_stats, list_experiments
from cxlab.experiments.definitions import metrics_from_config
from cxlab.experiments.experiment import analyze_experiment
from tests.spark.conftest import Lake
from tests.spark.parity import same

CHANGED = "shipping_email_festive"
"""The demo's experiment that the change log ties to a touchpoint (goal metrics chosen from it)."""
FLOW = "flow:abandoned_cart"
"""A flow's 10% holdout: a planned split the SRM check must use."""


def test_experiments_same_on_spark(lake: Lake, duck: Any, spark: Any, subtests: pytest.Subtests) -> None:
    d, s = duck.ibis(), spark.ibis()
    metrics = metrics_from_config(duck.config)
    assert metrics == metrics_from_config(spark.config)  # the lake carries the store's cxlab.toml

    with subtests.test("list"):
        listed = list_experiments(d)
        same(listed, list_experiments(s))
        assert {CHANGED, FLOW} <= set(listed["experiment_id"])

    for eid in (CHANGED, FLOW):
        with subtests.test("sufficient statistics and every analysis", experiment=eid):
            a = experiment_stats(d, eid, metrics, config=duck.config)
            b = experiment_stats(s, eid, metrics, config=spark.config)
            same(dataclasses.asdict(a.stats), dataclasses.asdict(b.stats), eid)
            same(
                [a.first_exposure, a.last_exposure, *a.currency_notes],
                [b.first_exposure, b.last_exposure, *b.currency_notes],
            )
            assert (a.stats.n > 0).all()
            assert eid != CHANGED or (a.stats.covariate_sum > 0).any()  # CUPED has covariates to use
            split = flow_split(duck.config, duck.path.parent, eid)
            weights = None if split is None else [split.get(arm, 0.0) for arm in a.stats.arms]
            for engine in ENGINES:
                for cuped in (True, False):
                    kw: dict[str, Any] = {"engine": engine, "cuped": cuped, "weights": weights}
                    same(analyze(a.stats, units=a.units, **kw).to_dict(), analyze(b.stats, units=b.units, **kw).to_dict(), f"{eid} {engine} cuped={cuped}")  # fmt: skip

    with subtests.test("analyze_experiment with a planned split"):
        split = flow_split(duck.config, duck.path.parent, FLOW)
        assert split is not None and len(set(split.values())) == 2  # 10% holdout: not an equal split
        kw = {"config": duck.config, "split": split, "engine": "sequential"}
        expected = analyze_experiment(d, FLOW, metrics, **kw).to_dict()
        same(expected, analyze_experiment(s, FLOW, metrics, **kw).to_dict())
        assert (
            not expected["srm_mismatch"]
            and expected["srm"]["expected"][0] < expected["srm"]["expected"][1] / 2
        )

    with subtests.test("change log"):
        log = change_log(d, 28)
        same(log.to_dict(), change_log(s, 28).to_dict())
        assert len(log.table) >= 2 and log.table["experiment_id"].notna().any()

    docs: dict[str, Any] = {}
    for args in (
        ["experiment", "analyze", CHANGED, "--json"],
        ["experiment", "list", "--json"],
        ["changes", "impact", "--json"],
    ):
        with subtests.test("cli", args=" ".join(args)):
            docs[args[1]] = expected = _cli([*args, "--db", str(lake.db)])
            same(expected, _cli([*args, "--db", lake.spark_url]), " ".join(args))
    # not trivially equal: goal metrics come from the changed touchpoint, both arms have units, every change
    # in the log has its impact measured
    assert any("changed touchpoint" in n for n in docs["analyze"]["notes"]), docs["analyze"]["notes"]
    assert len(docs["analyze"]["srm"]["observed"]) == 2 and min(docs["analyze"]["srm"]["observed"]) > 0
    assert len(docs["impact"]["changes"]) == len(log.table)


def _cli(args: list[str]) -> Any:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, (
        f"{args}: exit {res.exit_code}: {res.output}{res.stderr if res.stderr_bytes else ''}"
    )
    return json.loads(res.stdout)
