"""GA4 and Shopify exports with personal data in URLs, custom parameters and contact columns: imported
through the CLI, nothing personal is left in any stored column, nor in the database file's bytes."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import duckdb
from typer.testing import CliRunner

from cxlab.cli import app

runner = CliRunner()
SHOPIFY = Path(__file__).parents[1] / "store" / "importers" / "fixtures" / "shopify_orders.csv"


def param(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"string_value": value}}


def ga4_row(ts: int, name: str, params: list[dict[str, Any]], user_id: str | None = None) -> dict[str, Any]:
    return {
        "event_timestamp": str(1709640000000000 + ts * 1_000_000),
        "event_name": name,
        "event_params": [{"key": "ga_session_id", "value": {"int_value": "1709640000"}}, *params],
        "user_pseudo_id": "1111.2222",
        "user_id": user_id,
        "device": {"category": "mobile"},
    }


def stored_text(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    text = "\n".join(
        " ".join(map(str, row))
        for t in tables
        for row in con.execute(f'SELECT CAST(COLUMNS(*) AS VARCHAR) FROM "{t}"').fetchall()
    )
    con.close()
    return text


def test_ga4_export_with_personal_data_comes_out_clean(tmp_path: Path) -> None:
    rows = [
        ga4_row(
            0, "page_view", [param("page_location", "https://shop.nl/?gclid=abc123&utm_campaign=spring")]
        ),
        ga4_row(
            60,
            "begin_checkout",
            [
                param(
                    "page_location",
                    "https://shop.nl/checkout?email=Jan.de.Vries%40example.nl&phone=%2B31612345678&step=2",
                ),
                param("page_referrer", "https://shop.nl/cart?token=s3cr3t&utm_source=newsletter"),
                param("customer_email", "jan.de.vries@example.nl"),
                param("Customer_Phone", "+31 6 1234 5678"),
                param("form_note", "bel me op 06-12345678 of jan.de.vries@example.nl"),
            ],
            user_id=" Jan.de.Vries@Example.nl ",
        ),
    ]
    export = tmp_path / "events_20240305.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert runner.invoke(app, ["init", str(tmp_path / "shop")]).exit_code == 0
    db = tmp_path / "shop" / "cxlab.duckdb"
    r = runner.invoke(app, ["import", "ga4", str(export), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["files"][0]["stored"] == 2

    text = stored_text(db).lower()
    for personal in ("vries", "example.nl", "12345678", "1234 5678", "%40", "s3cr3t", "customer_email"):
        assert personal not in text, personal
    con = duckdb.connect(str(db), read_only=True)
    props = [json.loads(p) for (p,) in con.execute("SELECT properties FROM events ORDER BY ts").fetchall()]
    customers = con.execute("SELECT customer_id FROM events ORDER BY ts").fetchall()
    con.close()
    assert props[0]["page_location"] == "https://shop.nl/?gclid=abc123&utm_campaign=spring"  # untouched
    assert props[1]["page_location"] == "https://shop.nl/checkout?step=2"
    assert props[1]["page_referrer"] == "https://shop.nl/cart?utm_source=newsletter"
    assert props[1]["form_note"] == "bel me op  of "
    assert "customer_phone" not in {k.lower() for k in props[1]}
    assert re.fullmatch(r"email_[0-9a-f]{16}", customers[1][0])  # keyed, not the e-mail


def test_shopify_export_keeps_no_contact_data(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", str(tmp_path / "shop")]).exit_code == 0
    db = tmp_path / "shop" / "cxlab.duckdb"
    r = runner.invoke(app, ["import", "shopify", str(SHOPIFY), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    stored = {f["table"]: f["stored"] for f in json.loads(r.stdout)["files"]}
    assert stored["customers"] == 3 and stored["orders"] > 0
    text = stored_text(db).lower()
    raw = SHOPIFY.read_text(encoding="utf-8").lower()
    for personal in (
        "soren.aero@example.dk",
        "zoe@example.com",
        "søren ærø",
        "nørregade",
        "+45 12 34 56 78",
        "06-12345678",
    ):
        assert personal in raw  # the export has it...
        assert personal not in text  # ...the store does not
    # nor are the plain SHA-256 digests of the e-mails (a lookup table would match them)

    for e in ("soren.aero@example.dk", "zoe@example.com"):
        digest = hashlib.sha256(e.encode()).hexdigest()
        assert digest[:16] not in text
    data = db.read_bytes()
    for personal in (b"example.dk", b"Aer\xc3\xb8", "Nørregade".encode()):
        assert personal not in data


def test_shopify_reimport_after_erase_stores_nothing_of_the_customer(tmp_path: Path) -> None:
    from cxlab.privacy.keys import keyed, keyed_contact, load_secret
    from cxlab.store import Store

    assert runner.invoke(app, ["init", str(tmp_path / "shop")]).exit_code == 0
    db = tmp_path / "shop" / "cxlab.duckdb"
    assert runner.invoke(app, ["import", "shopify", str(SHOPIFY), "--db", str(db)]).exit_code == 0
    secret = load_secret(db)
    zoe_key = keyed_contact(secret, "zoe@example.com")
    with Store(db) as store:  # what `cxlab privacy erase` leaves behind: no rows, only tombstones
        (zoe,) = store.con.execute(
            "SELECT customer_id FROM customers WHERE email_hash = ?", [zoe_key]
        ).fetchone()
        had = {
            t: store.con.execute(f"DELETE FROM {t} WHERE customer_id = ?", [zoe]).fetchone()[0]
            for t in ("customers", "orders", "events", "consent")
        }
        store.con.execute(
            "INSERT INTO _cxlab_tombstones VALUES ('customer_id', ?, now()::TIMESTAMP), "
            "('email', ?, now()::TIMESTAMP)",
            [keyed(secret, zoe), zoe_key],
        )
        before = store.counts()
    r = runner.invoke(app, ["import", "shopify", str(SHOPIFY), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    files = {f["table"]: f for f in json.loads(r.stdout)["files"]}
    assert had["orders"] == 2 and had["events"] == 3  # Zoë's two orders: two purchases and a refund
    assert {t: (f["stored"], f["erased"]) for t, f in files.items()} == {
        "customers": (0, 1),
        "orders": (0, 2),
        "events": (0, 3),
    }
    with Store(db, read_only=True) as store:
        assert store.counts() == before
        assert not store.con.execute("SELECT count(*) FROM events WHERE customer_id = ?", [zoe]).fetchone()[0]


def test_erase_by_email_finds_what_ga4_imported_under_that_email(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    db = str(tmp_path / "cxlab.duckdb")
    export = tmp_path / "events_20240305.jsonl"
    rows = [ga4_row(0, "login", [], user_id=" Anna@Example.dk "), ga4_row(5, "page_view", [], user_id="u-2")]
    export.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["import", "ga4", str(export), "--db", db]).exit_code == 0
    r = runner.invoke(
        app, ["privacy", "erase", "anna-in-the-shop", "--email", "anna@example.dk", "--db", db, "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["rows_removed"]["events"] == 1
    again = runner.invoke(app, ["import", "ga4", str(export), "--db", db, "--json"])
    assert again.exit_code == 0, again.output
    (events,) = [f for f in json.loads(again.stdout)["files"] if f["table"] == "events"]
    assert (events["stored"], events["erased"]) == (0, 1)  # u-2's event was already stored (duplicate)
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM events WHERE customer_id LIKE 'email_%'").fetchone() == (0,)
    con.close()
