"""The CLI's contract holds on every engine: ``--db`` takes the DuckDB store, ``spark://local[2]?tables=DIR``
or ``sc://HOST:PORT?tables=DIR`` (Spark Connect), and ``--json`` prints the same document for the same data.

DuckDB and ``spark://`` run in process (typer's runner: the Spark session is the one the other tests in this
folder use). ``sc://`` runs ``cxlab`` in a process of its own: PySpark refuses a Spark Connect session in a
process that already runs a local one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from tests.spark.conftest import Lake
from tests.spark.parity import same

FUNNEL = ["journey", "funnel", "--steps", "page_view,add_to_cart,purchase", "--window", "7d", "--json"]


def cli(*args: str) -> str:
    """``cxlab ARGS``'s standard output; fails the test on a non-zero exit."""
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, (
        f"{args}: exit {res.exit_code}: {res.output}{res.stderr if res.stderr_bytes else ''}"
    )
    return res.stdout


def cli_process(*args: str) -> str:
    """``cxlab ARGS``'s standard output from a process of its own (the venv's ``cxlab`` script)."""
    exe = Path(sys.executable).with_name("cxlab")
    res = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, f"{args}: exit {res.returncode}: {res.stdout}{res.stderr[-3000:]}"
    return res.stdout


def test_the_same_json_on_every_engine(
    lake: Lake, duck: Any, spark: Any, connect_server: str, subtests: pytest.Subtests
) -> None:
    connect = f"{connect_server}?tables={lake.tables}"

    with subtests.test("journey funnel: the same text from DuckDB, Spark and Spark Connect"):
        expected = cli(*FUNNEL, "--db", str(lake.db))
        steps = json.loads(expected)["steps"]
        assert [s["customers"] for s in steps][-1] > 0  # people at every step
        assert cli(*FUNNEL, "--db", lake.spark_url) == expected
        assert cli_process(*FUNNEL, "--db", connect) == expected

    with subtests.test("journey funnel by channel over Spark Connect (a cached plan on a cached table)"):
        expected = json.loads(cli(*FUNNEL, "--by", "channel", "--db", str(lake.db)))
        assert expected["breakdown"]
        same(expected, json.loads(cli_process(*FUNNEL, "--by", "channel", "--db", connect)), "funnel by")

    with subtests.test("status over Spark Connect"):
        doc = json.loads(cli_process("status", "--db", connect, "--json"))
        assert doc["engine"] == "spark connect" and doc["ingests"] == []
        assert doc["tables"] == duck.counts() and doc["tables"]["events"] > 10_000
