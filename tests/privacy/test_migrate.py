"""``cxlab privacy migrate-keys``: a store made with plain SHA-256 becomes keyed, once, audited."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.privacy.keys import keyed_contact, load_secret
from cxlab.privacy.migrate import is_keyed, migrate_keys
from cxlab.store import Store, init_project
from cxlab.store.importers.shopify import import_shopify_orders

runner = CliRunner()
FIXTURE = Path(__file__).parents[1] / "store" / "importers" / "fixtures" / "shopify_orders.csv"
EMAILS = ("ann@example.nl", "bo@example.dk")
PHONE = "+31612345678"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def old_store(folder: Path) -> Path:
    """A store as cxlab wrote it before keyed hashing: plain SHA-256 everywhere, no keyed marker."""
    db = init_project(folder)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM _cxlab_meta")
    ann, bo = (f"shopify_{sha(e)[:16]}" for e in EMAILS)
    ga = f"email_{sha('cy@example.org')[:16]}"
    con.execute(
        "INSERT INTO customers (customer_id, first_seen, email_hash, phone_hash) VALUES "
        f"('{ann}', '2024-01-01', '{sha(EMAILS[0])}', '{sha(PHONE)}'), "
        f"('{bo}', '2024-01-02', '{sha(EMAILS[1])}', NULL), ('plain-id', '2024-01-03', NULL, NULL)"
    )
    con.execute(
        "INSERT INTO orders (order_id, customer_id, ts, revenue, currency) VALUES "
        f"('#1', '{ann}', '2024-01-01', 10, 'EUR'), ('#2', NULL, '2024-01-01', 5, 'EUR')"
    )
    con.execute(
        "INSERT INTO events (event_id, ts, customer_id, anonymous_id, event) VALUES "
        f"('e1', '2024-01-01', '{ann}', NULL, 'purchase'), ('e2', '2024-01-01', '{ga}', 'a1', 'page_view'), "
        "('e3', '2024-01-01', 'plain-id', NULL, 'page_view')"
    )
    con.execute(f"INSERT INTO consent VALUES ('{bo}', 'email', true, '2024-01-02', 'customers import')")
    con.close()
    return db


def test_migration_keys_hashes_and_ids(tmp_path: Path) -> None:
    db = old_store(tmp_path / "shop")
    r = runner.invoke(app, ["privacy", "migrate-keys", "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["rows"]["customers.email_hash"] == 2 and doc["rows"]["customers.phone_hash"] == 1
    assert doc["rows"]["events.customer_id"] == 2 and doc["rows"]["orders.customer_id"] == 1
    secret = load_secret(db)
    with Store(db, read_only=True) as store:
        customers = store.con.execute(
            "SELECT customer_id, email_hash, phone_hash FROM customers ORDER BY first_seen"
        ).fetchall()
        (ann_id, ann_email, ann_phone), (bo_id, bo_email, _), plain = customers
        assert ann_email == keyed_contact(secret, EMAILS[0]) and bo_email == keyed_contact(secret, EMAILS[1])
        assert ann_phone == keyed_contact(secret, PHONE)
        assert plain == ("plain-id", None, None)  # ids not derived from an e-mail are left alone
        # a plain SHA-256 lookup table of the e-mails and phone (and of their id prefixes) matches nothing
        table = {sha(v) for v in (*EMAILS, PHONE)} | {sha(e)[:16] for e in EMAILS}
        text = " ".join(
            str(v)
            for t in ("customers", "orders", "events", "consent")
            for row in store.con.execute(f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {t}").fetchall()
            for v in row
        )
        assert not any(h in text for h in table)
        # ids stay consistent across tables and equal what the importer derives now
        assert store.con.execute("SELECT customer_id FROM orders WHERE order_id = '#1'").fetchone() == (
            ann_id,
        )
        assert store.con.execute("SELECT customer_id FROM consent").fetchone() == (bo_id,)
        audit = store.con.execute("SELECT action, rows FROM _cxlab_audit WHERE action <> 'secret'").fetchall()
        assert audit == [("migrate", doc["total"])]
    # refuses to run twice
    again = runner.invoke(app, ["privacy", "migrate-keys", "--db", str(db)])
    assert again.exit_code == 2 and "already keyed" in again.output


def test_migrated_ids_equal_a_fresh_keyed_import(tmp_path: Path) -> None:
    db = init_project(tmp_path / "shop")
    secret = load_secret(db)
    fresh = import_shopify_orders(FIXTURE, secret=secret).tables["customers"].to_pylist()
    emails = {"soren.aero@example.dk", "zoe@example.com", "new@example.org"}
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM _cxlab_meta")
    for e in emails:
        con.execute(
            "INSERT INTO customers (customer_id, first_seen, email_hash) VALUES (?, '2024-01-01', ?)",
            [f"shopify_{sha(e)[:16]}", sha(e)],
        )
    con.close()
    assert runner.invoke(app, ["privacy", "migrate-keys", "--db", str(db)]).exit_code == 0
    with Store(db, read_only=True) as store:
        migrated = set(store.con.execute("SELECT customer_id, email_hash FROM customers").fetchall())
    assert migrated == {(c["customer_id"], c["email_hash"]) for c in fresh}


def test_new_store_is_created_keyed(tmp_path: Path) -> None:
    db = init_project(tmp_path / "shop")
    with Store(db) as store:
        assert is_keyed(store.con)
    r = runner.invoke(app, ["privacy", "migrate-keys", "--db", str(db)])
    assert r.exit_code == 2 and "already keyed" in r.output


def test_migration_is_one_transaction(tmp_path: Path) -> None:
    db = old_store(tmp_path / "shop")
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE _cxlab_audit")  # the audit entry fails at the end: nothing may change
    with pytest.raises(duckdb.Error):
        migrate_keys(con, load_secret(db))
    assert con.execute("SELECT email_hash FROM customers ORDER BY first_seen LIMIT 1").fetchone() == (
        sha(EMAILS[0]),
    )
    old_id = f"shopify_{sha(EMAILS[0])[:16]}"
    assert con.execute("SELECT count(*) FROM events WHERE customer_id = ?", [old_id]).fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM _cxlab_meta").fetchone() == (0,)
