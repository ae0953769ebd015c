"""Ingest of files in the shapes real shops export (issue 12): Windows Excel CSVs in cp1252 with US dates
and semicolons, invoices in several currencies, events without sessions, Danish and Dutch reviews with
junk, spreadsheet formulas in customer text; each through the CLI, asserting what was stored."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from cxlab.cli import app

runner = CliRunner()

INVOICES = (
    # A UK gift shop's invoices as Excel on Windows saves them: cp1252, US dates, several currencies;
    # c3's first (and only) purchase is on the last day.
    "order_id,customer_id,ts,revenue,currency,country,discount_code\r\n"
    "536365,17850,12/1/2010 8:26,139.12,GBP,GB,\r\n"
    "536366,17850,12/1/2010 8:28,22.20,GBP,GB,NOËL\r\n"
    "536367,13047,12/2/2010 8:34,278.73,EUR,FR,\r\n"
    "536368,,12/2/2010 8:34,70.05,GBP,GB,£5OFF\r\n"
    "536369,12583,12/9/2010 12:50,855.86,EUR,FR,\r\n"
)

REVIEWS = (
    # Danish and Dutch reviews from a Windows export: cp1252, semicolons, junk, a formula.
    "feedback_id;ts;source;score;text;language\r\n"
    "r1;2023-03-01;review;5;Rigtig god service – tak!;da\r\n"
    "r2;2023-03-02;review;1;....;\r\n"
    'r3;2023-03-03;review;4;"Snel geleverd; prijs €12,50 “prima”";nl\r\n'
    'r4;2023-03-04;review;2;=HYPERLINK("http://x");da\r\n'
    "r5;2023-03-05;review;;;\r\n"
)

CLICKS = (
    # A clickstream without session_id, Latin-1 campaign names.
    "event_id,ts,anonymous_id,event,channel,campaign,revenue\n"
    "v1,2019-10-01 00:00:00 UTC,u1,page_view,direct,,\n"
    "v2,2019-10-01 00:05:00 UTC,u1,add_to_cart,direct,Été,\n"
    "v3,2019-10-01 00:07:00 UTC,u1,purchase,direct,Été,35.79\n"
)


def ingest(db: Path, table: str, *args: str) -> dict:
    r = runner.invoke(app, ["ingest", table, *args, "--db", str(db), "--json"])
    assert r.exit_code in (0, 2), r.stderr
    return json.loads(r.stdout)


def test_cp1252_invoices_with_us_dates_and_currencies(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    path = tmp_path / "invoices.csv"
    path.write_bytes(INVOICES.encode("cp1252"))
    refused = ingest(db, "orders", str(path))
    assert not refused["ok"] and refused["files"][0]["rejected"] == 5
    assert refused["files"][0]["errors"][0].startswith(
        f"{path}:2: ts: unparseable timestamp '12/1/2010 8:26'"
    )
    doc = ingest(db, "orders", str(path), "--date-format", "%m/%d/%Y %H:%M")
    assert doc["ok"] and doc["files"][0] | {"errors": []} == {
        "file": str(path),
        "table": "orders",
        "rows_read": 5,
        "stored": 5,
        "erased": 0,
        "duplicate": 0,
        "rejected": 0,
        "rejects_file": None,
        "encoding": "cp1252",
        "errors": [],
    }
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute(
        "SELECT currency, count(*), round(sum(revenue), 2) FROM orders GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("EUR", 2, 1134.59), ("GBP", 3, 231.37)]
    assert con.execute(
        "SELECT order_id, customer_id, strftime(ts, '%Y-%m-%d %H:%M'), discount_code FROM orders "
        "WHERE order_id IN ('536366', '536368', '536369') ORDER BY 1"
    ).fetchall() == [
        ("536366", "17850", "2010-12-01 08:28", "NOËL"),
        ("536368", None, "2010-12-02 08:34", "£5OFF"),
        ("536369", "12583", "2010-12-09 12:50", None),
    ]
    con.close()
    again = ingest(db, "orders", str(path), "--date-format", "%m/%d/%Y %H:%M")
    assert (again["files"][0]["stored"], again["files"][0]["duplicate"]) == (0, 5)


def test_windows_reviews_with_junk_and_formulas(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    path = tmp_path / "reviews.csv"
    path.write_bytes(REVIEWS.encode("cp1252"))
    doc = ingest(db, "feedback", str(path), "--skip-bad", "--rejects", str(tmp_path / "bad.csv"))
    f = doc["files"][0]
    assert (f["rows_read"], f["stored"], f["rejected"], f["encoding"]) == (5, 4, 1, "cp1252")
    assert f["errors"] == [
        f"{path}:6: text: missing required value: a review or ticket needs a score or a text"
    ]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT feedback_id, text, language FROM feedback ORDER BY 1").fetchall() == [
        ("r1", "Rigtig god service – tak!", "da"),
        ("r2", "....", None),
        ("r3", "Snel geleverd; prijs €12,50 “prima”", "nl"),
        ("r4", '=HYPERLINK("http://x")', "da"),  # stored as written; only files for people are made safe
    ]
    with open(tmp_path / "bad.csv", encoding="utf-8", newline="") as fh:
        assert [(r["_row"], r["feedback_id"]) for r in csv.DictReader(fh)] == [("6", "r5")]


def test_events_without_sessions_in_latin1_and_one_table_stores(tmp_path: Path) -> None:
    events_db, orders_db = tmp_path / "events.duckdb", tmp_path / "orders.duckdb"
    clicks = tmp_path / "clicks.csv"
    clicks.write_bytes(CLICKS.encode("latin-1"))
    f = ingest(events_db, "events", str(clicks))["files"][0]
    assert (f["rows_read"], f["stored"], f["duplicate"], f["rejected"]) == (3, 3, 0, 0)
    con = duckdb.connect(str(events_db), read_only=True)
    assert con.execute(
        "SELECT event_id, session_id, campaign, revenue FROM events ORDER BY 1"
    ).fetchall() == [("v1", None, None, None), ("v2", None, "Été", None), ("v3", None, "Été", 35.79)]
    con.close()
    invoices = tmp_path / "invoices.csv"
    invoices.write_bytes(INVOICES.encode("cp1252"))
    ingest(orders_db, "orders", str(invoices), "--date-format", "%m/%d/%Y %H:%M")
    for db, expected in ((events_db, {"events": 3, "orders": 0}), (orders_db, {"events": 0, "orders": 5})):
        r = runner.invoke(app, ["status", "--db", str(db), "--json"])
        assert r.exit_code == 0, r.stderr
        tables = json.loads(r.stdout)["tables"]
        assert {t: tables[t] for t in expected} == expected
