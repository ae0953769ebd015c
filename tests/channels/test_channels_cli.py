"""The ``cxlab channels`` contract: JSON documents, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cxlab.channels.cli import app as channels_app

root = typer.Typer()
root.add_typer(channels_app, name="channels")  # as the main CLI mounts it
runner = CliRunner()
CONTRACT_MODELS = ["first", "last", "linear", "position", "time_decay", "markov", "shapley"]


def paths_file(tmp_path: Path, random_paths: Any) -> Path:
    f = tmp_path / "paths.csv"
    random_paths(2, n=120, channels=5).to_csv(f, index=False)
    return f


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("model", CONTRACT_MODELS)
def test_attribution_from_a_paths_file(model: str, tmp_path: Path, random_paths: Any) -> None:
    f = paths_file(tmp_path, random_paths)
    r = runner.invoke(root, ["channels", "attribution", "--paths", str(f), "--model", model, "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["model"] == model
    channels = {c["channel"]: c for c in doc["channels"]}
    assert set(channels) == {f"ch{i}" for i in range(5)}
    for c in channels.values():
        assert isinstance(c["conversions"], float) and isinstance(c["value"], float)
        assert ("removal_effect" in c) == (model == "markov")
    total = random_paths(2, n=120, channels=5)["total_conversions"].sum()
    assert sum(c["conversions"] for c in channels.values()) == pytest.approx(total)


def test_markov_order_and_bootstrap(tmp_path: Path, random_paths: Any) -> None:
    f = paths_file(tmp_path, random_paths)
    one = json.loads(
        runner.invoke(
            root, ["channels", "attribution", "--paths", str(f), "--model", "markov", "--json"]
        ).stdout
    )
    args = [
        "channels",
        "attribution",
        "--paths",
        str(f),
        "--model",
        "markov",
        "--order",
        "2",
        "--bootstrap",
        "20",
        "--json",
    ]
    two = json.loads(runner.invoke(root, args).stdout)
    assert two["params"]["order"] == 2 and two["interval"]["replicates"] == 20
    assert [c["removal_effect"] for c in one["channels"]] != [c["removal_effect"] for c in two["channels"]]
    assert all(c["conversions_low"] <= c["conversions"] <= c["conversions_high"] for c in two["channels"])


def test_store_journeys_export_round_trip_and_performance(shop: Any, tmp_path: Path) -> None:
    db = str(shop.path)
    shop.close()
    r = runner.invoke(root, ["channels", "attribution", "--db", db, "--model", "linear", "--json"])
    assert r.exit_code == 0, r.stderr
    from_store = {c["channel"]: c["conversions"] for c in json.loads(r.stdout)["channels"]}
    assert sum(from_store.values()) == pytest.approx(3.0)
    out = tmp_path / "journeys.csv"
    r = runner.invoke(root, ["channels", "journeys", "--db", db, "--out", str(out), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["unique_paths"] == 5
    r = runner.invoke(root, ["channels", "attribution", "--paths", str(out), "--model", "linear", "--json"])
    assert {c["channel"]: c["conversions"] for c in json.loads(r.stdout)["channels"]} == pytest.approx(
        from_store
    )
    r = runner.invoke(root, ["channels", "performance", "--db", db, "--json"])
    assert r.exit_code == 0, r.stderr
    rows = {x["channel"]: x for x in json.loads(r.stdout)["rows"]}
    assert (
        rows["direct"]["orders"] == 2 and rows["direct"]["aov"] == 40.0 and rows["social_ads"]["aov"] is None
    )
    r = runner.invoke(root, ["channels", "performance", "--db", db])
    assert r.exit_code == 0 and "direct" in r.stdout and "Lagging on session conversion" in r.stdout
    r = runner.invoke(root, ["channels", "compare", "--db", db, "--json"])
    assert r.exit_code == 0 and "shapley" in json.loads(r.stdout)["models"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["attribution", "--paths", "nope.csv"], "error: nope.csv: no such file"),
        (["attribution", "--paths", "p.csv", "--model", "u_shape"], "error: unknown model 'u_shape'"),
        (["attribution", "--paths", "bad.csv"], "error: bad.csv:3: total_conversions: not a number: 'x'"),
        (["attribution", "--paths", "p.csv", "--max-steps", "many"], "error: --max-steps must be"),
        (["performance", "--db", "missing.duckdb"], "error: missing.duckdb: no such store"),
        (["performance", "--by", "device"], "error: --by must be 'channel' or 'campaign'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.csv").write_text("path,total_conversions\na > b,1\n")
    (tmp_path / "bad.csv").write_text("path,total_conversions\na > b,1\nb,x\n")
    r = runner.invoke(root, ["channels", *args])
    assert r.exit_code == 2
    assert one_line_error(r.stderr).startswith(expected)
    assert r.stdout == ""
