"""Helpers every real-shape test uses: write an export in a shop's encoding, run the CLI as a user would."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cxlab.cli import app

runner = CliRunner()

EVENT_COLUMNS = ["event_id", "ts", "customer_id", "anonymous_id", "event", "channel", "touchpoint", "revenue"]
"""Columns of the clickstream exports below (no session_id: sessions must be derived)."""

INVOICES = [  # a UK gift shop's invoices: order_id, customer_id, ts (US format), revenue, currency
    ("536365", "17850", "12/1/2010 8:26", "139.12", "GBP"),
    ("536366", "13047", "12/3/2010 9:02", "22.20", "GBP"),
    ("540001", "17850", "1/5/2011 10:00", "80.00", "GBP"),
    ("540002", "12583", "1/7/2011 11:30", "855.86", "EUR"),
    ("540003", "12583", "1/20/2011 12:00", "40.00", "EUR"),
    ("545000", "17850", "2/10/2011 9:00", "15.00", "GBP"),
    ("545999", "12680", "2/28/2011 17:00", "60.00", "GBP"),  # first purchase on the last day
]
ORDER_COLUMNS = ["order_id", "customer_id", "ts", "revenue", "currency"]


def write_csv(
    path: Path, rows: Sequence[Sequence[object]], columns: Sequence[str], encoding: str = "utf-8"
) -> Path:
    """``rows`` under a header of ``columns``, written in ``encoding`` (e.g. cp1252, as Excel on Windows does)."""
    with path.open("w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows(rows)
    return path


def ingest_file(db: Path, table: str, path: Path, *options: str) -> None:
    """``cxlab ingest TABLE PATH --db DB [options]``, which must succeed."""
    r = runner.invoke(app, ["ingest", table, str(path), "--db", str(db), *options])
    assert r.exit_code == 0, r.output


def cli_json(*args: str) -> Any:
    """``cxlab ARGS --json``, which must succeed and print strict JSON (no NaN or Infinity)."""
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(r.stdout, parse_constant=refuse)
