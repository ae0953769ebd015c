"""``cxlab journey …``: the JSON contract of funnel and swot, and exit codes on bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from cxlab.journey.cli import app

ROWS = [("p1", 0, "a", "site"), ("p1", 1, "b", "cart"), ("p2", 0, "a", "site"), ("p3", 0, "b", "cart")]


def test_funnel_json_and_bad_input(make_store: Callable[[Any], Any]) -> None:
    s = make_store(ROWS)
    db = str(s.path)
    s.close()
    r = CliRunner().invoke(app, ["funnel", "--steps", "a,b", "--window", "7d", "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [(x["step"], x["customers"]) for x in doc["steps"]] == [("a", 2), ("b", 1)]
    bad = CliRunner().invoke(app, ["funnel", "--steps", "a,b", "--window", "soon", "--db", db])
    assert bad.exit_code == 2 and "duration" in bad.output
    missing = CliRunner().invoke(app, ["swot", "--db", db + ".nope", "--json"])
    assert missing.exit_code == 2
    for cmd in (["map"], ["paths", "--start", "site"], ["swot"]):
        ok = CliRunner().invoke(app, [*cmd, "--db", db, "--json"])
        assert ok.exit_code == 0, ok.output
        json.loads(ok.stdout)
