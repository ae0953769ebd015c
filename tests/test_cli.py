"""The CLI contract: exit codes, one-line errors, --json documents, and the demo command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import cxlab.pipeline
import cxlab.store
import cxlab.store.encoding
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
        "created": True,
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
        "erased": 0,
        "duplicate": 0,
        "rejected": 0,
        "rejects_file": None,
        "encoding": "utf-8",
        "errors": [],
    }
    r = runner.invoke(app, ["status", "--db", db, "--json"])
    assert r.exit_code == 0
    status = json.loads(r.stdout)
    assert status["tables"]["events"] == 1
    assert (status["ingests"][0]["stored"], status["ingests"][0]["status"]) == (1, "done")


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


def test_report_exits_1_when_an_analysis_fails_and_still_writes_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cxlab.report.sections as rs

    runner.invoke(app, ["init", str(tmp_path)])

    def broken(_store: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(rs, "registered", lambda: [rs.overview, broken])
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", "--db", str(tmp_path / "cxlab.duckdb"), "--out", str(out), "--json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["not_run"] == [{"section": "broken", "reason": "RuntimeError: boom", "missing_data": False}]
    html = out.read_text(encoding="utf-8")
    assert "Overview" in html and "boom" in html
    assert one_line_error(r.stderr).startswith("error: Broken failed")


def test_demo_contract(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "--out", str(out), "--customers", "1500", "--seed", "7", "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"db", "report", "truth", "tables", "not_run"}
    assert doc["not_run"] == []
    html = Path(doc["report"]).read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "could not run" not in html.lower()
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
        "voice",
        "privacy",
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


def test_init_twice_keeps_what_exists(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", str(tmp_path / "shop")]).exit_code == 0
    toml = tmp_path / "shop" / "cxlab.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n# mine\n", encoding="utf-8")
    r = runner.invoke(app, ["init", str(tmp_path / "shop")])
    assert r.exit_code == 0
    assert " ".join(r.stdout.split()) == (
        f"{tmp_path / 'shop' / 'cxlab.duckdb'} and {toml} already exist, kept"
    )
    assert toml.read_text(encoding="utf-8").endswith("# mine\n")
    r = runner.invoke(app, ["init", str(tmp_path / "shop"), "--json"])
    assert json.loads(r.stdout)["created"] is False


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ingest", "events", "."], "error: .: is a folder, not a file"),
        (
            ["ingest", "events", "e.csv", "--db", "nowhere/x.duckdb"],
            "error: nowhere/x.duckdb: folder nowhere does not exist",
        ),
        (["status", "--db", "nowhere/x.duckdb"], "error: nowhere/x.duckdb: no such store"),
        (["ingest", "events", "e.csv", "--encoding", "klingon"], "error: e.csv: unknown encoding 'klingon'"),
        (["ingest", "events", "e.csv", "--date-format", "%Q"], "error: e.csv: invalid --date-format '%Q'"),
    ],
)
def test_more_bad_input_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "e.csv", GOOD)
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.stderr
    assert len([line for line in r.stderr.splitlines() if line.strip()]) == 1
    assert one_line_error(r.stderr).startswith(expected)


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print("holding", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize(("held", "args"), [("rw", ["status"]), ("ro", ["ingest", "events", "e.csv"])])
def test_a_store_in_use_names_the_command_holding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: str, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "e.csv", GOOD)
    assert runner.invoke(app, ["init", "."]).exit_code == 0
    script = write(tmp_path / "holder.py", HOLDER)
    proc = subprocess.Popen(
        [sys.executable, str(script), "cxlab.duckdb", held], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        r = runner.invoke(app, [*args, "--db", "cxlab.duckdb"])
    finally:
        proc.kill()
        proc.wait()
    assert r.exit_code == 2
    assert one_line_error(r.stderr) == (
        f"error: cxlab.duckdb: the store is in use by another command (PID {proc.pid}: holder.py "
        f"cxlab.duckdb {held}); wait for it to finish and try again (commands that only read can run "
        "side by side)"
    )


def test_latin1_files_us_dates_and_rejects_per_file(tmp_path: Path) -> None:
    db = str(tmp_path / "cxlab.duckdb")
    header = "order_id,customer_id,ts,revenue,currency,discount_code\n"
    jan = tmp_path / "jan.csv"
    jan.write_bytes((header + "o1,c1,1/5/2011 9:10,10,GBP,ÉTÉ\no2,c1,never,5,GBP,=cmd\n").encode("latin-1"))
    feb = write(tmp_path / "feb.csv", header + "o3,c2,2/7/2011 17:45,7.5,GBP,\no4,c2,soon,1,GBP,+x\n")
    rejects = tmp_path / "bad.csv"
    us = ["--date-format", "%m/%d/%Y %H:%M"]
    r = runner.invoke(
        app,
        ["ingest", "orders", str(jan), str(feb), "--db", db, "--skip-bad", "--rejects", str(rejects), *us],
    )
    assert r.exit_code == 0, r.stderr
    assert f"note: {jan} is not UTF-8; read as cp1252" in " ".join(r.stderr.split())
    con = duckdb.connect(db, read_only=True)
    rows = con.execute(
        "SELECT order_id, strftime(ts, '%Y-%m-%d %H:%M'), discount_code FROM orders ORDER BY 1"
    ).fetchall()
    assert rows == [("o1", "2011-01-05 09:10", "ÉTÉ"), ("o3", "2011-02-07 17:45", None)]
    assert (tmp_path / "bad.jan.csv").read_text(encoding="utf-8").splitlines()[1].startswith("3,")
    assert "'=cmd" in (tmp_path / "bad.jan.csv").read_text(encoding="utf-8")
    assert "'+x" in (tmp_path / "bad.feb.csv").read_text(encoding="utf-8")
    assert not rejects.exists()


def test_unreadable_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cxlab.store.encoding, "_open", denied)  # as root, chmod 000 still reads
    f = write(tmp_path / "e.csv", GOOD)
    r = runner.invoke(app, ["ingest", "events", str(f), "--db", str(tmp_path / "cxlab.duckdb")])
    assert r.exit_code == 2
    assert [line for line in r.stderr.splitlines() if line.strip()] == [
        f"error: {f}: cannot read: Permission denied — nothing from this file was stored"
    ]


def test_a_store_failing_midway_still_shows_what_was_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = write(tmp_path / "a.csv", GOOD), write(tmp_path / "b.csv", GOOD)
    real = cxlab.store.Store.ingest

    def ingest(self: cxlab.store.Store, table: str, data: object, **kw: object) -> object:
        if data == second:
            raise duckdb.FatalException("database has been invalidated")
        return real(self, table, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cxlab.store.Store, "ingest", ingest)
    db = str(tmp_path / "x.duckdb")
    r = runner.invoke(app, ["ingest", "events", str(first), str(second), "--db", db, "--json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert not doc["ok"] and [(f["file"], f["stored"]) for f in doc["files"]] == [(str(first), 1)]
    assert one_line_error(r.stderr) == "error: FatalException: database has been invalidated"


def test_a_dry_run_with_skip_bad_names_the_bad_row(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    path = write(
        tmp_path / "orders.csv",
        'order_id,ts,revenue,currency\no1,2024-01-01,12,EUR\no2,2024-01-02,"12,5",EUR\n',
    )
    r = runner.invoke(
        app,
        ["ingest", "orders", str(path), "--db", str(tmp_path / "cxlab.duckdb"), "--skip-bad", "--dry-run"],
    )
    assert r.exit_code == 0, r.output
    assert f"{path}:3: revenue: wrong type: expected a number, got '12,5'" in " ".join(r.stderr.split())
