"""``cxlab flows``: list, plan (a dry run that writes nothing), run, report (the JSON contract), and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from cxlab.automate import plan as plan_mod
from cxlab.automate.cli import NO_FLOWS, plan_table
from cxlab.automate.cli import app as flows_app
from cxlab.automate.tables import OUTBOX
from cxlab.automate.templates import TONE_COLUMNS
from cxlab.config import default_toml
from cxlab.store import Store
from tests.automate.test_effects import plant, project
from tests.automate.test_run import NOW, make_store

root = typer.Typer()
root.add_typer(flows_app, name="flows")  # as the main cxlab app mounts it
runner = CliRunner()


def flows(*args: str) -> Any:
    return runner.invoke(root, ["flows", *args])


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture
def no_tone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tone check loads a text embedder (seconds); these tests are about the commands around it."""
    monkeypatch.setattr(plan_mod, "tone_check", lambda *a, **k: pd.DataFrame(columns=TONE_COLUMNS))


def test_list_json(tmp_path: Path) -> None:
    make_store(tmp_path / "p").close()
    db = str(tmp_path / "p" / "cxlab.duckdb")
    r = flows("list", "--db", db, "--json")
    assert r.exit_code == 0, r.stderr
    (f,) = json.loads(r.stdout)["flows"]
    assert f["flow"] == "abandoned_cart" and f["enabled"] is True and f["channel"] == "email"
    assert f["trigger"] == "add_to_cart + 4h unless purchase"
    assert f["version_number"] == 1 and f["version_recorded"] is False and len(f["version"]) == 12
    # the test shop has carts but no purchase yet: the cancel event is named as never seen
    assert json.loads(r.stdout)["warnings"] == [
        "flow abandoned_cart: cancel event 'purchase' never occurs in the store's events"
    ]
    human = flows("list", "--db", db)
    assert human.exit_code == 0 and "cancel event 'purchase' never occurs" in human.stdout


def test_plan_is_a_dry_run(tmp_path: Path, no_tone: None) -> None:
    make_store(tmp_path / "p").close()
    db = tmp_path / "p" / "cxlab.duckdb"
    r = flows("plan", "--db", str(db), "--at", NOW.isoformat(), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = pd.DataFrame(doc["rows"])
    assert len(rows) == 60 and set(rows["status"]) == {"queued", "held_out", "suppressed"}
    assert set(rows.loc[rows["status"] == "suppressed", "reason"]) == {"no_consent"}
    with Store(db, read_only=True) as s:
        assert s.con.execute(f"SELECT count(*) FROM {OUTBOX}").fetchall() == [(0,)]
        assert s.con.execute("SELECT count(*) FROM exposures").fetchall() == [(0,)]
    human = flows("plan", "--db", str(db), "--at", NOW.isoformat())
    assert human.exit_code == 0 and "no_consent" in human.stdout and "Who would get what" in human.stdout
    assert "None" not in human.stdout and "queued" in human.stdout
    bad = flows("plan", "--db", str(db), "--at", "yesterday-ish")
    assert bad.exit_code == 2 and "--at" in one_line_error(bad.stderr)


def test_plan_table_shows_blanks_and_whole_seconds() -> None:
    rows = pd.DataFrame(
        {
            "flow": ["winback", "cart"],
            "customer_id": ["c1", "c2"],
            "status": ["queued", "suppressed"],
            "reason": [None, "no_consent"],
            "variant": ["send", None],
            "language": ["en", None],
            "due": pd.to_datetime(["2026-03-01 10:00:00.123456", "2026-03-01 09:00:00.000000"]),
        }
    )
    t = plan_table(rows)
    assert t["flow"].tolist() == ["cart", "winback"]
    assert t["due"].tolist() == ["2026-03-01 09:00:00", "2026-03-01 10:00:00"]
    assert t.loc[1, "reason"] == "" and t.loc[0, "variant"] == "" and t.loc[0, "reason"] == "no_consent"


def test_run_once_then_report_contract(tmp_path: Path, no_tone: None) -> None:
    make_store(tmp_path / "p").close()
    db = str(tmp_path / "p" / "cxlab.duckdb")
    r = flows("run", "--db", db, "--once", "--at", NOW.isoformat(), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["exposures"] == 55 and len(doc["versions"]) == 1 and doc["delivery"]["sent"] > 0
    assert "Flows round" in r.stderr  # progress on stderr, the document alone on stdout
    again = json.loads(flows("run", "--db", db, "--at", NOW.isoformat(), "--json").stdout)
    assert again["decided"] == [] and again["exposures"] == 0
    rep = flows("report", "--db", db, "--json")
    assert rep.exit_code == 0, rep.stderr
    (f,) = json.loads(rep.stdout)["flows"]
    assert {"flow", "sent", "holdout", "metric", "lift_relative", "ci_relative"} <= set(f)
    assert (
        f["flow"] == "abandoned_cart" and f["sent"] == doc["delivery"]["sent"] and f["metric"] == "conversion"
    )
    assert f["lift_relative"] is None and f["ci_relative"] == [None, None] and "too few" in f["note"]


def test_report_contract_with_an_effect(tmp_path: Path) -> None:
    db = project(tmp_path)
    with Store(db) as s:
        cart = plant(s.con, "abandoned_cart", {"holdout": (800, 0.10), "send": (3200, 0.16)}, 7, 7)
    r = flows("report", "--db", str(db), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    f = {x["flow"]: x for x in doc["flows"]}["abandoned_cart"]
    hold, send = cart[cart["variant"] == "holdout"], cart[cart["variant"] == "send"]
    assert f["holdout"] == len(hold) == 800 and f["n"] == {"holdout": 800, "send": 3200}
    lo, hi = f["ci_relative"]
    assert isinstance(f["lift_relative"], float) and lo < f["lift_relative"] < hi
    assert f["lift_relative"] == pytest.approx(
        send["converted"].mean() / hold["converted"].mean() - 1, rel=0.02
    )
    human = flows("report", "--db", str(db), "--figure", str(tmp_path / "f.html"))
    assert human.exit_code == 0 and "abandoned-cart e-mail" in human.stdout
    assert (tmp_path / "f.html").exists()


def test_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "cxlab.toml").write_text(default_toml(), encoding="utf-8")
    Store(tmp_path / "a" / "cxlab.duckdb").close()
    for cmd in ("list", "plan", "report", "run"):
        r = flows(cmd, "--db", str(tmp_path / "a" / "cxlab.duckdb"))
        assert r.exit_code == 2 and one_line_error(r.stderr) == f"error: {NO_FLOWS}"
    (tmp_path / "b").mkdir()
    bad = (
        default_toml()
        + '\n[flows.cart]\nchannel = "fax"\ntrigger = { event = "x" }\n[flows.cart.messages.en]\nbody = "x"\n'
    )
    (tmp_path / "b" / "cxlab.toml").write_text(bad, encoding="utf-8")
    Store(tmp_path / "b" / "cxlab.duckdb").close()
    r = flows("report", "--db", str(tmp_path / "b" / "cxlab.duckdb"))
    assert r.exit_code == 2 and "flows.cart.channel" in one_line_error(r.stderr)
    r = flows("run", "--db", str(tmp_path / "a" / "cxlab.duckdb"), "--once", "--every", "5m")
    assert r.exit_code == 2 and "choose one" in one_line_error(r.stderr)


def test_run_without_contacts_exits_2_and_records_nothing(tmp_path: Path, no_tone: None) -> None:
    make_store(tmp_path / "p").close()
    cfg = tmp_path / "p" / "cxlab.toml"
    cfg.write_text(cfg.read_text().replace('contacts = "contacts.csv"\n', ""))
    db = str(tmp_path / "p" / "cxlab.duckdb")
    for args in (["--at", NOW.isoformat()], ["--every", "1h"]):
        r = flows("run", "--db", db, *args)
        assert r.exit_code == 2 and "[automate] contacts is not set" in one_line_error(r.stderr)
    with Store(db, read_only=True) as s:
        assert s.con.execute(f"SELECT count(*) FROM {OUTBOX}").fetchall() == [(0,)]
        assert s.con.execute("SELECT count(*) FROM exposures").fetchall() == [(0,)]
    # deciding without sending needs no contacts
    assert flows("run", "--db", db, "--at", NOW.isoformat(), "--no-deliver").exit_code == 0


def test_report_on_the_demo_recovers_each_planted_flow(tmp_path: Path) -> None:
    """The outside check: ``flows report --json`` on the demo store, each flow's ``true_lift`` from
    ``truth.json`` inside its interval."""
    from cxlab.demo import generate
    from cxlab.demo.flows import write_flow_files

    (tmp_path / "cxlab.toml").write_text(default_toml(), encoding="utf-8")
    demo = generate(tmp_path, customers=6000, seed=11)
    write_flow_files(tmp_path, demo.files["customers"], 11)
    with Store(tmp_path / "cxlab.duckdb") as s:
        for table, files in demo.files.items():
            for f in files:
                s.ingest(table, f)
    truth = json.loads(demo.truth_path.read_text())["flows"]
    r = flows("report", "--db", str(tmp_path / "cxlab.duckdb"), "--json")
    assert r.exit_code == 0, r.stderr
    got = {f["flow"]: f for f in json.loads(r.stdout)["flows"]}
    assert set(got) == set(truth) and len(truth) == 3
    for name, t in truth.items():
        f = got[name]
        lo, hi = f["ci_relative"]
        assert lo <= t["true_lift"] <= hi, (name, t["true_lift"], lo, hi)
        assert f["holdout"] == t["exposed_by_arm"]["holdout"] and f["metric"] == t["metric"]
        assert f["sent"] > 0 and set(f["sent_by_origin"]) == {"events"}


def test_run_every_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    make_store(tmp_path / "p").close()
    script = (
        "import pandas as pd, typer\n"
        "from cxlab.automate import plan\n"
        "from cxlab.automate.templates import TONE_COLUMNS\n"
        "plan.tone_check = lambda *a, **k: pd.DataFrame(columns=TONE_COLUMNS)\n"
        "from cxlab.automate.cli import app\n"
        "root = typer.Typer(); root.add_typer(app, name='flows')\n"
        f"root(['flows', 'run', '--every', '1m', '--json', '--db', {str(tmp_path / 'p' / 'cxlab.duckdb')!r}])\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert p.stderr is not None
    line = ""
    deadline = time.monotonic() + 60
    while "Flows round" not in line and time.monotonic() < deadline:
        line = p.stderr.readline()
    assert "Flows round" in line
    p.send_signal(signal.SIGINT)  # during the wait between rounds: stops at once, cleanly
    out, rest = p.communicate(timeout=30)
    assert p.returncode == 0, rest
    doc = json.loads(out)
    assert len(doc["rounds"]) == 1 and "stopping after this round" in rest
