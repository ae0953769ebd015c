"""Ingest keeps no clear personal data, refuses erased customers, and feeds the consent ledger."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.privacy.keys import keyed, keyed_contact
from cxlab.privacy.tables import TOMBSTONES
from cxlab.store import Store

runner = CliRunner()
EVENT_COLS = ["event_id", "ts", "customer_id", "anonymous_id", "session_id", "event", "properties"]


def write_csv(path: Path, cols: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(rows)
    return path


def all_text(store: Store, table: str) -> str:
    """Every column of every row of ``table`` as one text, to search."""
    rows = store.con.execute(f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {table}").fetchall()
    return "\n".join(" ".join(str(v) for v in r) for r in rows)


def test_events_properties_are_scrubbed_and_ordinary_ones_kept(store: Store, tmp_path: Path) -> None:
    dirty = {
        "page_location": "https://shop.nl/checkout?email=jan%40example.nl&phone=%2B31612345678&step=2",
        "customer_email": "jan@example.nl",
        "note": "terugbellen op 06-12345678 of mail jan@example.nl",
        "transaction_id": "T-100099887766",
    }
    clean = {"page_location": "https://shop.nl/p/mug?utm_source=news&variant=2", "price": "EUR 12,50"}
    p = write_csv(
        tmp_path / "events.csv",
        EVENT_COLS,
        [
            ["e1", "2024-03-05 10:00:00", "c1", None, None, "page_view", json.dumps(dirty)],
            ["e2", "2024-03-05 10:01:00", "c1", None, None, "page_view", json.dumps(clean)],
        ],
    )
    report = store.ingest("events", p)
    assert (report.stored, report.erased) == (2, 0)
    text = all_text(store, "events")
    for secret in ("jan", "example.nl", "12345678", "%40", "%2B31"):
        assert secret not in text
    props = dict(store.con.execute("SELECT event_id, properties FROM events").fetchall())
    assert json.loads(props["e1"]) == {
        "page_location": "https://shop.nl/checkout?step=2",
        "note": "terugbellen op  of mail ",
        "transaction_id": "T-100099887766",
    }
    assert json.loads(props["e2"]) == clean


def tombstone(store: Store, kind: str, key: str) -> None:
    store.con.execute(f"INSERT INTO {TOMBSTONES} VALUES (?, ?, now()::TIMESTAMP)", [kind, key])


def test_rows_of_erased_customers_are_refused_and_counted(store: Store, tmp_path: Path) -> None:
    secret = store.secret
    tombstone(store, "customer_id", keyed(secret, "gone"))
    tombstone(store, "anonymous_id", keyed(secret, "anon-gone"))
    tombstone(store, "email", keyed_contact(secret, "gone@example.nl"))
    events = write_csv(
        tmp_path / "events.csv",
        EVENT_COLS,
        [
            ["e1", "2024-03-05 10:00:00", "gone", None, None, "page_view", "{}"],
            ["e2", "2024-03-05 10:00:00", None, "anon-gone", None, "page_view", "{}"],
            ["e3", "2024-03-05 10:00:00", "stays", "anon-1", None, "page_view", "{}"],
        ],
    )
    report = store.ingest("events", events)
    assert (report.rows_read, report.stored, report.erased, report.duplicate) == (3, 1, 2, 0)
    assert store.con.execute("SELECT list(event_id) FROM events").fetchone() == (["e3"],)
    customers = write_csv(
        tmp_path / "customers.csv",
        ["customer_id", "first_seen", "email_hash", "consent_email"],
        [
            ["new-id", "2024-01-01", keyed_contact(secret, "gone@example.nl"), "true"],  # same e-mail, new id
            ["gone", "2024-01-01", None, "true"],
            ["ok", "2024-01-01", keyed_contact(secret, "ok@example.nl"), "true"],
        ],
    )
    report = store.ingest("customers", customers)
    assert (report.stored, report.erased) == (1, 2)
    assert store.con.execute("SELECT list(customer_id) FROM customers").fetchone() == (["ok"],)
    # nor does an erased customer get back into the consent ledger
    assert store.con.execute("SELECT list(DISTINCT customer_id) FROM consent").fetchone() == (["ok"],)
    # re-ingest: still refused, counted again, and not as duplicates
    again = store.ingest("events", events)
    assert (again.stored, again.erased, again.duplicate) == (0, 2, 1)


def test_cli_reports_erased_rows(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    with Store(db) as store:
        tombstone(store, "customer_id", keyed(store.secret, "gone"))
    p = write_csv(
        tmp_path / "orders.csv",
        ["order_id", "customer_id", "ts", "revenue", "currency"],
        [["o1", "gone", "2024-03-05", "10", "EUR"], ["o2", "stays", "2024-03-05", "12", "EUR"]],
    )
    r = runner.invoke(app, ["ingest", "orders", str(p), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    (file,) = json.loads(r.stdout)["files"]
    assert (file["stored"], file["erased"]) == (1, 1)


def ledger(store: Store) -> list[tuple[object, ...]]:
    return store.con.execute(
        "SELECT customer_id, channel, granted, source FROM consent ORDER BY customer_id, channel, ts"
    ).fetchall()


def test_customers_consent_flags_feed_the_ledger(store: Store, tmp_path: Path) -> None:
    cols = ["customer_id", "first_seen", "consent_email", "consent_sms"]
    first = write_csv(
        tmp_path / "c1.csv",
        cols,
        [["a", "2024-01-01 09:00", "true", "false"], ["b", "2024-01-02", "false", None]],
    )
    store.ingest("customers", first)
    src = "customers import"
    assert ledger(store) == [("a", "email", True, src), ("a", "sms", False, src), ("b", "email", False, src)]
    first_ts = store.con.execute(
        "SELECT ts FROM consent WHERE customer_id = 'a' AND channel = 'email'"
    ).fetchone()
    assert str(first_ts[0]) == "2024-01-01 09:00:00"  # a new customer's consent dates from first_seen
    store.ingest("customers", first)  # unchanged: no new ledger rows
    assert len(ledger(store)) == 3
    changed = write_csv(
        tmp_path / "c2.csv",
        cols,
        [["a", "2024-01-01 09:00", "false", "false"], ["b", "2024-01-02", "false", None]],
    )
    report = store.ingest("customers", changed)
    assert report.duplicate == 2  # the customers themselves are already stored...
    rows = ledger(store)
    assert len(rows) == 4 and rows[1] == ("a", "email", False, src)  # ...but the withdrawal is recorded
    current = store.con.execute(
        "SELECT arg_max(granted, ts) FROM consent WHERE customer_id = 'a' AND channel = 'email'"
    ).fetchone()
    assert current == (False,)


def test_dry_run_adds_no_consent(store: Store, tmp_path: Path) -> None:
    p = write_csv(
        tmp_path / "c.csv", ["customer_id", "first_seen", "consent_email"], [["a", "2024-01-01", "true"]]
    )
    store.ingest("customers", p, dry_run=True)
    assert ledger(store) == []


@pytest.mark.parametrize("table", ["spend", "changes"])
def test_tables_without_personal_columns_cost_nothing(store: Store, table: str) -> None:
    from cxlab.store.ingest import _erased_sql

    tombstone(store, "customer_id", "x" * 64)
    from cxlab.schema.tables import table_spec

    assert _erased_sql(store.con, table_spec(table), None, "f") is None


def test_a_customers_file_does_not_grant_again_what_was_withdrawn_elsewhere(
    store: Store, tmp_path: Path
) -> None:
    cols = ["customer_id", "first_seen", "consent_email"]
    export = write_csv(tmp_path / "c.csv", cols, [["a", "2024-01-01", "true"], ["b", "2024-01-01", "true"]])
    store.ingest("customers", export)
    # a withdraws in the preference centre; b's withdrawal came with a customers file
    store.con.execute(
        "INSERT INTO consent VALUES ('a', 'email', false, '2025-06-01', 'preference centre'), "
        "('b', 'email', false, '2025-06-01', 'customers import')"
    )
    store.ingest("customers", export)  # the (older) export still says true
    state = dict(
        store.con.execute("SELECT customer_id, arg_max(granted, ts) FROM consent GROUP BY ALL").fetchall()
    )
    assert state["a"] is False  # the withdrawal stands
    assert state["b"] is True  # what a file withdrew, a file may grant again
