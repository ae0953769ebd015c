"""`cxlab privacy audit`: the erase and export entries, newest first, keyed subjects only."""

from __future__ import annotations

import json
from pathlib import Path

from test_erase import make_store
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.privacy.keys import keyed, load_secret

runner = CliRunner()


def test_audit_lists_erase_and_export(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    env = {"CXLAB_ACTOR": "dpo@shop"}
    out = str(tmp_path / "sar")
    assert (
        runner.invoke(app, ["privacy", "export", "C100", "--out", out, "--db", str(db)], env=env).exit_code
        == 0
    )
    assert runner.invoke(app, ["privacy", "erase", "C100", "--db", str(db)], env=env).exit_code == 0

    result = runner.invoke(app, ["privacy", "audit", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    log = json.loads(result.stdout)["entries"]
    assert [e["action"] for e in log] == ["erase", "export"]
    subject = keyed(load_secret(db), "C100")
    assert all(e["subject"] == subject and e["actor"] == "dpo@shop" for e in log)
    assert log[0]["rows"] == sum(log[0]["detail"]["rows_removed"].values()) == 15
    assert log[1]["detail"]["tables"]["events"] == 3
    assert "C100" not in result.stdout

    human = runner.invoke(app, ["privacy", "audit", "--db", str(db)], env={"COLUMNS": "250"})
    assert human.exit_code == 0, human.output
    assert "erase" in human.output and "dpo@shop" in human.output and "2 entries" in human.output


def test_audit_of_missing_store_is_bad_input(tmp_path: Path) -> None:
    result = runner.invoke(app, ["privacy", "audit", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "no such store" in result.output


def test_creating_the_secret_is_audited_once(tmp_path: Path) -> None:
    for _ in range(2):
        assert runner.invoke(app, ["init", str(tmp_path / "shop")]).exit_code == 0
    r = runner.invoke(app, ["privacy", "audit", "--db", str(tmp_path / "shop" / "cxlab.duckdb"), "--json"])
    assert r.exit_code == 0, r.output
    actions = [e["action"] for e in json.loads(r.stdout)["entries"]]
    assert actions == ["secret"]
