"""Real-shape customers data (issue 12, points 7, 8, 9, 12, 16), loaded through ``cxlab ingest`` as shops export
it: a UK gift shop's invoices in cp1252, all in GBP in a project whose currency is EUR, guest invoices without a
customer, customers whose first purchase is the very last invoice (T = 0, which made ``clv`` and ``churn``
fail), and customer ids that are a spreadsheet formula, HTML or non-ASCII. Also an events-only store and a
store written by Python with an order in year 10000.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.store import Store

runner = CliRunner()
LAST = "2011-12-09 12:50:00"
NEW = 6
ODD_IDS = ("Zoë Ångström", '=HYPERLINK("http://evil.example","x")', "<img src=x onerror=alert(1)>")
COLUMNS = ["order_id", "customer_id", "ts", "revenue", "currency"]


def _invoices() -> list[tuple[str, str, str, str, str]]:
    rng = np.random.default_rng(2010)
    rows: list[tuple[str, str, str, str, str]] = []

    def add(cid: str, ts: pd.Timestamp, amount: float) -> None:
        rows.append((str(536365 + len(rows)), cid, f"{ts:%Y-%m-%d %H:%M:%S}", f"{amount:.2f}", "GBP"))

    start, end = pd.Timestamp("2010-12-01 08:26"), pd.Timestamp("2011-12-08 18:00")
    for i, cid in enumerate([str(12346 + c) for c in range(80)] + list(ODD_IDS)):
        ts = start + pd.Timedelta(hours=int(rng.integers(0, 24 * 250)))
        life = ts + pd.Timedelta(days=float(rng.exponential(250)))
        gap = rng.gamma(1.5, 25) if i < 80 else 20.0
        basket = rng.gamma(4, 15)  # each customer's typical spend
        while ts <= min(life, end):
            add(cid, ts, float(rng.gamma(3, basket)))
            ts += pd.Timedelta(days=float(rng.exponential(gap)) + 1)
    for _ in range(15):  # guest invoices
        add("", start + pd.Timedelta(hours=int(rng.integers(0, 24 * 300))), float(rng.gamma(3, 20)))
    for c in range(NEW):  # first purchase on the last invoice's minute
        add(f"NEW{c}", pd.Timestamp(LAST), 15.0 + c)
    return rows


def _expected() -> pd.DataFrame:
    df = pd.DataFrame(_invoices(), columns=COLUMNS)
    return df.assign(revenue=df["revenue"].astype(float), customer_id=df["customer_id"].replace("", None))


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _json(*args: str) -> Any:
    r = _run(*args, "--json")
    assert r.exit_code == 0, r.output

    def refuse(name: str) -> None:
        raise AssertionError(f"the JSON holds {name}")

    return json.loads(r.stdout, parse_constant=refuse)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("giftshop")
    db = folder / "cxlab.duckdb"
    path = folder / "invoices.csv"
    with path.open("w", newline="", encoding="cp1252") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(_invoices())
    r = _run("ingest", "orders", str(path), "--db", str(db))
    assert r.exit_code == 0, r.output
    return db


def test_rfm_reports_gbp_and_every_customer(shop: Path) -> None:
    exp = _expected()
    doc = _json("customers", "rfm", "--db", str(shop))
    known = exp[exp["customer_id"].notna()]
    assert doc["currency"] == "GBP" and doc["customers"] == known["customer_id"].nunique() == 83 + NEW
    assert any("no order is in EUR" in n for n in doc["notes"])
    assert sum(s["revenue"] for s in doc["segments"]) == pytest.approx(known["revenue"].sum())


def test_clv_runs_with_customers_whose_first_purchase_is_the_last(shop: Path) -> None:
    doc = _json("customers", "clv", "--db", str(shop))
    assert doc["currency"] == "GBP" and doc["customers"] == 83 + NEW
    assert doc["new_customers"] == NEW and doc["purchases"]["n"] == 83
    assert doc["degenerate"] is False and doc["holdout"]["customers"] > 0
    r = _run("customers", "clv", "--db", str(shop), "--holdout", "0")
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert f"{NEW} customers made their first purchase at the calibration end (T = 0)" in text
    assert "worth GBP" in text  # every money figure with its currency


def test_churn_and_its_csv_export(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "churn.csv"
    doc = _json("customers", "churn", "--db", str(shop), "--out", str(out))
    assert doc["new_customers"] == NEW and doc["currency"] == "GBP" and doc["customers"] == 83 + NEW
    table = pd.read_csv(out, dtype={"customer_id": str}, keep_default_na=False)
    assert len(table) == 83 + NEW
    ids = set(table["customer_id"])
    assert "'" + ODD_IDS[1] in ids and ODD_IDS[1] not in ids  # a formula is written as text
    assert ODD_IDS[0] in ids and ODD_IDS[2] in ids
    new = table[table["customer_id"].str.startswith("NEW")]
    assert len(new) == NEW and (new["orders"] == 1).all()


def test_report_sections_escape_customer_ids(shop: Path, tmp_path: Path) -> None:
    from cxlab.customers.report import SECTIONS
    from cxlab.report.html import render_report

    with Store(shop, read_only=True) as store:
        made = [make(store) for make in SECTIONS]
    churn = made[-1]
    hover = list(churn.figures[0].data[0].text)
    assert "&lt;img src=x onerror=alert(1)&gt;" in hover and ODD_IDS[2] not in hover
    html = render_report(made, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html
    assert all("GBP" in s.summary for s in (made[0], made[1], made[3]))


@pytest.fixture(scope="module")
def events_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("events_only")
    db = folder / "cxlab.duckdb"
    path = folder / "events.csv"
    path.write_text(
        "event_id,ts,customer_id,event\n1,2024-01-01 10:00:00,c1,page_view\n2,2024-01-01 10:05:00,c1,purchase\n",
        encoding="utf-8",
    )
    r = _run("ingest", "events", str(path), "--db", str(db))
    assert r.exit_code == 0, r.output
    return db


@pytest.mark.parametrize("command", [["rfm"], ["clv"], ["churn"], ["personas"]])
def test_events_only_store_says_orders_are_missing(events_only: Path, command: list[str]) -> None:
    r = _run("customers", *command, "--db", str(events_only))
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert "needs orders" in lines[0] and "cxlab ingest orders" in lines[0]


def test_an_order_in_year_10000_is_named_not_a_crash(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    with Store(db) as s:
        exp = _expected()
        s.con.register("frame", exp.assign(ts=pd.to_datetime(exp["ts"])))
        s.con.execute("INSERT INTO orders BY NAME SELECT * FROM frame")
        s.con.execute(
            "INSERT INTO orders (order_id, customer_id, ts, revenue, currency) "
            "VALUES ('999999', '12346', TIMESTAMP '10000-01-01 00:00:00', 10, 'GBP')"
        )
    for command in (["rfm"], ["clv"], ["churn"]):
        r = _run("customers", *command, "--db", str(db))
        assert r.exit_code == 2, r.output
        assert "year 10000" in r.stderr and "--as-of / --calibration-end" in r.stderr
    assert _json("customers", "rfm", "--db", str(db), "--as-of", "2011-12-09")["customers"] == 83 + NEW
    doc = _json("customers", "clv", "--db", str(db), "--calibration-end", LAST, "--holdout", "0")
    assert doc["new_customers"] == NEW


def test_a_short_history_gets_clv_without_the_holdout_check(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    exp = _expected().assign(ts=lambda d: pd.to_datetime(d["ts"]))
    recent = exp[exp["ts"] >= pd.Timestamp(LAST) - pd.Timedelta(weeks=20)]
    with Store(db) as s:
        s.con.register("frame", recent)
        s.con.execute("INSERT INTO orders BY NAME SELECT * FROM frame")
    doc = _json("customers", "clv", "--db", str(db))  # default holdout: 26 weeks, longer than the history
    assert doc["holdout"] is None and doc["customers"] == recent["customer_id"].nunique()
    assert any(n.startswith("holdout check not run: ") and "--holdout" in n for n in doc["notes"])
