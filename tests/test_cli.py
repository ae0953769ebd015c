"""The CLI contract: exit codes, one-line errors, --json documents, and the demo command."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import cxlab.pipeline
from cxlab.cli import app
from tests.conftest import write

runner = CliRunner()
GOOD = "event_id,ts,anonymous_id,event,channel\ne1,2024-05-01T10:00:00Z,a1,page_view,email\n"


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: ")
    return lines[-1]


def test_init_then_ingest_then_status(tmp_path: Path) -> None:
    r = runner.invoke(app, ["init", str(tmp_path / "shop"), "--json"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {
        "db": str(tmp_path / "shop" / "cxlab.duckdb"),
        "config": str(tmp_path / "shop" / "cxlab.toml"),
    }
    db = str(tmp_path / "shop" / "cxlab.duckdb")
    r = runner.invoke(app, ["ingest", "events", str(write(tmp_path / "e.csv", GOOD)), "--db", db, "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["files"][0] | {"errors": []} == {
        "file": str(tmp_path / "e.csv"),
        "table": "events",
        "rows_read": 1,
        "stored": 1,
        "duplicate": 0,
        "rejected": 0,
        "rejects_file": None,
        "errors": [],
    }
    r = runner.invoke(app, ["status", "--db", db, "--json"])
    assert r.exit_code == 0
    status = json.loads(r.stdout)
    assert status["tables"]["events"] == 1 and status["ingests"][0]["stored"] == 1


def test_bad_rows_exit_2_with_one_line_and_json_still_parses(tmp_path: Path) -> None:
    db = str(tmp_path / "cxlab.duckdb")
    bad = write(tmp_path / "bad.csv", GOOD + "e2,someday,a1,page_view,email\n")
    r = runner.invoke(app, ["ingest", "events", str(bad), "--db", db])
    assert r.exit_code == 2
    assert one_line_error(r.stderr).startswith(f"error: {bad}:3: ts: unparseable timestamp 'someday'")
    r = runner.invoke(app, ["ingest", "events", str(bad), "--db", db, "--json"])
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert not doc["ok"] and doc["files"][0]["rejected"] == 1 and doc["files"][0]["stored"] == 0
    assert duckdb.connect(db, read_only=True).execute("SELECT count(*) FROM events").fetchone() == (0,)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ingest", "evnts", "x.csv"], "error: unknown table 'evnts' (expected one of events, customers,"),
        (["ingest", "events", "nope.csv"], "error: nope.csv: no such file"),
        (["status", "--db", "missing.duckdb"], "error: missing.duckdb: no such store"),
        (["report", "--db", "missing.duckdb"], "error: missing.duckdb: no such store"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert one_line_error(r.stderr).startswith(expected)
    assert r.stdout == "" or "ingested" in r.stdout


def test_analysis_failure_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner.invoke(app, ["init", str(tmp_path)])

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("the model did not converge")

    monkeypatch.setattr(cxlab.pipeline, "build_report", broken)
    r = runner.invoke(app, ["report", "--db", str(tmp_path / "cxlab.duckdb")])
    assert r.exit_code == 1
    assert one_line_error(r.stderr) == "error: RuntimeError: the model did not converge"


def test_demo_contract(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "--out", str(out), "--customers", "1500", "--seed", "7", "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"db", "report", "truth", "tables"}
    html = Path(doc["report"]).read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "could not run" not in html
    truth = json.loads(Path(doc["truth"]).read_text(encoding="utf-8"))
    assert {"weak_channel", "weak_touchpoint", "email_test", "bgnbd", "gamma_gamma"} <= set(truth)
    assert {"experiment_id", "true_lift"} <= set(truth["email_test"])
    assert {"r", "alpha", "a", "b"} <= set(truth["bgnbd"]) and {"p", "q", "v"} <= set(truth["gamma_gamma"])
    con = duckdb.connect(doc["db"], read_only=True)
    for table, n in doc["tables"].items():
        assert con.execute(f'SELECT count(*) FROM "{table}"').fetchone() == (n,)
    assert doc["tables"]["events"] > 50_000 and doc["tables"]["orders"] > 500


FIXTURES = Path(__file__).parent / "store" / "importers" / "fixtures"


def test_import_commands_store_once_and_refuse_wrong_files(tmp_path: Path) -> None:
    db = str(tmp_path / "cxlab.duckdb")
    r = runner.invoke(app, ["import", "shopify", str(FIXTURES / "shopify_orders.csv"), "--db", db, "--json"])
    assert r.exit_code == 0, r.stderr
    stored = {f["table"]: f["stored"] for f in json.loads(r.stdout)["files"]}
    assert stored["orders"] > 0 and stored["customers"] > 0 and stored["events"] >= stored["orders"]
    again = runner.invoke(
        app, ["import", "shopify", str(FIXTURES / "shopify_orders.csv"), "--db", db, "--json"]
    )
    assert [f["stored"] for f in json.loads(again.stdout)["files"]] == [0, 0, 0]
    r = runner.invoke(app, ["import", "ga4", str(FIXTURES / "ga4_events.jsonl"), "--db", db, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["files"][0]["stored"] > 0
    r = runner.invoke(app, ["import", "shopify", str(FIXTURES / "ga4_events.jsonl"), "--db", db])
    assert r.exit_code == 2
    assert one_line_error(r.stderr).startswith(f"error: {FIXTURES / 'ga4_events.jsonl'}")


def test_init_with_db_option(tmp_path: Path) -> None:
    r = runner.invoke(app, ["init", "--db", str(tmp_path / "x" / "shop.duckdb"), "--json"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["db"] == str(tmp_path / "x" / "shop.duckdb")
    assert (tmp_path / "x" / "cxlab.toml").exists() and (tmp_path / "x" / "shop.duckdb").exists()
    r = runner.invoke(app, ["init", str(tmp_path), "--db", str(tmp_path / "y.duckdb")])
    assert r.exit_code == 2 and one_line_error(r.stderr) == "error: give a project folder or --db, not both"


@pytest.mark.parametrize(
    "group",
    [
        "ingest",
        "import",
        "demo",
        "report",
        "status",
        "journey",
        "channels",
        "experiment",
        "changes",
        "customers",
    ],
)
def test_every_capability_is_mounted(group: str) -> None:
    r = runner.invoke(app, [group, "--help"])
    assert r.exit_code == 0, r.stderr


def test_channels_attribution_from_the_cli(tmp_path: Path) -> None:
    paths = write(
        tmp_path / "paths.csv",
        "path,total_conversions,total_conversion_value,total_null\na > b,1,10,1\nb,1,5,0\n",
    )
    r = runner.invoke(app, ["channels", "attribution", "--paths", str(paths), "--model", "last", "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["model"] == "last"
    assert {c["channel"]: c["conversions"] for c in doc["channels"]} == {"a": 0.0, "b": 2.0}
