"""Each source degrades on its own: a store with only orders, an empty store, a hostile channel name."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import typer
from typer.testing import CliRunner

from cxlab.advise import next_actions
from cxlab.advise.cli import next_command
from cxlab.advise.report import next_section
from cxlab.config import default_toml
from cxlab.report import render_report
from cxlab.store import Store


def test_orders_only_gives_the_winback_and_says_what_is_missing(orders_only: Path) -> None:
    with Store(orders_only, read_only=True) as s:
        advice = next_actions(s)
    assert [a.kind for a in advice.actions] == ["customers"]
    assert advice.actions[0].money_at_stake and advice.actions[0].money_at_stake > 0
    reasons = {k.source: k.reason for k in advice.skipped}
    assert set(reasons) == {"strengths and weaknesses", "lagging channels", "experiments", "feedback themes"}
    assert all(r and not r.startswith("failed") for r in reasons.values())  # missing data, not failures


def test_empty_store_no_actions_every_reason(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    Store(db).close()
    with Store(db, read_only=True) as s:
        advice = next_actions(s)
        section = next_section(s)
    assert advice.actions == [] and advice.period is None
    assert len(advice.skipped) == 5 and not any(k.reason.startswith("failed") for k in advice.skipped)
    assert advice.to_dict()["actions"] == []
    assert section.summary.startswith("Nothing stands out yet; ") and section.table is None
    assert len(section.summary) < 200 and all(k.reason in section.details for k in advice.skipped)
    app = typer.Typer()
    app.command()(next_command)
    res = CliRunner().invoke(app, ["--db", str(db)])
    assert res.exit_code == 0 and res.stdout.startswith("Nothing stands out")


HOSTILE = "<script>alert('x')</script>"


def _events() -> pa.Table:
    """Four unpaid channels, 400 one-visit people each: three convert 20%, the hostile one 2%."""
    rows: list[tuple[str, str, datetime, str, str, float | None]] = []
    t0 = datetime(2025, 1, 1)
    for c, (channel, rate) in enumerate(
        (("direct", 0.2), ("referral", 0.2), ("organic_search", 0.2), (HOSTILE, 0.02))
    ):
        for i in range(400):
            person, ts = f"p{c}_{i}", t0 + timedelta(hours=i + 500 * c)
            rows.append((person, f"s{c}_{i}", ts, "ad_click", channel, None))
            if i < rate * 400:
                rows.append((person, f"s{c}_{i}", ts + timedelta(minutes=5), "purchase", channel, 50.0))
    return pa.table(
        {
            "event_id": [f"e{i}" for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "session_id": [r[1] for r in rows],
            "ts": pa.array([r[2] for r in rows], pa.timestamp("us")),
            "event": [r[3] for r in rows],
            "channel": [r[4] for r in rows],
            "touchpoint": ["site" if r[3] == "ad_click" else "checkout" for r in rows],
            "revenue": [r[5] for r in rows],
        }
    )


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    config = default_toml()
    assert '"email"' in config
    (tmp_path / "cxlab.toml").write_text(config.replace('"email"', json.dumps(HOSTILE), 1), encoding="utf-8")
    with Store(db) as s:
        s.ingest("events", _events())
    with Store(db, read_only=True) as s:
        advice = next_actions(s)
        section = next_section(s)
    assert advice.actions[0].name == HOSTILE and advice.actions[0].kind == "channel"
    html = render_report([section], tmp_path / "r.html").read_text(encoding="utf-8")
    assert HOSTILE not in html and "&lt;script&gt;alert(" in html
    app = typer.Typer()
    app.command()(next_command)
    res = CliRunner().invoke(app, ["--db", str(db)], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and HOSTILE in res.stdout  # printed as text, not read as markup
