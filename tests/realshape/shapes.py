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
