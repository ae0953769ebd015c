"""GA4 BigQuery export → canonical events, checked against values worked out by hand from the fixture."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxlab.privacy.keys import keyed
from cxlab.store.importers import ImporterError, ImportResult
from cxlab.store.importers import import_ga4 as _import_ga4

SECRET = b"0123456789abcdef0123456789abcdef-test"


def import_ga4(paths: Any, **kw: Any) -> ImportResult:
    return _import_ga4(paths, secret=SECRET, **kw)


FIXTURE = Path(__file__).parent / "fixtures" / "ga4_events.jsonl"

A, B, C, D = (
    "1111111111.1709640000",
    "2222222222.1709650000",
    "3333333333.1709660000",
    "4444444444.1709670000",
)
E, F, G, H = (
    "5555555555.1709680000",
    "6666666666.1709690000",
    "7777777777.1709700000",
    "8888888888.1709710000",
)
SA, SA2, SB, SC, SD, SE, SG, SH = (
    1709640000,
    1709726400,
    1709650000,
    1709660000,
    1709670000,
    1709680000,
    1709700000,
    1709710000,
)

# One line per expected event, in time order; worked out from the fixture (see its generator comments):
# (anonymous_id, customer_id, session, event, channel, touchpoint, campaign, device, revenue, "day time" UTC)
EXPECTED = [
    (A, None, SA, "session_start", "paid_search", "site", "spring_sale", "desktop", None, "5 12:00:00"),
    (A, None, SA, "page_view", "paid_search", "site", "spring_sale", "desktop", None, "5 12:00:01"),
    (A, None, SA, "view_item", "paid_search", "product_page", "spring_sale", "desktop", None, "5 12:00:30"),
    (A, None, SA, "add_to_cart", "paid_search", "cart", "spring_sale", "desktop", None, "5 12:01:00"),
    (A, None, SA, "checkout", "paid_search", "checkout", "spring_sale", "desktop", None, "5 12:02:00"),
    (A, "cust-42", SA, "purchase", "paid_search", "checkout", "spring_sale", "desktop", 1249.5, "5 12:03:00"),
    (B, "cust-77", SB, "page_view", "social_ads", "site", "retarget_march", "mobile", None, "5 14:46:40"),
    (
        B,
        "cust-77",
        SB,
        "view_item",
        "social_ads",
        "product_page",
        "retarget_march",
        "mobile",
        None,
        "5 14:47:00",
    ),
    (C, None, SC, "page_view", "email", "site", "march_newsletter", "tablet", None, "5 17:33:20"),
    (D, None, SD, "page_view", "organic_search", "site", None, "mobile", None, "5 20:20:00"),
    (E, None, SE, "first_visit", "direct", "site", None, "desktop", None, "5 23:06:40"),
    (F, None, None, "refund", "referral", "returns", None, "desktop", None, "6 01:53:20"),
    (G, None, SG, "page_view", "paid_video", "site", "brand_video", "desktop", None, "6 04:40:00"),
    (
        H,
        None,
        SH,
        "page_view",
        "cross_network",
        "site",
        "PMax cross-network NL",
        "desktop",
        None,
        "6 07:26:40",
    ),
    (A, "cust-42", SA2, "session_start", "direct", "site", None, "desktop", None, "6 12:00:00"),
    (A, "cust-42", SA2, "page_view", "direct", "site", None, "desktop", None, "6 12:00:01"),
]
COLS = (
    "anonymous_id",
    "customer_id",
    "session_id",
    "event",
    "channel",
    "touchpoint",
    "campaign",
    "device",
    "revenue",
    "ts",
)


def expected_rows() -> list[tuple[Any, ...]]:
    out = []
    for anon, cust, sess, *rest, when in EXPECTED:
        sid = f"{anon}.{sess}" if sess is not None else None
        out.append((anon, cust, sid, *rest, datetime.strptime(f"2024-03-0{when}", "%Y-%m-%d %H:%M:%S")))
    return out


def actual_rows(res: ImportResult) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in COLS) for r in res.tables["events"].to_pylist()]


@pytest.fixture(scope="module")
def result() -> ImportResult:
    return import_ga4([FIXTURE])


# --- Parquet written the way BigQuery types the export (INT64 as integers, nested records as structs) ---

PARAM = pa.struct(
    [
        ("key", pa.string()),
        (
            "value",
            pa.struct(
                [
                    ("string_value", pa.string()),
                    ("int_value", pa.int64()),
                    ("float_value", pa.float64()),
                    ("double_value", pa.float64()),
                ]
            ),
        ),
    ]
)
ITEM = pa.struct(
    [("item_id", pa.string()), ("item_name", pa.string()), ("price", pa.float64()), ("quantity", pa.int64())]
)
SCHEMA = pa.schema(
    [
        ("event_date", pa.string()),
        ("event_timestamp", pa.int64()),
        ("event_name", pa.string()),
        ("event_params", pa.list_(PARAM)),
        ("user_id", pa.string()),
        ("user_pseudo_id", pa.string()),
        ("device", pa.struct([("category", pa.string()), ("operating_system", pa.string())])),
        ("geo", pa.struct([("continent", pa.string()), ("country", pa.string())])),
        (
            "traffic_source",
            pa.struct([("name", pa.string()), ("medium", pa.string()), ("source", pa.string())]),
        ),
        (
            "collected_traffic_source",
            pa.struct(
                [
                    ("manual_campaign_name", pa.string()),
                    ("manual_source", pa.string()),
                    ("manual_medium", pa.string()),
                    ("gclid", pa.string()),
                ]
            ),
        ),
        (
            "session_traffic_source_last_click",
            pa.struct(
                [
                    (
                        "manual_campaign",
                        pa.struct(
                            [("campaign_name", pa.string()), ("source", pa.string()), ("medium", pa.string())]
                        ),
                    )
                ]
            ),
        ),
        (
            "ecommerce",
            pa.struct(
                [
                    ("purchase_revenue", pa.float64()),
                    ("refund_value", pa.float64()),
                    ("transaction_id", pa.string()),
                ]
            ),
        ),
        ("items", pa.list_(ITEM)),
        ("batch_page_id", pa.int64()),
        ("batch_ordering_id", pa.int64()),
        ("batch_event_index", pa.int64()),
    ]
)


def coerce(v: Any, t: pa.DataType) -> Any:
    """A JSON value as Arrow type ``t`` expects it (BigQuery's JSON writes INT64 as strings)."""
    if v is None:
        return None
    if pa.types.is_struct(t):
        return {f.name: coerce(v.get(f.name), f.type) for f in t}
    if pa.types.is_list(t):
        return [coerce(x, t.value_type) for x in v]
    if pa.types.is_int64(t):
        return int(v)
    return v


def write_parquet(src: Path, dest: Path, schema: pa.Schema = SCHEMA) -> Path:
    lines = [json.loads(x) for x in src.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [{f.name: coerce(r.get(f.name), f.type) for f in schema} for r in lines]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), dest)
    return dest


# --- tests ---


def test_events_match_the_hand_computed_values(result: ImportResult) -> None:
    assert actual_rows(result) == expected_rows()


def test_schema_and_canonical_checks(
    result: ImportResult, assert_canonical: Callable[[pa.Table, str], None]
) -> None:
    assert set(result.tables) == {"events"}
    assert_canonical(result.tables["events"], "events")


def test_exact_resend_is_dropped_with_a_warning(result: ImportResult) -> None:
    assert result.tables["events"].num_rows == 16  # 17 lines, one an exact re-send of B's page_view
    assert any("1 duplicate event(s) dropped" in w for w in result.warnings)


def test_event_ids_are_deterministic(result: ImportResult, tmp_path: Path) -> None:
    ids = result.tables["events"].column("event_id").to_pylist()
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("ga4:") and len(i) == 36 for i in ids)
    # documented key: user_pseudo_id|user_id|event_timestamp|event_name|ga_session_id|batch ids
    key = f"{A}||1709640000000000|session_start|1709640000|1|1|1"
    assert ids[0] == "ga4:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    assert import_ga4([FIXTURE]).tables["events"].column("event_id").to_pylist() == ids
    gz = tmp_path / "events_20240305.jsonl.gz"
    with gzip.open(gz, "wb") as f:
        f.write(FIXTURE.read_bytes())
    assert import_ga4([gz]).tables["events"].column("event_id").to_pylist() == ids


def test_parquet_export_gives_the_same_events(result: ImportResult, tmp_path: Path) -> None:
    pq_path = write_parquet(FIXTURE, tmp_path / "events_20240305.parquet")
    from_parquet = import_ga4([pq_path])
    assert from_parquet.tables["events"].equals(result.tables["events"])
    assert actual_rows(from_parquet) == expected_rows()


def test_parquet_without_optional_columns(tmp_path: Path) -> None:
    slim = pa.schema(
        [
            f
            for f in SCHEMA
            if f.name in ("event_timestamp", "event_name", "event_params", "user_pseudo_id", "device")
        ]
    )
    p = write_parquet(FIXTURE, tmp_path / "slim.parquet", slim)
    res = import_ga4([p])
    ev = {(r["anonymous_id"], r["ts"]): r for r in res.tables["events"].to_pylist()}
    # event-level source params still give channels; without any traffic source a visit is direct
    assert ev[(A, datetime(2024, 3, 5, 12, 0, 1))]["channel"] == "paid_search"  # inherited in the session
    assert ev[(D, datetime(2024, 3, 5, 20, 20))]["channel"] == "direct"
    assert ev[(A, datetime(2024, 3, 5, 12, 3))]["revenue"] == 1249.5  # no ecommerce: the `value` parameter
    assert ev[(A, datetime(2024, 3, 5, 12, 3))]["customer_id"] is None


def test_properties(result: ImportResult) -> None:
    ev = result.tables["events"].to_pylist()
    props = [json.loads(str(r["properties"])) for r in ev]
    purchase = props[5]
    assert purchase["transaction_id"] == "#1001" and purchase["currency"] == "DKK"
    assert purchase["value"] == 1249.5
    assert purchase["items"] == [
        {"item_id": "JAM-BLB", "item_name": "Blåbær marmelade", "price": 45.0, "quantity": 2}
    ]
    assert purchase["channel_from"] == "session"  # inherited from the session's first event
    assert props[0]["channel_from"] == "event" and props[0]["ga_session_number"] == 1
    assert props[0]["page_location"].startswith("https://shop.example/?gclid=abc123")
    assert props[4]["ga4_event"] == "begin_checkout"
    assert props[11]["refund_value"] == 20.0 and props[11]["transaction_id"] == "#1002"
    assert props[14]["channel_from"] == "session_last_click"
    assert props[9]["channel_from"] == "first_user_touch"
    for p in props:
        assert "ga_session_id" not in p and "campaign" not in p


def test_a_folder_means_its_files(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "events_20240305.jsonl")
    (tmp_path / "notes.txt").write_text("not an export")
    assert import_ga4(tmp_path).tables["events"].num_rows == 16


def test_several_files_keep_one_copy_of_each_event(tmp_path: Path) -> None:
    copy = tmp_path / "copy.jsonl"
    shutil.copy(FIXTURE, copy)
    res = import_ga4([FIXTURE, copy])
    assert res.tables["events"].num_rows == 16
    assert any("18 duplicate event(s)" in w for w in res.warnings)  # 34 rows, 16 distinct


def jsonl(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def ok_row(ts: str | None = "1709640000000000", name: str = "page_view") -> dict[str, Any]:
    row: dict[str, Any] = {"event_name": name, "event_params": [], "user_pseudo_id": "1.2"}
    if ts is not None:
        row["event_timestamp"] = ts
    return row


def test_missing_columns(tmp_path: Path) -> None:
    p = jsonl(tmp_path / "events.jsonl", {"event_name": "page_view", "ts": 1})
    with pytest.raises(ImporterError) as e:
        import_ga4([p])
    msg = str(e.value)
    assert str(p) in msg and "event_timestamp" in msg and "user_pseudo_id" in msg and "event_params" in msg
    assert "event_name," not in msg
    pq_path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"order_id": ["#1"]}), pq_path)
    with pytest.raises(ImporterError, match=r"other\.parquet: not a GA4 BigQuery events export"):
        import_ga4([pq_path])


def test_row_without_event_timestamp(tmp_path: Path) -> None:
    p = jsonl(tmp_path / "events.jsonl", ok_row(), ok_row(ts=None), ok_row(ts="soon"), ok_row(ts="1709640"))
    with pytest.raises(ImporterError) as e:
        import_ga4([p])
    msg = str(e.value)
    assert f"{p}:2: event_timestamp: missing" in msg
    assert f"{p}:3: event_timestamp: not an integer (microseconds since 1970, UTC): 'soon'" in msg
    assert f"{p}:4: event_timestamp: out of range" in msg


def test_errors_name_the_right_file(tmp_path: Path) -> None:
    good = jsonl(tmp_path / "a.jsonl", ok_row())
    bad = jsonl(tmp_path / "b.jsonl", ok_row(), ok_row(name=""))
    with pytest.raises(ImporterError) as e:
        import_ga4([good, bad])
    assert f"{bad}:2: event_name: missing" in str(e.value)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "events.csv"
    p.write_text("a,b\n")
    with pytest.raises(ImporterError, match="unknown format"):
        import_ga4([p])
    with pytest.raises(ImporterError, match="no such file"):
        import_ga4([tmp_path / "nope.jsonl"])


def test_empty_file_gives_no_events(tmp_path: Path) -> None:
    p = tmp_path / "events_intraday.jsonl"
    p.write_text("")
    res = import_ga4([p])
    assert res.tables["events"].num_rows == 0
    assert "no rows" in res.warnings[0]


def test_user_id_that_is_an_email_is_hashed(tmp_path: Path) -> None:
    row = {**ok_row(), "user_id": " Zoe@Example.com "}
    res = import_ga4([jsonl(tmp_path / "events.jsonl", row)])
    ev = res.tables["events"].to_pylist()[0]
    legacy = "email_" + hashlib.sha256(b"zoe@example.com").hexdigest()[:16]
    assert ev["customer_id"] == "email_" + keyed(SECRET, legacy)[:16]
    assert "zoe@" not in json.dumps(ev, default=str).lower()
    assert any("look like e-mail addresses" in w for w in res.warnings)


def test_json_and_parquet_files_together(tmp_path: Path) -> None:
    a = jsonl(tmp_path / "events_20240301.jsonl", ok_row())
    b = write_parquet(FIXTURE, tmp_path / "events_20240305.parquet")
    res = import_ga4([a, b])
    assert res.tables["events"].num_rows == 17
