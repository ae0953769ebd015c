"""Every class of bad input gets `file:row: field: what is wrong`, and nothing is stored."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxlab.store import IngestError, Store
from tests.conftest import write

HEADER = "event_id,ts,customer_id,event,channel,revenue,properties\n"
GOOD = "e1,2024-05-01T10:00:00Z,c1,page_view,email,,\n"


def refused(store: Store, table: str, path: Path) -> list[str]:
    before = store.counts()
    with pytest.raises(IngestError) as info:
        store.ingest(table, path)
    assert store.counts() == before, "a refused file must store nothing"
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("e2,2024-05-01,c1,purchase,email,abc,", "revenue: wrong type: expected a number, got 'abc'"),
        ("e2,2024-05-01,c1,,email,,", "event: missing required value"),
        ("e2,yesterday,c1,page_view,email,,", "ts: unparseable timestamp 'yesterday'"),
        ("e2,2024-02-30T10:00:00,c1,page_view,email,,", "ts: unparseable timestamp '2024-02-30T10:00:00'"),
        ("e2,2024-05-01,c1,purchase,email,-12.5,", "revenue: negative revenue: '-12.5'"),
        ("e2,2024-05-01,c1,purchase,email,inf,", "revenue: not a finite number: 'inf'"),
        ("e2,2024-05-01,c1,page_view,tiktok,,", "channel: unknown value 'tiktok' (expected one of direct,"),
        ("e2,2024-05-01,c1,page_view,email,,{oops", "properties: not valid JSON: '{oops'"),
        (
            "e1,2024-05-02,c1,page_view,email,,",
            "event_id: duplicate key 'e1' within the file (first at row 2)",
        ),
        (
            "e2,2024-05-01,,page_view,email,,",
            "customer_id: missing required value: an event needs customer_id",
        ),
        ("e2,2024-05-01,c1,page_view", "(row): malformed CSV row: missing columns"),
    ],
)
def test_each_bad_value_is_named_by_file_row_and_field(
    store: Store, tmp_path: Path, row: str, expected: str
) -> None:
    path = write(tmp_path / "events.csv", HEADER + GOOD + row + "\n")
    errors = refused(store, "events", path)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:3: {expected}")


def test_unknown_and_missing_columns_are_header_errors(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "event_id,ts,event,colour\ne1,2024-05-01,x,red\n")
    (msg,) = refused(store, "events", path)
    assert msg.startswith(f"{path}:1: colour: unknown column 'colour' (events columns are: event_id, ts,")
    path = write(tmp_path / "f.csv", "event_id,customer_id\ne1,c1\n")
    (msg,) = refused(store, "events", path)
    assert msg == f"{path}:1: ts: missing required columns: ts, event"


def test_enums_patterns_and_rules_of_other_tables(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "feedback.csv",
        "feedback_id,ts,source,score,text,language\n"
        "f1,2024-05-01,tweet,5,great,en\n"
        "f2,2024-05-01,nps,11,,en\n"
        "f3,2024-05-01,review,4,fijn,Dutch\n"
        "f4,2024-05-01,review,,,nl\n",
    )
    assert refused(store, "feedback", path) == [
        f"{path}:2: source: unknown value 'tweet' (expected one of review, nps, csat, ces, ticket)",
        f"{path}:3: score: NPS score must be 0 to 10",
        f"{path}:4: language: 'Dutch' is not an ISO 639-1 two-letter language code such as nl",
        f"{path}:5: text: missing required value: a review or ticket needs a score or a text",
    ]
    path = write(
        tmp_path / "customers.csv",
        "customer_id,first_seen,country,birthday,consent_email\nc1,2024-05-01,Netherlands,1990-13-01,maybe\n",
    )
    assert refused(store, "customers", path) == [
        f"{path}:2: country: 'Netherlands' is not an ISO 3166 two-letter country code such as NL",
        f"{path}:2: birthday: unparseable date '1990-13-01' (expected ISO 8601, e.g. 2024-05-01; see --date-format)",
        f"{path}:2: consent_email: wrong type: expected true or false, got 'maybe'",
    ]


def test_order_items_from_json_text(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "orders.csv",
        "order_id,ts,revenue,currency,items\n"
        'o1,2024-05-01,30,EUR,"[{""product_id"": ""P1"", ""quantity"": 2, ""price"": 15}]"\n'
        'o2,2024-05-01,30,euro,"[{""product_id"": ""P1"", ""quantity"": -1, ""price"": 15}]"\n'
        "o3,2024-05-01,30,EUR,not a list\n",
    )
    errors = refused(store, "orders", path)
    assert errors[0] == f"{path}:3: currency: 'euro' is not an ISO 4217 code such as EUR"
    assert errors[1].startswith(f"{path}:3: items: bad item in ")
    assert errors[2].startswith(
        f"{path}:4: items: wrong type: expected a JSON list of {{product_id, quantity, price}}"
    )
    good = write(
        tmp_path / "ok.csv",
        "order_id,ts,revenue,currency,items\n"
        'o1,2024-05-01,30,EUR,"[{""product_id"": ""P1"", ""quantity"": 2, ""price"": 15}]"\n',
    )
    store.ingest("orders", good)
    assert store.con.execute("SELECT items FROM orders").fetchall() == [
        ([{"product_id": "P1", "quantity": 2, "price": 15.0}],)
    ]


def test_whole_file_problems(store: Store, tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.csv", "")
    assert refused(store, "events", empty) == [f"{empty}: file is empty"]
    odd = write(tmp_path / "events.xlsx", "x")
    assert "unknown file type" in refused(store, "events", odd)[0]
    assert refused(store, "events", tmp_path / "missing.csv") == [f"{tmp_path / 'missing.csv'}: no such file"]
    garbage = tmp_path / "bad.parquet"
    garbage.write_bytes(b"PAR1 this is not parquet")
    (msg,) = refused(store, "events", garbage)
    assert msg.startswith(f"{garbage}: cannot read:")


def test_json_lines_bad_lines_are_rows(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "events.jsonl",
        '{"event_id": "j1", "ts": "2024-05-01T10:00:00+02:00", "anonymous_id": "a1", "event": "page_view"}\n'
        "\n"
        "[1, 2]\n"
        '{"event_id": "j2", "ts": "2024-05-01", "anonymous_id": "a1", "event": "x", "revenue": "12,50"}\n'
        '{"event_id": "j3", "ts": 1714557600, "anonymous_id": "a1", "event": "x"\n',
    )
    assert refused(store, "events", path) == [
        f"{path}:3: (row): not a JSON object",
        f"{path}:4: revenue: wrong type: expected a number, got '12,50'",
        f"{path}:5: (row): not a JSON object",
    ]


def test_hostile_values_are_shown_escaped(store: Store, tmp_path: Path) -> None:
    nasty = "[bold red]x[/]\x1b[31m<script>alert(1)</script>\nrow"
    table = pa.table(
        {"event_id": ["h1"], "ts": ["2024-05-01"], "anonymous_id": ["a"], "event": ["x"], "channel": [nasty]}
    )
    with pytest.raises(IngestError) as info:
        store.ingest("events", table, name="hostile")
    (msg,) = [str(e) for e in info.value.errors]
    assert "\n" not in msg and "\x1b" not in msg
    assert "\\x1b" in msg and "\\n" in msg


def test_error_limit_and_count(store: Store, tmp_path: Path) -> None:
    rows = "".join(f"e{i},2024-05-01,c1,page_view,email,-{i},\n" for i in range(1, 501))
    path = write(tmp_path / "events.csv", HEADER + rows)
    with pytest.raises(IngestError) as info:
        store.ingest("events", path)
    assert len(info.value.errors) == 100
    assert info.value.report.rejected == 500
    assert str(info.value).endswith("(and 499 more bad rows)")


def test_gzipped_parquet_with_wrong_types(store: Store, tmp_path: Path) -> None:
    table = pa.table(
        {
            "event_id": ["p1", "p2"],
            "ts": ["2024-05-01 10:00", "later"],
            "anonymous_id": ["a", "b"],
            "event": ["x", "y"],
            "revenue": [1.0, -2.0],
        }
    )
    plain = tmp_path / "events.parquet"
    pq.write_table(table, plain)
    gz = tmp_path / "events.parquet.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert refused(store, "events", gz) == [
        f"{gz}:2: ts: unparseable timestamp 'later' (expected ISO 8601, e.g. 2024-05-01T13:45:00Z; see --date-format)",
        f"{gz}:2: revenue: negative revenue: '-2.0'",
    ]
