"""The CLI contract: ``experiment analyze --stats FILE --engine … --json`` (checked against gbstats),
store analysis, power, the change log, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import typer
from exp_helpers import gbstats_run
from typer.testing import CliRunner

from cxlab.experiments.cli import changes_app, experiment_app
from cxlab.store import Store

pytestmark = pytest.mark.filterwarnings("ignore:Setting a value on a Series via .at")  # inside gbstats

app = typer.Typer(pretty_exceptions_enable=False)
app.add_typer(experiment_app, name="experiment")
app.add_typer(changes_app, name="changes")
runner = CliRunner()

ARMS = [
    {"name": "control", "n": 5000, "sum": 500, "sum_squares": 500},
    {"name": "festive", "n": 5050, "sum": 590, "sum_squares": 590},
    {"name": "minimal", "n": 4980, "sum": 470, "sum_squares": 470},
]


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def run_json(args: list[str]) -> Any:
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("engine", ["frequentist", "bayesian", "sequential"])
def test_stats_file_contract_matches_gbstats(tmp_path: Path, engine: str) -> None:
    f = tmp_path / "stats.json"
    f.write_text(json.dumps({"metric": {"type": "proportion"}, "variants": ARMS}))
    doc = run_json(["experiment", "analyze", "--stats", str(f), "--engine", engine])
    assert doc["engine"] == engine
    ref = gbstats_run("proportion", ARMS, engine=engine, sequential=engine == "sequential")
    assert doc["srm_p_value"] == pytest.approx(ref.srm, rel=1e-9)
    names = [v["name"] for v in doc["variants"]]
    assert names == ["control", "festive", "minimal"]
    assert doc["variants"][0]["mean"] == pytest.approx(0.1)
    assert doc["variants"][0]["lift_relative"] is None and doc["variants"][0]["ci_relative"] is None
    for v, g in zip(doc["variants"][1:], ref.variations[1:], strict=True):
        assert v["mean"] == pytest.approx(g.cr, rel=1e-9)
        assert v["lift_relative"] == pytest.approx(g.expected, rel=1e-6)
        assert v["lift_absolute"] == pytest.approx(v["mean"] - 0.1, rel=1e-9)
        assert v["ci_relative"] == pytest.approx(list(g.ci), rel=1e-6)
        if engine == "bayesian":
            assert v["chance_to_win"] == pytest.approx(g.chanceToWin, rel=1e-6)
            assert v["risk"] == pytest.approx(g.risk[1], rel=1e-6)  # expected loss of shipping the variant
            assert "p_value" not in v
        else:
            assert v["p_value"] == pytest.approx(g.pValue, rel=1e-6)
            assert "chance_to_win" not in v


def test_stats_file_ratio_and_cuped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ratio, cuped = [], []
    for name, scale in (("a", 30.0), ("b", 33.0)):
        d = rng.poisson(1.3, 2000).astype(float)
        y = rng.gamma(2.0, scale, 2000) * d
        x = rng.gamma(2.0, 20.0, 2000)
        r = y + 0.5 * x
        ratio.append(
            {
                "name": name,
                "n": 2000,
                "sum": y.sum(),
                "sum_squares": (y * y).sum(),
                "denominator_sum": d.sum(),
                "denominator_sum_squares": (d * d).sum(),
                "cross_sum": (y * d).sum(),
            }
        )
        cuped.append(
            {
                "name": name,
                "n": 2000,
                "sum": r.sum(),
                "sum_squares": (r * r).sum(),
                "covariate_sum": x.sum(),
                "covariate_sum_squares": (x * x).sum(),
                "covariate_cross_sum": (r * x).sum(),
            }
        )
    for kind, arms in (("ratio", ratio), ("mean", cuped)):
        f = tmp_path / f"{kind}.json"
        f.write_text(json.dumps({"metric": {"type": kind}, "variants": arms}))
        doc = run_json(["experiment", "analyze", "--stats", str(f)])
        g = gbstats_run(kind, [{k: v for k, v in a.items() if k != "name"} for a in arms]).variations[1]
        assert doc["variants"][1]["lift_relative"] == pytest.approx(g.expected, rel=1e-6)
        assert doc["variants"][1]["ci_relative"] == pytest.approx(list(g.ci), rel=1e-6)
        assert doc["variants"][1]["p_value"] == pytest.approx(g.pValue, rel=1e-6)
        assert ("cuped_theta" in doc["variants"][1]) == (kind == "mean")


def test_human_summary_states_method_n_interval_and_srm(tmp_path: Path) -> None:
    f = tmp_path / "stats.json"
    f.write_text(json.dumps({"metric": {"type": "proportion"}, "variants": ARMS}))
    r = runner.invoke(app, ["experiment", "analyze", "--stats", str(f), "--alpha", "0.1"])
    assert r.exit_code == 0
    out = r.stdout
    assert "Welch t-test" in out and "5,050" in out and "90% interval" in out and "SRM check passed" in out


def test_sample_ratio_mismatch_warns_loudly_but_succeeds(tmp_path: Path) -> None:
    f = tmp_path / "srm.json"
    arms = [{"name": "a", "n": 10000, "sum": 1000}, {"name": "b", "n": 9400, "sum": 990}]
    f.write_text(json.dumps({"metric": {"type": "proportion"}, "variants": arms}))
    r = runner.invoke(app, ["experiment", "analyze", "--stats", str(f), "--json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["srm_mismatch"] is True
    assert "SAMPLE RATIO MISMATCH" in r.stderr


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "cannot read"),
        ("{not json", [], "not valid JSON"),
        ('{"metric": {"type": "median"}, "variants": []}', [], "metric.type: 'median' is not one of"),
        (
            '{"metric": {"type": "mean"}, "variants": [{"n": 5, "sum": 1}, {"sum": 2}]}',
            [],
            "variants[1].n: missing",
        ),
        (
            '{"metric": {"type": "mean"}, "variants": [{"n": 5, "sum": 1}, {"n": 5, "sum": 2}]}',
            [],
            "sum_squares: required",
        ),
        (
            '{"metric": {"type": "proportion"}, "variants": [{"n": 5, "sum": 9}, {"n": 5, "sum": 2}]}',
            [],
            "between 0 and n",
        ),
        (
            '{"metric": {"type": "proportion"}, "variants": [{"n": 5, "sum": 1}, {"n": 5, "sum": 2}]}',
            ["--engine", "magic"],
            "--engine must be one of",
        ),
        (
            '{"metric": {"type": "proportion"}, "variants": [{"n": 5, "sum": 1}, {"n": 5, "sum": 2}]}',
            ["--alpha", "2"],
            "--alpha must lie between 0 and 1",
        ),
    ],
)
def test_bad_stats_input_exits_2_with_one_line(
    tmp_path: Path, content: str | None, args: list[str], message: str
) -> None:
    f = tmp_path / "in.json"
    if content is not None:
        f.write_text(content)
    r = runner.invoke(app, ["experiment", "analyze", "--stats", str(f), *args])
    assert r.exit_code == 2
    assert message in one_line_error(r.stderr)


def test_needs_exactly_one_source() -> None:
    r = runner.invoke(app, ["experiment", "analyze"])
    assert r.exit_code == 2 and "EXPERIMENT_ID" in one_line_error(r.stderr)


def test_power_command() -> None:
    doc = run_json(["experiment", "power", "--baseline", "0.1", "--mde", "0.1", "--daily-traffic", "2000"])
    assert doc["n_control"] == doc["n_treatment"] and doc["n_total"] == 2 * doc["n_control"]
    assert doc["days"] == -(-doc["n_total"] // 2000)
    back = run_json(["experiment", "power", "--baseline", "0.1", "--n", str(doc["n_control"])])
    assert back["mde"] == pytest.approx(0.1, rel=1e-3)
    mean = run_json(
        [
            "experiment",
            "power",
            "--baseline",
            "50",
            "--kind",
            "mean",
            "--sd",
            "40",
            "--mde",
            "2",
            "--absolute",
            "--arms",
            "3",
        ]
    )
    assert mean["arms"] == 3 and mean["n_total"] == 3 * mean["n_control"]
    r = runner.invoke(app, ["experiment", "power", "--baseline", "50", "--kind", "mean", "--mde", "0.1"])
    assert r.exit_code == 2 and "standard deviation" in one_line_error(r.stderr)
    r = runner.invoke(app, ["experiment", "power", "--baseline", "0.1"])
    assert r.exit_code == 2 and "exactly one of --mde" in one_line_error(r.stderr)


def test_store_commands(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    rng = np.random.default_rng(1)
    n = 400
    with Store(db) as s:
        variant = np.where(rng.random(n) < 0.5, "control", "treatment")
        s.ingest(
            "exposures",
            pa.table(
                {
                    "experiment_id": ["exp"] * n,
                    "variant": variant,
                    "customer_id": [f"c{i}" for i in range(n)],
                    "ts": ["2025-01-10 10:00"] * n,
                }
            ),
        )
        buyers = [i for i in range(n) if rng.random() < (0.3 if variant[i] == "treatment" else 0.2)]
        s.ingest(
            "orders",
            pa.table(
                {
                    "order_id": [f"o{i}" for i in buyers],
                    "customer_id": [f"c{i}" for i in buyers],
                    "ts": ["2025-01-15 10:00"] * len(buyers),
                    "revenue": [25.0] * len(buyers),
                    "currency": ["EUR"] * len(buyers),
                }
            ),
        )
    dbs = ["--db", str(db)]
    listed = run_json(["experiment", "list", *dbs])["experiments"]
    assert [(e["variant"], e["units"]) for e in listed] == [
        ("control", int((variant == "control").sum())),
        ("treatment", int((variant == "treatment").sum())),
    ]
    doc = run_json(
        ["experiment", "analyze", "exp", *dbs, "--metric", "conversion", "--metric", "revenue_per_user"]
    )
    assert doc["control"] == "control" and [m["name"] for m in doc["metrics"]] == [
        "conversion",
        "revenue_per_user",
    ]
    conv = doc["metrics"][0]["variants"]
    assert conv[1]["mean"] == pytest.approx(sum(variant[i] == "treatment" for i in buyers) / conv[1]["n"])
    r = runner.invoke(app, ["experiment", "analyze", "nope", *dbs])
    assert r.exit_code == 2 and "no exposures for experiment 'nope'" in one_line_error(r.stderr)
    r = runner.invoke(app, ["experiment", "analyze", "exp", *dbs, "--metric", "nope"])
    assert r.exit_code == 2 and "unknown metric 'nope'" in one_line_error(r.stderr)
    r = runner.invoke(app, ["experiment", "analyze", "exp", "--db", str(tmp_path / "missing.duckdb")])
    assert r.exit_code == 2 and "no such store" in one_line_error(r.stderr)
    fig = tmp_path / "lift.html"
    r = runner.invoke(
        app, ["experiment", "analyze", "exp", *dbs, "--engine", "bayesian", "--figure", str(fig)]
    )
    assert r.exit_code == 0 and "P(win)" in r.stdout and fig.stat().st_size > 10_000

    added = run_json(
        [
            "changes",
            "add",
            *dbs,
            "--touchpoint",
            "checkout",
            "--description",
            "new button",
            "--date",
            "2025-01-10",
            "--experiment",
            "exp",
        ]
    )
    assert added == {
        "change_id": "CH001",
        "ts": "2025-01-10T00:00:00",
        "touchpoint": "checkout",
        "description": "new button",
        "experiment_id": "exp",
    }
    run_json(
        ["changes", "add", *dbs, "--touchpoint", "checkout", "--description", "copy", "--date", "2025-01-12"]
    )
    log = run_json(["changes", "list", *dbs])["changes"]
    assert [(c["change_id"], c["overlaps"]) for c in log] == [("CH001", ["CH002"]), ("CH002", ["CH001"])]
    impact = run_json(["changes", "impact", "CH001", *dbs])["changes"][0]
    assert impact["evidence"] == "experiment" and impact["causal"] is True
    assert impact["overlaps"] == ["CH002"] and "more than one variable" in impact["warnings"][0]
    r = runner.invoke(
        app, ["changes", "add", *dbs, "--touchpoint", "checkout", "--description", "x", "--date", "yesterday"]
    )
    assert r.exit_code == 2 and "--date" in one_line_error(r.stderr)
