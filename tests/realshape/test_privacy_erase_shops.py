"""Erase on stores shaped like real shops' exports: a Shopify orders export (customer found by e-mail, then
re-imported), and an orders-only store whose reviews came as a cp1252 CSV with Dutch and German text."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.privacy.keys import keyed_contact, load_secret
from cxlab.store import init_project

runner = CliRunner()
SHOPIFY = Path(__file__).parents[1] / "store" / "importers" / "fixtures" / "shopify_orders.csv"


def query(db: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_shopify_customer_erased_by_email_and_refused_on_reimport(tmp_path: Path) -> None:
    db = init_project(tmp_path / "shop")
    first = runner.invoke(app, ["import", "shopify", str(SHOPIFY), "--db", str(db), "--json"])
    assert first.exit_code == 0, first.output
    key = keyed_contact(load_secret(db), "soren.aero@example.dk")
    ((cid,),) = query(db, "SELECT customer_id FROM customers WHERE email_hash = ?", [key])
    ((orders,),) = query(db, "SELECT count(*) FROM orders WHERE customer_id = ?", [cid])
    ((others,),) = query(db, "SELECT count(*) FROM orders WHERE customer_id IS DISTINCT FROM ?", [cid])
    assert orders >= 1 and others >= 1

    sar = tmp_path / "sar"
    found = runner.invoke(
        app, ["privacy", "export", "?", "--phone", "+45 12 34 56 78", "--out", str(sar), "--db", str(db)]
    )
    assert found.exit_code == 0, found.output
    assert [c["customer_id"] for c in json.loads((sar / "customers.json").read_text())] == [cid]

    # the shop knows the person only by e-mail: the id given is theirs from another system
    result = runner.invoke(
        app,
        ["privacy", "erase", "crm-4711", "--email", " Soren.Aero@Example.DK", "--db", str(db), "--json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["customer_id"] == "crm-4711" and doc["customers"] == 2
    assert doc["rows_removed"]["orders"] == orders and doc["rows_removed"]["customers"] == 1
    assert query(db, "SELECT count(*) FROM orders WHERE customer_id = ?", [cid]) == [(0,)]
    assert query(db, "SELECT count(*) FROM orders") == [(others,)]

    again = runner.invoke(app, ["import", "shopify", str(SHOPIFY), "--db", str(db), "--json"])
    assert again.exit_code == 0, again.output
    files = json.loads(again.stdout)["files"]
    assert sum(f.get("erased", 0) for f in files) >= orders  # refused and counted, not stored
    assert query(db, "SELECT count(*) FROM orders WHERE customer_id = ?", [cid]) == [(0,)]
    assert query(db, "SELECT count(*) FROM customers WHERE email_hash = ?", [key]) == [(0,)]


REVIEWS = (
    "feedback_id,customer_id,ts,source,score,text,order_id\n"
    "r1,K-0001,2025-03-01 10:00:00,review,1,"
    '"Das Paket kam beschädigt an, die Glasvase war zerbrochen; Rückerstattung über 49,95 € dauerte drei Wochen '
    'und der Kundendienst antwortete nie auf meine E-Mails über die Bestellung Größe XL",o1\n'
    "r2,K-0002,2025-03-02 10:00:00,review,5,....,o2\n"
    "r3,K-0002,2025-03-03 10:00:00,review,4,"
    '"Prima geholpen, de bezorger was vriendelijk en het pakket werd keurig bij de buren afgegeven in Zaandam-Oost",o2\n'
)


def test_orders_only_store_with_cp1252_reviews(tmp_path: Path) -> None:
    db = init_project(tmp_path / "shop")
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ts,revenue,currency\n"
        "o1,K-0001,2025-02-28 23:59:00,49.95,EUR\n"
        "o2,K-0002,2025-02-28 12:00:00,20.00,EUR\n",
        encoding="utf-8",
    )
    (tmp_path / "reviews.csv").write_bytes(REVIEWS.encode("cp1252"))
    for table, f in (("orders", "orders.csv"), ("feedback", "reviews.csv")):
        r = runner.invoke(app, ["ingest", table, str(tmp_path / f), "--db", str(db)])
        assert r.exit_code == 0, r.output
    text = "Das Paket kam beschädigt an, die Glasvase war zerbrochen"
    assert text.encode("utf-8") in db.read_bytes()  # stored verbatim, so the check below means something

    result = runner.invoke(app, ["privacy", "erase", "K-0001", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    removed = json.loads(result.stdout)["rows_removed"]
    assert (removed["orders"], removed["feedback"], removed["events"]) == (1, 1, 0)
    assert text.encode("utf-8") not in db.read_bytes()
    assert b"bezorger was vriendelijk" in db.read_bytes()  # the other customer's review stays
    assert query(db, "SELECT feedback_id FROM feedback ORDER BY 1") == [("r2",), ("r3",)]
    rfm = runner.invoke(app, ["customers", "rfm", "--db", str(db), "--json"])
    assert rfm.exit_code == 0, rfm.output
    assert "K-0001" not in rfm.stdout
