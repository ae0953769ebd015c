"""Tables that fit an 80-column terminal (issue 16): text wraps, ids and values are never cut, rates read as
percentages, dates as dates, and ``--wide`` shows every column."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.clitools import FitTable, show_table
from tests.journey.conftest import build_demo_store

runner = CliRunner()
NARROW = {"COLUMNS": "80"}
FRACTION = re.compile(r"(?<![\d.,])0\.\d{2,}")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path, _ = build_demo_store(tmp_path_factory.mktemp("shop"), customers=1500, seed=7)
    return str(path)


def _run(*args: str) -> str:
    r = runner.invoke(app, list(args), env=NARROW)
    assert r.exit_code == 0, (args, r.output)
    return r.stdout


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.mark.parametrize(
    "args",
    [
        ["journey", "map"],
        ["journey", "funnel", "--steps", "page_view,add_to_cart,purchase"],
        ["journey", "retention"],
        ["channels", "performance"],
        ["channels", "compare"],
        ["customers", "rfm"],
        ["customers", "churn", "--top", "8"],
        ["experiment", "list"],
        ["changes", "list"],
        ["status"],
    ],
)
def test_tables_fit_80_columns_without_cutting_anything(db: str, args: list[str]) -> None:
    out = _run(*args, "--db", db)
    table_lines = [line for line in out.splitlines() if line.startswith(("│", "┃", "┏", "└"))]
    assert table_lines, out
    assert all(len(line) <= 80 for line in table_lines), out
    assert "…" not in out, out  # nothing cropped, not even a header
    assert "00:00:00" not in out, out


@pytest.mark.parametrize(
    "args",
    [
        ["journey", "funnel", "--steps", "page_view,add_to_cart,purchase"],
        ["journey", "retention"],
        ["channels", "performance"],
        ["customers", "rfm"],
    ],
)
def test_rates_read_as_percentages(db: str, args: list[str]) -> None:
    out = _run(*args, "--db", db, "--wide")
    table = "\n".join(line for line in out.splitlines() if line.startswith("│"))
    assert "%" in table
    assert not FRACTION.search(table), table


def test_ids_stay_whole_and_wide_shows_every_column(db: str) -> None:
    doc = json.loads(runner.invoke(app, ["customers", "churn", "--top", "8", "--db", db, "--json"]).stdout)
    ids = [c["customer_id"] for c in doc["top"]]
    assert len(ids) == 8
    narrow = _run("customers", "churn", "--top", "8", "--db", db)
    assert all(i in narrow for i in ids)
    channels = _run("channels", "performance", "--db", db)
    assert re.search(r"\d+ more columns? \(.*\): use --wide", " ".join(channels.split()))
    wide = _run("channels", "performance", "--db", db, "--wide")
    assert "more column" not in wide and "AOV" in wide and _widest(wide) > 80


def test_dates_and_months_read_as_dates(db: str) -> None:
    cohorts = [line.split("│")[1].strip() for line in _run("journey", "retention", "--db", db).splitlines()
               if line.startswith("│") and re.match(r"│ \d{4}", line)]  # fmt: skip
    assert cohorts and all(re.fullmatch(r"\d{4}-\d{2}", c) for c in cohorts)
    exposures = _run("experiment", "list", "--db", db)
    assert re.search(r"│ \d{4}-\d{2}-\d{2} +│", exposures)


def test_status_shows_the_ingest_history_newest_first(db: str) -> None:
    out = _run("status", "--db", db, "--wide")
    assert "ingest history" in out
    rows = [line for line in out.splitlines() if re.match(r"│ \d{4}-\d{2}-\d{2} \d{2}:\d{2}", line)]
    doc = json.loads(runner.invoke(app, ["status", "--db", db, "--json"]).stdout)
    assert len(rows) == len(doc["ingests"]) > 0
    assert [r.split("│")[2].strip() for r in rows] == [i["table"] for i in doc["ingests"]]
    for header in ("when", "table", "file", "read", "stored", "duplicates", "rejected", "status"):
        assert header in out


def test_a_table_too_wide_keeps_ids_and_essentials_and_says_what_it_left_out() -> None:
    t = FitTable("orders", keep=1)
    t.ident("order_id")
    for name in ("first name", "city", "shipping method", "payment method", "coupon", "note"):
        t.text(name)
    t.number("revenue", essential=True)
    long_id = "ORD-2024-000000012345-NL-AMSTERDAM"
    t.add_row(long_id, "Anna", "Amsterdam", "express", "ideal", "WINTER", "leave at the door", "EUR 1,234")
    buf = io.StringIO()
    show_table(t, out=Console(file=buf, width=60))
    out = buf.getvalue()
    assert long_id in out and "EUR 1,234" in out and "…" not in out
    assert all(len(line) <= 60 for line in out.splitlines())
    assert re.search(r"\d more columns \(.*note\): use --wide", " ".join(out.split()))
