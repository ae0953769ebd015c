"""Shopify orders export → canonical tables, checked against values worked out by hand from the fixture."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from cxlab.privacy.keys import keyed_contact
from cxlab.store.importers import ImporterError, ImportResult
from cxlab.store.importers import import_shopify_orders as _import_shopify_orders
from cxlab.store.importers.common import derived_id

SECRET = b"0123456789abcdef0123456789abcdef-test"


def import_shopify_orders(path: str | Path, **kw: object) -> ImportResult:
    return _import_shopify_orders(path, secret=SECRET, **kw)  # type: ignore[arg-type]


FIXTURE = Path(__file__).parent / "fixtures" / "shopify_orders.csv"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


SOREN = "soren.aero@example.dk"  # exported as "Soren.Aero@Example.DK " (case and a trailing blank)
ZOE = "zoe@example.com"  # exported as "zoe@example.com" and, on a later order, "ZOE@example.com"
NEW = "new@example.org"
SOREN_ID, ZOE_ID, NEW_ID = (derived_id(SECRET, f"shopify_{sha(e)[:16]}") for e in (SOREN, ZOE, NEW))


@pytest.fixture(scope="module")
def result() -> ImportResult:
    return import_shopify_orders(FIXTURE)


def rows(result: ImportResult, table: str, key: str) -> dict[str, dict[str, object]]:
    return {r[key]: r for r in result.tables[table].to_pylist()}


def test_tables_have_the_canonical_schema(
    result: ImportResult, assert_canonical: Callable[[pa.Table, str], None]
) -> None:
    assert set(result.tables) == {"orders", "customers", "events"}
    for name, table in result.tables.items():
        assert_canonical(table, name)


def test_orders(result: ImportResult) -> None:
    orders = rows(result, "orders", "order_id")
    assert list(orders) == ["#1001", "#1002", "#1003", "#1004", "#1005", "#1006"]
    expected = {
        # order: customer, UTC time, Total, currency, channel, status, discount, code, refunded, country
        "#1001": (
            SOREN_ID,
            datetime(2024, 3, 5, 13, 2, 11),
            1249.5,
            "DKK",
            None,
            "paid",
            50.0,
            "WELCOME10",
            0.0,
            "DK",
        ),
        "#1002": (
            ZOE_ID,
            datetime(2024, 3, 6, 9, 15, 0),
            80.0,
            "EUR",
            "app",
            "partially_refunded",
            None,
            None,
            20.0,
            "NL",
        ),
        "#1003": (None, datetime(2024, 3, 7, 16, 30, 0), 25.0, "EUR", "store", "paid", None, None, 0.0, None),
        "#1004": (
            ZOE_ID,
            datetime(2024, 3, 8, 17, 0, 0),
            120.0,
            "GBP",
            None,
            "refunded",
            None,
            None,
            120.0,
            "GB",
        ),
        "#1005": (
            NEW_ID,
            datetime(2024, 3, 9, 22, 30, 0),
            35.0,
            "EUR",
            None,
            "voided",
            None,
            None,
            None,
            "NL",
        ),
        "#1006": (None, datetime(2024, 3, 10, 7, 0, 0), 12.0, "EUR", None, None, None, None, None, None),
    }
    cols = (
        "customer_id",
        "ts",
        "revenue",
        "currency",
        "channel",
        "status",
        "discount",
        "discount_code",
        "refunded",
        "country",
    )
    for oid, values in expected.items():
        assert tuple(orders[oid][c] for c in cols) == values, oid


def test_line_items_of_multi_row_orders(result: ImportResult) -> None:
    orders = rows(result, "orders", "order_id")
    assert orders["#1001"]["items"] == [
        {"product_id": "JAM-BLB", "quantity": 2, "price": 45.0},
        {"product_id": "uldtæppe-nordlys", "quantity": 1, "price": 1100.0},  # no sku: slug of the name
        {"product_id": "GIFT-50", "quantity": 1, "price": 50.0},
    ]
    assert orders["#1004"]["items"] == [
        {"product_id": "SOCK-1", "quantity": 3, "price": 10.0},
        {"product_id": "HAT-2", "quantity": 1, "price": 90.0},
    ]
    assert orders["#1003"]["items"] == [{"product_id": "COF", "quantity": 1, "price": 25.0}]


def test_offsets_are_converted_to_utc(result: ImportResult) -> None:
    ts = {o: r["ts"] for o, r in rows(result, "orders", "order_id").items()}
    assert ts["#1001"] == datetime(2024, 3, 5, 13, 2, 11)  # 14:02:11 +0100
    assert ts["#1003"] == datetime(2024, 3, 7, 16, 30)  # 18:30 +0200
    assert ts["#1004"] == datetime(2024, 3, 8, 17, 0)  # 12:00 -0500
    assert ts["#1005"] == datetime(2024, 3, 9, 22, 30)  # 23:30 +0100, the day before in UTC
    assert result.tables["orders"].schema.field("ts").type == pa.timestamp("us")  # naive, meaning UTC


def test_customers(result: ImportResult) -> None:
    customers = rows(result, "customers", "customer_id")
    assert set(customers) == {SOREN_ID, ZOE_ID, NEW_ID}
    soren, zoe, new = customers[SOREN_ID], customers[ZOE_ID], customers[NEW_ID]
    assert soren["email_hash"] == keyed_contact(SECRET, SOREN)
    assert zoe["email_hash"] == keyed_contact(SECRET, ZOE)
    assert new["email_hash"] == keyed_contact(SECRET, NEW)
    assert soren["phone_hash"] == keyed_contact(SECRET, "+4512345678")  # "+45 12 34 56 78"
    assert zoe["phone_hash"] == keyed_contact(SECRET, "0612345678")  # Billing Phone "06-12345678" on #1002
    # keyed: a plain SHA-256 table of the e-mails matches nothing
    assert {soren["email_hash"], zoe["email_hash"]} & {sha(SOREN), sha(ZOE)} == set()
    assert new["phone_hash"] is None
    # Zoë's two orders (e-mail in two cases) make one customer: first order's time, latest country/consent
    assert zoe["first_seen"] == datetime(2024, 3, 6, 9, 15)
    assert (zoe["country"], zoe["consent_email"]) == ("GB", True)
    assert (soren["first_seen"], soren["country"], soren["consent_email"]) == (
        datetime(2024, 3, 5, 13, 2, 11),
        "DK",
        True,
    )
    assert (new["country"], new["consent_email"]) == ("NL", None)
    for c in customers.values():
        assert c["language"] is None and c["birthday"] is None and c["consent_sms"] is None


def test_events(result: ImportResult) -> None:
    events = rows(result, "events", "event_id")
    purchases = {k: v for k, v in events.items() if v["event"] == "purchase"}
    assert sorted(purchases) == [f"shopify:#100{i}:purchase" for i in range(1, 7)]
    p1 = purchases["shopify:#1001:purchase"]
    assert (p1["ts"], p1["customer_id"], p1["anonymous_id"], p1["revenue"], p1["touchpoint"]) == (
        datetime(2024, 3, 5, 13, 2, 11),
        SOREN_ID,
        None,
        1249.5,
        "checkout",
    )
    assert json.loads(str(p1["properties"])) == {
        "order_id": "#1001",
        "financial_status": "paid",
        "source": "web",
    }
    pos = purchases["shopify:#1003:purchase"]
    assert (pos["customer_id"], pos["anonymous_id"], pos["channel"]) == (None, "shopify_guest:#1003", "store")
    assert purchases["shopify:#1002:purchase"]["channel"] == "app"
    assert sum(float(str(p["revenue"])) for p in purchases.values()) == 1249.5 + 80 + 25 + 120 + 35 + 12
    refunds = {k: v for k, v in events.items() if v["event"] == "refund"}
    # #1004 (refunded, Cancelled at 10:00 +0100) has a dated refund; #1002 (partially refunded) has no date
    assert list(refunds) == ["shopify:#1004:refund"]
    r = refunds["shopify:#1004:refund"]
    assert (r["ts"], r["revenue"], r["customer_id"], r["touchpoint"]) == (
        datetime(2024, 3, 10, 9, 0),
        120.0,
        ZOE_ID,
        "returns",
    )
    assert len(events) == 7


def test_warnings(result: ImportResult) -> None:
    text = "\n".join(result.warnings)
    assert "2 order(s) without an e-mail" in text
    assert "'expired' (1)" in text
    assert "1 refund(s) without a date" in text


def test_no_contact_details_in_clear(
    result: ImportResult, all_strings: Callable[[pa.Table], Iterator[str]]
) -> None:
    secrets = [
        "soren.aero",
        "example.dk",
        "zoe@",
        "new@example",
        "Søren",
        "Ærø",
        "Zoë",
        "Smith",
        "Jan de Vries",
        "Nørregade",
        "Keizersgracht",
        "Baker Street",
        "12 34 56 78",
        "12345678",
        "06-1234",
        "0612345678",
        "Ring twice",
        "København",
        "1015 CJ",
    ]
    texts = [s.lower() for t in result.tables.values() for s in all_strings(t)] + [
        w.lower() for w in result.warnings
    ]
    assert texts
    for secret in secrets:
        assert not [t for t in texts if secret.lower() in t], secret


def test_importing_twice_gives_the_same_tables(result: ImportResult) -> None:
    again = import_shopify_orders(str(FIXTURE))
    for name, table in result.tables.items():
        assert again.tables[name].equals(table), name


def test_uses_a_given_connection_without_leaving_tables(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    con.execute("CREATE TABLE keep (x INTEGER)")
    res = import_shopify_orders(FIXTURE, con=con)
    assert res.tables["orders"].num_rows == 6
    tables = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    assert tables == [("keep",)]


def write(path: Path, header: str, *lines: str) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


HEADER = (
    "Name,Email,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Lineitem sku,Notes"
)


def test_not_an_orders_export(tmp_path: Path) -> None:
    p = write(tmp_path / "customers.csv", "Name,Email,Phone", "Zoë,zoe@example.com,+31 6 1")
    with pytest.raises(ImporterError) as e:
        import_shopify_orders(p)
    msg = str(e.value)
    assert str(p) in msg and "'Created at'" in msg and "'Total'" in msg and "missing columns" in msg
    assert "zoe@" not in msg


def test_bad_values_name_file_row_and_field(tmp_path: Path) -> None:
    p = write(
        tmp_path / "orders.csv",
        HEADER,
        '#1,a@example.com,paid,EUR,10.00,2024-03-05 14:02:11 +0100,1,Mug,10.00,MUG,"line one, and\nline two"',
        "#2,b@example.com,paid,EUR,12.00,yesterday,1,Mug,12.00,MUG,",
        "#3,c@example.com,paid,EUR,abc,2024-03-05 14:02:11 +0100,x,Mug,1O.00,MUG,",
    )
    with pytest.raises(ImporterError) as e:
        import_shopify_orders(p)
    msg = str(e.value)
    # row numbers count records, header = 1: the quoted newline in row 2 does not shift them
    assert f"{p}:3: Created at: not a date-time" in msg and "'yesterday'" in msg
    assert f"{p}:4: Total: not a number: 'abc'" in msg
    assert f"{p}:4: Lineitem quantity: not a whole number: 'x'" in msg
    assert f"{p}:4: Lineitem price: not a number: '1O.00'" in msg
    assert msg.startswith(f"{p}: 4 bad values")


def test_at_most_twenty_errors_are_listed(tmp_path: Path) -> None:
    lines = [f"#{i},,paid,EUR,{i}x,2024-03-05 14:02:11 +0100,1,Mug,1.00,MUG," for i in range(25)]
    p = write(tmp_path / "orders.csv", HEADER, *lines)
    with pytest.raises(ImporterError) as e:
        import_shopify_orders(p)
    msg = str(e.value)
    assert msg.count(": Total: not a number") == 20
    assert "... and 5 more" in msg
    assert f"{p}:2: Total" in msg and f"{p}:21: Total" in msg and f"{p}:22: Total" not in msg


def test_missing_currency_needs_a_default(tmp_path: Path) -> None:
    header = "Name,Email,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku"
    p = write(tmp_path / "orders.csv", header, "#9,z@example.com,5.00,2024-01-01 00:00:00 +0000,1,Pen,5.00,")
    with pytest.raises(ImporterError, match=r"orders.csv:2: Currency: missing"):
        import_shopify_orders(p)
    res = import_shopify_orders(p, default_currency="eur")
    order = res.tables["orders"].to_pylist()[0]
    assert order["currency"] == "EUR"
    assert order["items"] == [{"product_id": "pen", "quantity": 1, "price": 5.0}]


def test_missing_file_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ImporterError, match="no such file"):
        import_shopify_orders(tmp_path / "nope.csv")
    p = tmp_path / "binary.csv"
    p.write_bytes(b"\x00\x01\x02\xff\xfe" * 50)
    with pytest.raises(ImporterError, match=str(p.name)):
        import_shopify_orders(p)


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    p = tmp_path / "bom.csv"
    shutil.copy(FIXTURE, p)
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert import_shopify_orders(p).tables["orders"].num_rows == 6


def test_semicolon_separated_file_is_read(tmp_path: Path) -> None:
    p = write(
        tmp_path / "resaved.csv",
        HEADER.replace(",", ";"),
        "#1;a@example.com;paid;EUR;10.00;2024-03-05 14:02:11 +0100;1;Mug;10.00;MUG;",
    )
    order = import_shopify_orders(p).tables["orders"].to_pylist()[0]
    assert (order["order_id"], order["revenue"], order["ts"]) == ("#1", 10.0, datetime(2024, 3, 5, 13, 2, 11))
