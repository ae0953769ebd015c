"""Erasing a customer: no row and no byte of theirs left in the store file, linked anonymous ids and voice
results gone, other customers untouched, tombstones that refuse their data later, an audit entry."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.privacy.audit import entries
from cxlab.privacy.erase import erase, found_in_file
from cxlab.privacy.keys import keyed, keyed_contact, load_secret
from cxlab.privacy.tables import TOMBSTONES
from cxlab.store import Store
from cxlab.voice.tables import ensure_tables
from cxlab.voice.text import clean_text, text_hash

runner = CliRunner()


def _distinctive(seed: int) -> str:
    """A long text no other row shares: random words, so DuckDB keeps it verbatim in the file."""
    rng = random.Random(seed)
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9))) for _ in range(40)]
    return "Het pakket kwam te laat " + " ".join(words)


SECRET_TEXT = _distinctive(1)
GUEST_TEXT = _distinctive(2)
OTHER_TEXT = _distinctive(3)
SHARED_TEXT = "Top product, fast delivery, would buy again!"
ANNA_EMAIL = "Anna.de.Vries@Example.nl"


def write_files(d: Path) -> dict[str, Path]:
    """CSV exports of a small shop: Anna (C100) with a device A1 and a device A2 shared with Bob (C200)."""
    files = {
        "customers": (
            "customer_id,first_seen,country,email_hash\n"
            "C100,2025-01-02T10:00:00,NL,{anna}\n"
            "C200,2025-01-03T10:00:00,DK,\n"
            "C300,2025-01-04T10:00:00,NL,{anna}\n"
        ),
        "events": (
            "event_id,ts,customer_id,anonymous_id,event,channel,touchpoint,revenue\n"
            "e1,2025-01-01T09:00:00,,A1,page_view,organic_search,site,\n"
            "e2,2025-01-02T10:00:00,C100,A1,purchase,organic_search,checkout,40\n"
            "e3,2025-01-02T11:00:00,C100,A2,page_view,direct,site,\n"
            "e4,2025-01-03T10:00:00,C200,A2,purchase,direct,checkout,25\n"
            "e5,2025-01-03T11:00:00,,A2,page_view,direct,site,\n"
            "e6,2025-01-04T10:00:00,C200,B1,page_view,email,site,\n"
            "e7,2025-01-05T10:00:00,C300,A3,page_view,email,site,\n"
        ),
        "orders": (
            "order_id,customer_id,ts,revenue,currency\n"
            "O1,C100,2025-01-02T10:00:00,40,EUR\n"
            "O2,C200,2025-01-03T10:00:00,25,EUR\n"
        ),
        "feedback": (
            "feedback_id,customer_id,ts,source,score,text,order_id\n"
            f'F1,C100,2025-01-06T10:00:00,review,2,"{SECRET_TEXT}",O1\n'
            f'F2,,2025-01-06T11:00:00,review,3,"{GUEST_TEXT}",O1\n'
            f'F3,C100,2025-01-06T12:00:00,review,5,"{SHARED_TEXT}",\n'
            f'F4,C200,2025-01-07T10:00:00,review,5,"{SHARED_TEXT}",O2\n'
            f'F5,C200,2025-01-07T11:00:00,review,4,"{OTHER_TEXT}",O2\n'
        ),
        "exposures": (
            "experiment_id,variant,customer_id,ts\n"
            "X1,a,C100,2025-01-01T00:00:00\n"
            "X1,b,C200,2025-01-01T00:00:00\n"
        ),
        "consent": (
            "customer_id,channel,granted,ts,source\n"
            "C100,email,true,2025-01-02T10:00:00,signup\n"
            "C200,email,true,2025-01-03T10:00:00,signup\n"
        ),
    }
    out = {}
    for table, text in files.items():
        out[table] = d / f"{table}.csv"
        out[table].write_text(text, encoding="utf-8")
    return out


def make_store(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    db = tmp_path / "shop" / "cxlab.duckdb"
    db.parent.mkdir()
    secret = load_secret(db, create=True)
    anna = keyed_contact(secret, "anna.de.vries@example.nl")
    files = write_files(tmp_path)
    files["customers"].write_text(files["customers"].read_text().replace("{anna}", anna))
    with Store(db) as store:
        for table in ("customers", "events", "orders", "feedback", "exposures", "consent"):
            assert store.ingest(table, files[table]).stored > 0
        ensure_tables(store.con)
        for fid, text in (("F1", SECRET_TEXT), ("F2", GUEST_TEXT), ("F3", SHARED_TEXT), ("F4", SHARED_TEXT)):
            h = text_hash(clean_text(text))
            store.con.execute(
                "INSERT INTO voice_texts VALUES (?, ?, 'nl', 'negative', 0.8, 0.1, 0.1, 'h', 'm')", [fid, h]
            )
        for text in (SECRET_TEXT, GUEST_TEXT, SHARED_TEXT, OTHER_TEXT):
            store.con.execute(
                "INSERT INTO voice_embeddings VALUES ('m', ?, [0.1, 0.2])", [text_hash(clean_text(text))]
            )
    return db, files


def ids(db: Path, sql: str) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.execute(sql).fetchall()]
    finally:
        con.close()


def test_erase_removes_every_row_and_byte_and_keeps_the_others(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    needle = SECRET_TEXT.encode()
    assert found_in_file(db, [needle, GUEST_TEXT.encode()]) == 2  # else the byte check proves nothing

    result = runner.invoke(app, ["privacy", "erase", "C100", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["customer_id"] == "C100"
    removed = doc["rows_removed"]
    # events: e2, e3 (their id) and e1 (anonymous, A1 linked to them alone); e5 stays: A2 is shared with C200
    assert removed["events"] == 3
    assert (removed["orders"], removed["feedback"], removed["exposures"], removed["consent"]) == (1, 3, 1, 1)
    assert removed["customers"] == 1
    assert removed["voice_texts"] == 3
    assert removed["voice_embeddings"] == 2  # the shared text's embedding stays for C200's F4

    assert ids(db, "SELECT event_id FROM events ORDER BY 1") == ["e4", "e5", "e6", "e7"]
    assert ids(db, "SELECT feedback_id FROM feedback ORDER BY 1") == ["F4", "F5"]
    assert ids(db, "SELECT feedback_id FROM voice_texts") == ["F4"]
    assert ids(db, "SELECT customer_id FROM customers ORDER BY 1") == ["C200", "C300"]
    assert ids(db, "SELECT count(*) FROM voice_embeddings") == [2]
    for table in ("orders", "exposures", "consent"):
        assert ids(db, f"SELECT DISTINCT customer_id FROM {table}") == ["C200"]
    # no byte of their texts left in the file or a WAL
    data = db.read_bytes()
    assert needle not in data and GUEST_TEXT.encode() not in data
    assert (
        not db.with_name(db.name + ".wal").exists()
        or needle not in db.with_name(db.name + ".wal").read_bytes()
    )
    assert OTHER_TEXT.encode() in data  # the other customer's text is still there
    assert doc["compacted"] is True and doc["left_in_file"] == 0

    secret = load_secret(db)
    stones = set(ids(db, f"SELECT kind || ':' || key FROM {TOMBSTONES}"))
    assert f"customer_id:{keyed(secret, 'C100')}" in stones
    assert f"anonymous_id:{keyed(secret, 'A1')}" in stones
    assert f"anonymous_id:{keyed(secret, 'A2')}" not in stones  # shared with C200
    assert f"email:{keyed_contact(secret, 'anna.de.vries@example.nl')}" in stones
    assert not any("C100" in s or "A1" in s for s in stones)
    con = duckdb.connect(str(db), read_only=True)
    (entry,) = entries(con)
    con.close()
    assert (entry["action"], entry["subject"], entry["rows"]) == ("erase", keyed(secret, "C100"), 15)
    assert "C100" not in json.dumps(entry, default=str)


def test_email_finds_every_account_of_the_person(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    result = erase(db, "C100", email="  anna.de.vries@EXAMPLE.nl ")
    assert result.customers == 2  # C300 has the same e-mail
    assert ids(db, "SELECT customer_id FROM customers") == ["C200"]
    assert ids(db, "SELECT event_id FROM events ORDER BY 1") == ["e4", "e5", "e6"]


def test_unknown_customer_still_gets_a_tombstone(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    before = db.read_bytes()
    result = runner.invoke(app, ["privacy", "erase", "C999", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert sum(doc["rows_removed"].values()) == 0 and doc["tombstones"] == 1
    assert ids(db, f"SELECT key FROM {TOMBSTONES}") == [keyed(load_secret(db), "C999")]
    assert len(before) > 0 and ids(db, "SELECT count(*) FROM events") == [7]
    human = runner.invoke(app, ["privacy", "erase", "C999", "--db", str(db)])
    assert "No rows about customer C999" in human.output
    assert ids(db, f"SELECT count(*) FROM {TOMBSTONES}") == [1]  # not recorded twice


def test_reingest_after_erase_stores_nothing_of_them(tmp_path: Path) -> None:
    db, files = make_store(tmp_path)
    assert runner.invoke(app, ["privacy", "erase", "C100", "--db", str(db)]).exit_code == 0
    stored = {}
    for table in ("customers", "events", "orders", "feedback", "exposures", "consent"):
        result = runner.invoke(app, ["ingest", table, str(files[table]), "--db", str(db), "--json"])
        assert result.exit_code == 0, result.output
        stored[table] = json.loads(result.stdout)["files"][0]
    assert stored["events"]["erased"] == 3  # e1 (A1), e2, e3 refused and counted
    # C100, and C300 too: it carries Anna's e-mail key, which her erasure tombstoned
    assert stored["customers"]["erased"] == 2
    assert ids(db, "SELECT count(*) FROM events WHERE customer_id = 'C100' OR anonymous_id = 'A1'") == [0]
    assert ids(db, "SELECT count(*) FROM customers WHERE customer_id = 'C100'") == [0]
    assert ids(db, "SELECT count(*) FROM orders WHERE customer_id = 'C100'") == [0]
    assert ids(db, "SELECT count(*) FROM feedback WHERE customer_id = 'C100'") == [0]
    # the guest review of her order (no customer id) is refused by its order id
    assert ids(db, f"SELECT count(*) FROM feedback WHERE text = '{GUEST_TEXT}'") == [0]
    assert stored["feedback"]["erased"] >= 1
    assert SECRET_TEXT.encode() not in db.read_bytes() and GUEST_TEXT.encode() not in db.read_bytes()


def test_analyses_keep_working_after_erase(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    assert erase(db, "C100").total > 0
    funnel = runner.invoke(
        app, ["journey", "funnel", "--steps", "page_view,purchase", "--db", str(db), "--json"]
    )
    assert funnel.exit_code == 0, funnel.output
    rfm = runner.invoke(app, ["customers", "rfm", "--db", str(db), "--json"])
    assert rfm.exit_code == 0, rfm.output
    assert "C100" not in rfm.stdout


def test_missing_store_is_bad_input(tmp_path: Path) -> None:
    result = runner.invoke(app, ["privacy", "erase", "C1", "--db", str(tmp_path / "nope.duckdb")])
    assert result.exit_code == 2
    assert "no such store" in result.output


@pytest.mark.parametrize("force", [True, False])
def test_compaction_keeps_the_store_usable(tmp_path: Path, force: bool) -> None:
    db, _ = make_store(tmp_path)
    result = erase(db, "C200", force_compact=force)
    assert result.compacted  # OTHER_TEXT was in the file verbatim, so even without force
    with Store(db) as store:
        assert store.counts()["feedback"] == 3
        store.con.execute("INSERT INTO voice_texts (feedback_id) VALUES ('Z')")
        with pytest.raises(duckdb.ConstraintException):  # the primary key survived the rewrite
            store.con.execute("INSERT INTO voice_texts (feedback_id) VALUES ('Z')")


def test_any_table_with_customer_rows_is_erased_too(tmp_path: Path) -> None:
    """A derived table added later (an outbox of flows, a cache) is found by its customer_id column."""
    db, _ = make_store(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE flow_outbox (customer_id VARCHAR, message VARCHAR)")
    con.execute("INSERT INTO flow_outbox VALUES ('C100', 'Hoi Anna'), ('C200', 'Hej Bob')")
    con.close()
    result = erase(db, "C100")
    assert result.rows_removed["flow_outbox"] == 1
    assert ids(db, "SELECT customer_id FROM flow_outbox") == ["C200"]


def test_a_failure_midway_erases_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = make_store(tmp_path)
    counts = ids(db, "SELECT count(*) FROM events UNION ALL SELECT count(*) FROM feedback")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("cxlab.privacy.audit.record", broken)
    result = runner.invoke(app, ["privacy", "erase", "C100", "--db", str(db)])
    assert result.exit_code == 1 and "disk full" in result.output
    assert ids(db, "SELECT count(*) FROM events UNION ALL SELECT count(*) FROM feedback") == counts
    assert ids(db, f"SELECT count(*) FROM {TOMBSTONES}") == [0]
