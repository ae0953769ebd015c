"""What to do next on the demo shop: the planted weak channel and touchpoint lead, with the right next step;
the ``--json`` contract; the results are shared with the report through the store's memo."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cxlab.advise import next_actions
from cxlab.advise.advice import CERTAINTIES, KINDS, MIXED
from cxlab.advise.cli import next_command
from cxlab.advise.report import next_section
from cxlab.currency import shop_orders
from cxlab.report import render_report
from cxlab.store import Store

CONTRACT = {"rank", "kind", "name", "money_at_stake", "currency", "certainty", "next_step"}


def test_planted_weak_channel_and_touchpoint_are_top_actions(
    demo_store: Store, demo: tuple[Path, dict[str, object]]
) -> None:
    truth = demo[1]
    advice = next_actions(demo_store)
    assert len(advice.actions) == 5
    by_place = {(a.kind, a.name): a for a in advice.actions}
    channel = by_place[("channel", str(truth["weak_channel"]))]
    touchpoint = by_place[("touchpoint", str(truth["weak_touchpoint"]))]
    # the paid channel: cut it or rework it, moving its budget to a named better paid channel
    assert channel.next_step.startswith(f"Cut or rework {truth['weak_channel']}: ")
    assert "Move budget to " in channel.next_step and "paid_search" in channel.next_step
    assert set(channel.source) == {"swot", "lagging-channels"}  # both findings, one action
    # the touchpoint: what to check there, then a test of the fix, naming it
    assert touchpoint.next_step.startswith(f"{truth['weak_touchpoint']}: ")
    assert (
        "carrier" in touchpoint.next_step
        and f"A/B test a fix on {truth['weak_touchpoint']}" in touchpoint.next_step
    )
    for a in (channel, touchpoint):
        assert a.certainty == "very likely"
        assert a.money_at_stake is not None and a.money_at_stake > 0
        assert a.horizon == "a year" and any(e.startswith("found: EUR") for e in a.evidence)
    mixed = [a.certainty == MIXED for a in advice.actions]
    assert mixed == sorted(mixed)  # clear findings first, mixed signals after
    worth = [a.money_at_stake if a.money_at_stake is not None else -math.inf for a in advice.actions]
    clear = [w for w, m in zip(worth, mixed, strict=True) if not m]
    assert clear == sorted(clear, reverse=True)


def test_one_action_per_place_and_the_rest_found(demo_store: Store) -> None:
    advice = next_actions(demo_store, limit=50)
    places = [(a.kind, a.name) for a in advice.actions]
    assert len(places) == len(set(places)) == advice.found
    assert advice.found > 5
    assert all(a.certainty in CERTAINTIES for a in advice.actions)
    # the demo's A/B test has a winner on its goal (e-mail clicks): ship it, not priced (not a revenue goal)
    exp = next(a for a in advice.actions if a.kind == "experiment")
    assert exp.name == "shipping_email_festive" and exp.next_step.startswith(
        "Ship festive of shipping_email_festive"
    )
    assert exp.money_at_stake is None
    assert not any(a.name.startswith("flow:") for a in advice.actions)
    # valuable customers slipping away: a win-back, priced at their value at risk
    winback = next(a for a in advice.actions if a.kind == "customers")
    assert winback.money_at_stake is not None and winback.money_at_stake > 0
    assert "win-back flow" in winback.next_step
    # voice analyze has not run on this store: the only source skipped, with how to get it
    assert [s.source for s in advice.skipped] == ["feedback themes"]
    assert "cxlab voice analyze" in advice.skipped[0].reason


def test_contract(demo_store: Store) -> None:
    doc = json.loads(json.dumps(next_actions(demo_store).to_dict(), allow_nan=False))
    assert set(doc) == {"actions", "skipped", "period"}
    currency = shop_orders(demo_store.ibis(), demo_store.config).currency
    assert [a["rank"] for a in doc["actions"]] == list(range(1, len(doc["actions"]) + 1))
    for a in doc["actions"]:
        assert set(a) >= CONTRACT
        assert a["kind"] in KINDS and a["currency"] == currency
        assert a["money_at_stake"] is None or isinstance(a["money_at_stake"], float)
        assert isinstance(a["name"], str) and a["name"]
        assert isinstance(a["next_step"], str) and a["name"] in a["next_step"]
        assert a["certainty"] in CERTAINTIES
    assert doc["period"]["start"] == "2024-01-01" and doc["period"]["months"] == pytest.approx(24, abs=0.1)


def test_results_are_shared_with_the_report(demo_store: Store) -> None:
    next_actions(demo_store)
    for key in ("swot", "churn", "lagging-channels", "experiments"):
        demo_store.memo(key, lambda key=key: pytest.fail(f"{key} computed again"))  # type: ignore[misc]


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(next_command)
    return app


def test_cli_json_and_text(demo: tuple[Path, dict[str, object]]) -> None:
    runner = CliRunner()
    res = runner.invoke(_app(), ["--db", str(demo[0]), "--json", "--limit", "2"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [a["rank"] for a in doc["actions"]] == [1, 2]
    res = runner.invoke(_app(), ["--db", str(demo[0])], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].startswith("1. ") and "EUR " in res.stdout and str(demo[1]["weak_channel"]) in res.stdout
    assert "Not looked at: feedback themes" in res.stdout


def test_cli_bad_store_is_one_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(_app(), ["--db", str(tmp_path / "missing.duckdb")])
    assert res.exit_code == 2 and "no such store" in res.output


def test_section(demo_store: Store, tmp_path: Path) -> None:
    section = next_section(demo_store)
    assert section.id == "next" and section.title == "What to do next"
    assert section.summary.startswith("5 things to do next") and section.table is not None
    assert list(section.table.columns) == ["#", "where", "money at stake", "how sure", "next step"]
    assert "p < 0.001" in section.details and "Not looked at (feedback themes)" in section.details
    html = render_report([section], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "What to do next" in html and "Cut or rework social_ads" in html
