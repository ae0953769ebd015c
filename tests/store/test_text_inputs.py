"""Text files as shops export them: any encoding, Excel's dialects, broken quotes, huge fields; and values
no shop has (year 10000, NaN prices, 1e29 amounts) refused with their row and field."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

import cxlab.store.sources
from cxlab.store import IngestError, Store

EVENTS_HEADER = "event_id,ts,anonymous_id,event,campaign\n"
CAMPAIGNS = ["café", "Été 2024", "Søndag – tilbud", "plain"]
"""Latin-1 (and cp1252, for the en dash) text: the rows the old reader silently dropped as duplicates."""


def events_text(campaigns: list[str]) -> str:
    return EVENTS_HEADER + "".join(
        f"e{i},2024-01-0{i + 1},a{i},page_view,{c}\n" for i, c in enumerate(campaigns)
    )


def stored_campaigns(store: Store) -> list[str]:
    return [r[0] for r in store.con.execute("SELECT campaign FROM events ORDER BY event_id").fetchall()]


def test_latin1_rows_are_all_stored_with_their_text(store: Store, tmp_path: Path) -> None:
    latin = [*CAMPAIGNS[:2], "Søndag", "plain"]
    path = tmp_path / "events.csv"
    path.write_bytes(events_text(latin).encode("latin-1"))
    r = store.ingest("events", path)
    assert (r.rows_read, r.stored, r.duplicate, r.rejected) == (4, 4, 0, 0)
    assert r.encoding == "cp1252"  # cp1252 is a superset of Latin-1's printable characters
    assert stored_campaigns(store) == latin


@pytest.mark.parametrize("dry_run", [False, True])
def test_cp1252_with_euro_and_curly_quotes(store: Store, tmp_path: Path, dry_run: bool) -> None:
    text = (
        "feedback_id,ts,source,score,text\n"
        'f1,2024-01-01,review,5,"Prijs €12 – “top”, snel geleverd"\n'
        "f2,2024-01-02,review,1,Très déçu\n"
        "f3,2024-01-03,review,4,ok\n"
    )
    path = tmp_path / "reviews.csv"
    path.write_bytes(text.encode("cp1252"))
    r = store.ingest("feedback", path, dry_run=dry_run)
    assert (r.rows_read, r.stored, r.rejected, r.encoding) == (3, 3, 0, "cp1252")
    texts = [t for (t,) in store.con.execute("SELECT text FROM feedback ORDER BY 1").fetchall()]
    assert texts == ([] if dry_run else ["Prijs €12 – “top”, snel geleverd", "Très déçu", "ok"])


def test_undefined_cp1252_bytes_fall_back_to_latin1(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(events_text(["x\x81y", "plain"]).encode("latin-1"))
    r = store.ingest("events", path)
    assert (r.stored, r.encoding) == (2, "latin-1")
    assert stored_campaigns(store) == ["x\x81y", "plain"]


def test_gzipped_utf16_and_utf8_bom_and_given_encoding(tmp_path: Path) -> None:
    text = events_text(CAMPAIGNS)
    jsonl = "".join(
        json.dumps(
            dict(zip(EVENTS_HEADER.strip().split(","), row.split(","), strict=True)), ensure_ascii=False
        )
        + "\n"
        for row in text.splitlines()[1:]
    )
    inputs = {
        "latin.csv.gz": (gzip.compress(text.encode("cp1252")), None, "cp1252"),
        "u16.csv": (text.encode("utf-16"), None, "utf-16"),
        "bom.csv": (text.encode("utf-8-sig"), None, "utf-8"),
        # a tool that writes a UTF-8 byte-order mark before Windows-1252 text: the mark is no data
        "bom-cp1252.csv": (b"\xef\xbb\xbf" + text.encode("cp1252"), None, "cp1252"),
        "given.csv": (text.encode("cp1252"), "windows-1252", "cp1252"),
        "latin.jsonl": (jsonl.encode("cp1252"), None, "cp1252"),
    }
    for i, (name, (data, given, used)) in enumerate(inputs.items()):
        (tmp_path / name).write_bytes(data)
        with Store(tmp_path / f"s{i}.duckdb") as s:
            r = s.ingest("events", tmp_path / name, encoding=given)
            assert (r.stored, r.encoding) == (4, used), name
            assert stored_campaigns(s) == CAMPAIGNS, name


def test_wrong_or_unknown_encoding_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(events_text(CAMPAIGNS).encode("cp1252"))
    with pytest.raises(IngestError, match=r"events\.csv: not valid utf-8 text \(try another --encoding"):
        store.ingest("events", path, encoding="utf-8")
    with pytest.raises(IngestError, match="unknown encoding 'klingon'"):
        store.ingest("events", path, encoding="klingon")
    assert store.counts()["events"] == 0


def test_semicolon_and_tab_dialects(store: Store, tmp_path: Path) -> None:
    semi = tmp_path / "nl.csv"
    semi.write_text(
        "event_id;ts;anonymous_id;event;revenue\n"
        "e1;2024-01-01;a;purchase;12.5\n"
        'e2;2024-01-02;a;page_view;"1"\n'
    )
    tab = tmp_path / "x.tsv"
    tab.write_text("event_id\tts\tanonymous_id\tevent\ne3\t2024-01-01\ta,b\tpage_view\n")
    assert store.ingest("events", semi).stored == 2
    assert store.ingest("events", tab).stored == 1
    rows = store.con.execute("SELECT event_id, anonymous_id, revenue FROM events ORDER BY 1").fetchall()
    assert rows == [("e1", "a", 12.5), ("e2", "a", 1.0), ("e3", "a,b", None)]


@pytest.mark.parametrize(
    ("table", "text", "row"),
    [
        ("customers", 'customer_id,first_seen\nc1,2024-01-01\n"c2,2024-01-02\nc3,2024-01-03\n', 3),
        (
            "events",
            EVENTS_HEADER + "e1,2024-01-01,a,v,x\ne2,2024-01-01,a,v,x\n" + '"e3,2024-01-01,a,v,x\n',
            4,
        ),
        ("changes", 'change_id,ts,touchpoint,description\nk1,2024-01-01,site,"new button\n', 2),
    ],
)
def test_unterminated_quote_is_refused_at_its_row(
    store: Store, tmp_path: Path, table: str, text: str, row: int
) -> None:
    path = tmp_path / f"{table}.csv"
    path.write_text(text)
    with pytest.raises(IngestError) as info:
        store.ingest(table, path)
    assert str(info.value.errors[0]).startswith(f"{path}:{row}: (row): malformed CSV row: unterminated quote")
    assert store.counts()[table] == 0


def test_ten_megabyte_field_is_stored(store: Store, tmp_path: Path) -> None:
    big = "x" * (10 * 2**20)
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,ts,anonymous_id,event,properties\n"
        f'e1,2024-01-01,a,view,"{{""note"": ""{big}""}}"\ne2,2024-01-01,a,view,\n'
    )
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text(
        json.dumps({"event_id": "e3", "ts": "2024-01-01", "anonymous_id": "a", "event": "v", "campaign": big})
    )
    assert store.ingest("events", path).stored == 2
    assert store.ingest("events", jsonl).stored == 1
    assert store.con.execute(
        "SELECT max(length(properties)), max(length(campaign)) FROM events"
    ).fetchone() == (
        len(big) + 12,
        len(big),
    )


def test_line_over_the_limit_names_its_row_and_size(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cxlab.store.sources, "MAX_LINE", 4096)
    path = tmp_path / "events.csv"
    path.write_text(EVENTS_HEADER + "e1,2024-01-01,a,v,x\n" + f"e2,2024-01-01,a,v,{'y' * 5000}\n")
    with pytest.raises(IngestError) as info:
        store.ingest("events", path)
    assert str(info.value.errors[0]).startswith(f"{path}:3: (row): malformed CSV row: line size over maximum")


def test_bad_header_is_named(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event_id,ts,ts,event\ne1,2024-01-01,2024-01-01,v\n")
    with pytest.raises(IngestError, match="column 'ts' appears twice in the header row"):
        store.ingest("events", path)


@pytest.mark.parametrize(
    ("table", "header", "row", "expected"),
    [
        (
            "events",
            "event_id,ts,anonymous_id,event",
            "e1,10000-01-01,a,v",
            "ts: '10000-01-01' is out of range",
        ),
        ("events", "event_id,ts,anonymous_id,event", "e1,1899-12-31,a,v", "ts: '1899-12-31' is out of range"),
        (
            "customers",
            "customer_id,first_seen,birthday",
            "c1,2024-01-01,0001-01-01",
            "birthday: '0001-01-01'",
        ),
        ("orders", "order_id,ts,revenue,currency", "o1,2024-01-01,1.2e29,EUR", "implausible amount '1.2e29'"),
        ("spend", "date,channel,campaign,cost", "2024-01-01,email,x,5e12", "implausible amount '5e12'"),
        (
            "orders",
            "order_id,ts,revenue,currency,items",
            'o1,2024-01-01,1,EUR,"[{""product_id"": ""p"", ""quantity"": 1, ""price"": NaN}]"',
            "items: bad item in",
        ),
        (
            "orders",
            "order_id,ts,revenue,currency,items",
            'o1,2024-01-01,1,EUR,"[{""product_id"": ""p"", ""quantity"": 1, ""price"": Infinity}]"',
            "items: bad item in",
        ),
        (
            "orders",
            "order_id,ts,revenue,currency,items",
            'o1,2024-01-01,1,EUR,"[{""product_id"": ""p"", ""quantity"": -2, ""price"": 1}]"',
            "items: bad item in",
        ),
        (  # typing would round it to 2: refused as written
            "orders",
            "order_id,ts,revenue,currency,items",
            'o1,2024-01-01,1,EUR,"[{""product_id"": ""p"", ""quantity"": 1.5, ""price"": 1}]"',
            "items: item quantity is not a whole number",
        ),
    ],
)
def test_values_no_shop_has_are_refused(
    store: Store, tmp_path: Path, table: str, header: str, row: str, expected: str
) -> None:
    path = tmp_path / f"{table}.csv"
    path.write_text(f"{header}\n{row}\n")
    with pytest.raises(IngestError) as info:
        store.ingest(table, path)
    assert str(info.value.errors[0]).startswith(f"{path}:2: ")
    assert expected in str(info.value.errors[0])


def test_largest_plausible_values_are_kept(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,ts,revenue,currency,items\n"
        'o1,2200-12-31 23:59,1e12,EUR,"[{""product_id"": ""p"", ""quantity"": 3.0, ""price"": 0.5}]"\n'
        "o2,1900-01-01,0,EUR,\n"
    )
    assert store.ingest("orders", path).stored == 2


def test_date_format_reads_us_dates_and_still_iso(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,ts,revenue,currency\no1,12/1/2010 8:26,15.3,GBP\no2,2010-12-02T10:00:00Z,1,GBP\n"
    )
    with pytest.raises(IngestError, match="unparseable timestamp '12/1/2010 8:26'"):
        store.ingest("orders", path)
    assert store.ingest("orders", path, date_format="%m/%d/%Y %H:%M").stored == 2
    rows = store.con.execute(
        "SELECT order_id, strftime(ts, '%Y-%m-%d %H:%M') FROM orders ORDER BY 1"
    ).fetchall()
    assert rows == [("o1", "2010-12-01 08:26"), ("o2", "2010-12-02 10:00")]
    with pytest.raises(IngestError, match="invalid --date-format '%Q'"):
        store.ingest("orders", path, date_format="%Q")


def test_date_format_applies_to_dates_and_names_itself_in_errors(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_text("date,channel,campaign,cost\n31/12/2023,email,x,5\n2023-31-12,email,y,5\n")
    with pytest.raises(IngestError) as info:
        store.ingest("spend", path, date_format="%d/%m/%Y")
    assert [str(e) for e in info.value.errors] == [
        f"{path}:3: date: unparseable date '2023-31-12' (expected %d/%m/%Y or ISO 8601, e.g. 2024-05-01; "
        "see --date-format)"
    ]


def test_rejects_file_is_safe_in_a_spreadsheet(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text(
        "feedback_id,ts,source,text\n"
        'f1,2024-01-01,review,"=HYPERLINK(""http://evil"",""click"")"\n'
        "f2,never,review,+cmd|' /C calc'!A0\n"
        "@SUM(A1),later,review,-2+3\n"
        "f4,2024-01-02,review,fine\n"
    )
    r = store.ingest("feedback", path, skip_bad=True)
    assert (r.stored, r.rejected) == (2, 2)
    assert r.rejects_file is not None
    with open(r.rejects_file, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(x["feedback_id"], x["text"]) for x in rows] == [
        ("f2", "'+cmd|' /C calc'!A0"),
        ("'@SUM(A1)", "'-2+3"),
    ]
    assert all(not v.startswith(("=", "+", "-", "@")) for x in rows for v in x.values())
