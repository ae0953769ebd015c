"""The outbox protocol: idempotent record, claim, recover, retry with back-off, give-up, missing contacts, no
adapter, suppression at send time, counts; and the contact file reader."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from cxlab.automate.contacts import NO_FILE, ContactBook, ContactError
from cxlab.automate.message import Contact, InDoubt, Message, PermanentError, Suppressed, TransientError
from cxlab.automate.outbox import IN_DOUBT_ERROR, MAX_BACKOFF, Outbox, OutboxRow, backoff
from cxlab.automate.tables import DDL, OUTBOX, STATUSES

T0 = datetime(2026, 1, 5, 10, 0)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    c.execute(DDL)
    yield c
    c.close()


def rows(
    customers: list[str],
    *,
    flow: str = "cart",
    channel: str = "email",
    status: str = "queued",
    due: datetime = T0,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "flow": flow,
            "customer_id": customers,
            "trigger_key": [f"t-{c}" for c in customers],
            "trigger_ts": due - timedelta(hours=4),
            "channel": channel,
            "variant": "send" if status == "queued" else None,
            "language": "en",
            "due": due,
            "status": status,
            "reason": None if status == "queued" else "no_consent",
            "exposed": status == "queued",
        }
    )


class FakeAdapter:
    """Records what it sends; ``fail`` maps a customer to the exceptions its successive tries raise."""

    def __init__(self, fail: dict[str, list[Exception]] | None = None):
        self.fail = fail or {}
        self.sent: list[str] = []
        self.calls = 0

    def send(self, message: Message, contact: Contact) -> str:
        self.calls += 1
        queue = self.fail.get(message.customer_id)
        if queue:
            raise queue.pop(0) if len(queue) > 1 else queue[0]
        self.sent.append(message.key)
        return f"id-{len(self.sent)}"

    def close(self) -> None:
        pass


def compose(row: OutboxRow, contact: Contact) -> Message:
    return Message(
        row.flow,
        row.customer_id,
        row.trigger_key,
        row.channel,
        row.variant,
        row.language,
        "Hi",
        f"Hello {contact.first_name}",
    )


def book(*customers: str, phone: bool = False) -> ContactBook:
    return ContactBook(
        {
            c: Contact(c, email=f"{c}@example.com", phone="+3161234" if phone else None, first_name=c.title())
            for c in customers
        },
        Path("contacts.csv"),
    )


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def status(con: duckdb.DuckDBPyConnection, customer: str, flow: str = "cart") -> dict[str, Any]:
    df = con.execute(f"SELECT * FROM {OUTBOX} WHERE flow = ? AND customer_id = ?", [flow, customer]).df()
    assert len(df) == 1
    return dict(df.iloc[0])


def deliver(
    con: duckdb.DuckDBPyConnection, adapter: Any, at: datetime, contacts: ContactBook | None = None, **kw: Any
) -> Any:
    kw.setdefault("max_tries", 3)
    kw.setdefault("retry_after", timedelta(minutes=1))
    return Outbox(con).deliver(
        {"email": adapter},
        kw.pop("compose", compose),
        contacts if contacts is not None else book("a", "b", "c", "d"),
        Clock(at),
        **kw,
    )


def test_record_is_idempotent_on_the_key(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    first = rows(["a", "b", "a"])  # "a" twice in one batch
    assert ob.record(first, T0) == {"recorded": 2, "duplicates": 1}
    assert ob.record(rows(["a", "b", "c"]), T0 + timedelta(hours=1)) == {"recorded": 1, "duplicates": 2}
    got = con.execute(f"SELECT customer_id, decided, variant, tries FROM {OUTBOX} ORDER BY 1").fetchall()
    assert got == [("a", T0, "send", 0), ("b", T0, "send", 0), ("c", T0 + timedelta(hours=1), "send", 0)]
    # a suppressed row never assigned to an arm (variant None) is stored with variant ''
    ob.record(rows(["x"], status="suppressed"), T0)
    assert status(con, "x")["variant"] == "" and status(con, "x")["reason"] == "no_consent"


def test_record_converts_aware_timestamps_to_utc_and_takes_arrow(con: duckdb.DuckDBPyConnection) -> None:
    df = rows(["a"])
    df["due"] = pd.Timestamp("2026-01-05 12:00", tz="Europe/Amsterdam")
    Outbox(con).record(pa.Table.from_pandas(df, preserve_index=False), datetime(2026, 1, 5, 9, tzinfo=UTC))
    r = status(con, "a")
    assert r["due"] == pd.Timestamp("2026-01-05 11:00") and r["decided"] == pd.Timestamp("2026-01-05 09:00")


def test_record_joins_the_callers_transaction(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    con.begin()
    assert ob.record(rows(["a", "b"]), T0, in_transaction=True)["recorded"] == 2
    con.rollback()
    assert con.execute(f"SELECT count(*) FROM {OUTBOX}").fetchone() == (0,)
    ob.record(rows(["a"]), T0)  # its own transaction: committed, visible to another connection
    other = con.cursor()
    assert other.execute(f"SELECT count(*) FROM {OUTBOX}").fetchone() == (1,)


def test_record_rejects_bad_rows(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    with pytest.raises(ValueError, match=r"lack column.*due"):
        ob.record(rows(["a"]).drop(columns=["due"]), T0)
    bad = rows(["a"])
    bad["status"] = "sent"
    with pytest.raises(ValueError, match=r"status \['sent'\] can't be planned"):
        ob.record(bad, T0)
    assert ob.record(rows([]), T0) == {"recorded": 0, "duplicates": 0}


def test_delivers_due_rows_once(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    ob.record(rows(["a", "b"]), T0)
    ob.record(rows(["c"], due=T0 + timedelta(hours=2)), T0)
    adapter = FakeAdapter()
    report = deliver(con, adapter, T0)
    assert adapter.sent == ["cart/a/t-a", "cart/b/t-b"]
    assert (report.sent, report.sent_by_flow) == (2, {"cart": 2})
    a = status(con, "a")
    assert (a["status"], a["tries"], a["provider_id"], a["sent_at"]) == ("sent", 1, "id-1", pd.Timestamp(T0))
    assert status(con, "c")["status"] == "queued"  # not due yet
    assert deliver(con, adapter, T0 + timedelta(minutes=30)).sent == 0
    assert deliver(con, adapter, T0 + timedelta(hours=2)).sent == 1
    assert adapter.sent.count("cart/a/t-a") == 1 and len(adapter.sent) == 3


def test_due_is_oldest_first_with_limit(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    ob.record(rows(["late"], due=T0), T0)
    ob.record(rows(["early"], due=T0 - timedelta(hours=1)), T0)
    ob.record(rows(["future"], due=T0 + timedelta(hours=1)), T0)
    assert list(ob.due(T0)["customer_id"]) == ["early", "late"]
    assert list(ob.due(T0, limit=1)["customer_id"]) == ["early"]


def test_claimed_elsewhere_is_skipped(con: duckdb.DuckDBPyConnection) -> None:
    Outbox(con).record(rows(["a", "b"]), T0)
    other = con.cursor()

    def racing(row: OutboxRow, contact: Contact) -> Message:
        if row.customer_id == "a":  # another run claims "a" between our due() and our claim
            other.execute(f"UPDATE {OUTBOX} SET status = 'sending' WHERE customer_id = 'a'")
        return compose(row, contact)

    adapter = FakeAdapter()
    report = deliver(con, adapter, T0, compose=racing)
    assert adapter.sent == ["cart/b/t-b"] and report.claimed_elsewhere == 1
    assert status(con, "a")["status"] == "sending"


def test_recover_turns_sending_into_in_doubt_never_resent(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    ob.record(rows(["a", "b"]), T0)
    con.execute(f"UPDATE {OUTBOX} SET status = 'sending', tries = 1 WHERE customer_id = 'a'")
    adapter = FakeAdapter()
    report = deliver(con, adapter, T0)
    assert report.in_doubt_recovered == 1 and adapter.sent == ["cart/b/t-b"]
    a = status(con, "a")
    assert (a["status"], a["last_error"], a["tries"]) == ("in_doubt", IN_DOUBT_ERROR, 1)
    assert deliver(con, adapter, T0 + timedelta(days=2)).attempted == 0
    assert ob.recover(T0) == 0
    assert "in doubt" in report.summary()


def test_transient_errors_retry_with_backoff_then_give_up(con: duckdb.DuckDBPyConnection) -> None:
    Outbox(con).record(rows(["a"]), T0)
    adapter = FakeAdapter({"a": [TransientError("SMTP refused: 451 try later")]})
    times = []
    at = T0
    for _ in range(3):
        report = deliver(con, adapter, at)
        a = status(con, "a")
        times.append(a["next_try"])
        if a["status"] == "retry":
            assert report.retried == 1
            at = a["next_try"].to_pydatetime()
            assert deliver(con, adapter, at - timedelta(seconds=1)).attempted == 0  # not due before next_try
    assert times[:2] == [pd.Timestamp(T0 + timedelta(minutes=1)), pd.Timestamp(T0 + timedelta(minutes=3))]
    a = status(con, "a")
    assert (a["status"], a["tries"], adapter.calls) == ("gave_up", 3, 3)
    assert a["last_error"] == "SMTP refused: 451 try later (gave up after 3 tries)"
    assert report.gave_up == 1 and "given up" in report.summary()
    assert deliver(con, adapter, at + timedelta(days=3)).attempted == 0


def test_backoff_doubles_and_is_capped() -> None:
    step = timedelta(minutes=1)
    assert [backoff(t, step) for t in (1, 2, 3, 4)] == [step, 2 * step, 4 * step, 8 * step]
    assert backoff(12, step) == MAX_BACKOFF == timedelta(days=1) and backoff(500, step) == MAX_BACKOFF


def test_permanent_error_gives_up_at_once(con: duckdb.DuckDBPyConnection) -> None:
    Outbox(con).record(rows(["a", "b"]), T0)
    adapter = FakeAdapter({"a": [PermanentError("SMTP refused: 550 no such user")]})
    report = deliver(con, adapter, T0)
    a = status(con, "a")
    assert (a["status"], a["tries"], a["last_error"]) == ("gave_up", 1, "SMTP refused: 550 no such user")
    assert (report.gave_up, report.sent) == (1, 1)


def test_in_doubt_answer_is_never_retried(con: duckdb.DuckDBPyConnection) -> None:
    Outbox(con).record(rows(["a", "b"]), T0)
    adapter = FakeAdapter({"a": [InDoubt("SMTP: no reply after the message was sent")]})
    report = deliver(con, adapter, T0)
    later = deliver(con, adapter, T0 + timedelta(days=2))
    a = status(con, "a")
    assert (a["status"], a["tries"], pd.isna(a["next_try"])) == ("in_doubt", 1, True)
    assert a["last_error"] == "SMTP: no reply after the message was sent"
    assert (report.in_doubt, report.retried, report.sent, later.attempted) == (1, 0, 1, 0)
    assert adapter.calls == 2  # a once, b once: the in-doubt message is not tried again
    assert "1 in doubt" in report.summary()


def test_errors_are_stripped_of_contact_data(con: duckdb.DuckDBPyConnection) -> None:
    Outbox(con).record(rows(["a", "b"]), T0)
    echo = RuntimeError("rejected a@example.com (tel +31 6 1234 5678)")
    report = deliver(
        con, FakeAdapter({"a": [echo], "b": [PermanentError("550 <b@example.com> unknown")]}), T0
    )
    assert status(con, "a")["last_error"] == "RuntimeError: rejected <address> (tel <number>)"
    assert status(con, "b")["last_error"] == "550 <address> unknown"
    assert not any("@" in e for e in report.errors)


def test_unexpected_exception_counts_as_transient(con: duckdb.DuckDBPyConnection) -> None:
    Outbox(con).record(rows(["a"]), T0)
    report = deliver(con, FakeAdapter({"a": [RuntimeError("boom")]}), T0)
    a = status(con, "a")
    assert (report.retried, a["status"], a["last_error"]) == (1, "retry", "RuntimeError: boom")


def test_compose_failure_counts_as_transient(con: duckdb.DuckDBPyConnection) -> None:
    Outbox(con).record(rows(["a"]), T0)

    def broken(row: OutboxRow, contact: Contact) -> Message:
        raise KeyError("recommendations")

    adapter = FakeAdapter()
    deliver(con, adapter, T0, compose=broken)
    a = status(con, "a")
    assert (a["status"], a["tries"], adapter.calls) == ("retry", 1, 0)
    assert a["last_error"] == "compose failed: KeyError: 'recommendations'"


def test_missing_contact_gives_up(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    ob.record(rows(["a", "nobody"]), T0)
    ob.record(rows(["a"], flow="ship", channel="sms"), T0)
    adapter = FakeAdapter()
    report = Outbox(con).deliver(
        {"email": adapter, "sms": adapter},
        compose,
        book("a"),
        Clock(T0),
        max_tries=3,
        retry_after=timedelta(minutes=1),
    )
    assert adapter.sent == ["cart/a/t-a"] and report.gave_up == 2
    assert status(con, "nobody")["last_error"] == "no e-mail address for this customer in the contact file"
    assert status(con, "a", "ship")["last_error"] == "no phone number for this customer in the contact file"


def test_no_contact_file_gives_up_with_the_setting_to_fix(con: duckdb.DuckDBPyConnection) -> None:
    Outbox(con).record(rows(["a"]), T0)
    report = deliver(con, FakeAdapter(), T0, contacts=ContactBook.empty())
    assert status(con, "a")["last_error"] == NO_FILE == "no contact file: set [automate] contacts"
    assert report.errors == [NO_FILE]


def test_channel_without_adapter_stays_queued(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    ob.record(rows(["a", "b"], flow="ship", channel="sms"), T0)
    ob.record(rows(["c"]), T0)
    adapter = FakeAdapter()
    report = deliver(con, adapter, T0)
    assert (report.sent, report.skipped, report.no_adapter) == (1, 2, ["sms"])
    assert {status(con, c, "ship")["status"] for c in ("a", "b")} == {"queued"}
    assert report.summary().count("no adapter for sms") == 1
    assert "[automate.delivery.sms]" in report.summary()


def test_suppressed_at_send_time(con: duckdb.DuckDBPyConnection) -> None:
    Outbox(con).record(rows(["a", "b"]), T0)

    def withdrawn(row: OutboxRow, contact: Contact) -> Message:
        if row.customer_id == "a":
            raise Suppressed("consent withdrawn")
        return compose(row, contact)

    adapter = FakeAdapter()
    report = deliver(con, adapter, T0, compose=withdrawn)
    a = status(con, "a")
    assert (a["status"], a["reason"], a["tries"]) == ("suppressed", "consent withdrawn", 0)
    assert adapter.sent == ["cart/b/t-b"] and report.suppressed == 1
    assert deliver(con, adapter, T0 + timedelta(days=1)).attempted == 0


def test_held_out_and_suppressed_rows_are_never_sent(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    ob.record(rows(["a"], status="held_out", due=T0 - timedelta(days=1)), T0)
    ob.record(rows(["b"], status="suppressed", due=T0 - timedelta(days=1)), T0)
    adapter = FakeAdapter()
    assert deliver(con, adapter, T0 + timedelta(days=30)).attempted == 0 and adapter.calls == 0
    assert (status(con, "a")["status"], status(con, "b")["status"]) == ("held_out", "suppressed")


def test_on_sent_is_part_of_the_record(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE sent_log (key VARCHAR, variant VARCHAR)")
    Outbox(con).record(rows(["a", "b"]), T0)

    def log(cur: duckdb.DuckDBPyConnection, row: OutboxRow, message: Message) -> None:
        if row.customer_id == "b":
            cur.execute("INSERT INTO sent_log VALUES ('half-written', NULL)")
            raise RuntimeError("events table locked")
        assert (row.status, row.sent_at, row.provider_id, row.tries) == ("sent", T0, "id-1", 1)
        cur.execute("INSERT INTO sent_log VALUES (?, ?)", [message.key, row["variant"]])

    adapter = FakeAdapter()
    report = deliver(con, adapter, T0, on_sent=log)
    assert con.execute("SELECT * FROM sent_log").fetchall() == [("cart/a/t-a", "send")]
    b = status(con, "b")
    assert (
        b["status"] == "in_doubt"
        and "sent, but its record failed: RuntimeError: events table locked" in b["last_error"]
    )
    assert (report.sent, report.in_doubt) == (1, 1)
    assert deliver(con, adapter, T0 + timedelta(days=1)).attempted == 0 and len(adapter.sent) == 2


def test_counts_per_flow_and_status(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    assert list(ob.counts().columns) == ["flow", *STATUSES, "total"] and ob.counts().empty
    ob.record(rows(["a", "b", "c"]), T0)
    ob.record(rows(["d"], status="held_out"), T0)
    ob.record(rows(["e", "f"], flow="review", status="suppressed"), T0)
    deliver(con, FakeAdapter({"b": [PermanentError("550")]}), T0, contacts=book("a", "b"))
    counts = ob.counts().set_index("flow")
    assert counts.loc["cart", ["sent", "gave_up", "held_out", "queued", "total"]].tolist() == [1, 2, 1, 0, 4]
    assert counts.loc["review", ["suppressed", "total"]].tolist() == [2, 2]
    assert ob.counts("review")["flow"].tolist() == ["review"]


def test_report_dict_round_trips_to_json(con: duckdb.DuckDBPyConnection) -> None:
    import json

    Outbox(con).record(rows(["a", "b"]), T0)
    report = deliver(con, FakeAdapter({"b": [TransientError("timeout")]}), T0)
    d = json.loads(json.dumps(report.to_dict()))
    assert (d["sent"], d["retried"], d["errors"], d["sent_by_flow"]) == (1, 1, ["timeout"], {"cart": 1})
    assert report.summary() == "Sent 1 message (cart 1); 1 to retry after a transient error. Errors: timeout."
    frame = report.to_frame().set_index("outcome")["messages"]
    assert (frame["sent"], frame["retried"], frame["gave_up"]) == (1, 1, 0)


# -- the contact file --------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "contacts.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_contact_file_any_encoding_extra_columns_ignored(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "Customer_ID;email;first_name;loyalty_tier\r\nc1;c1@example.com;Zoë;gold\r\nc2;;Jürgen;\r\n;x@example.com;;\r\n",
        "cp1252",
    )
    b = ContactBook.from_file(p)
    assert len(b) == 2 and b.source == p
    assert b.get("c1") == Contact("c1", email="c1@example.com", phone=None, first_name="Zoë")
    assert b.get("c2") == Contact("c2", email=None, phone=None, first_name="Jürgen")
    assert b.get("c3") is None
    assert b.missing("email", b.get("c2")) == "no e-mail address for this customer in the contact file"
    assert b.missing("email", b.get("c1")) is None


def test_contact_file_errors_name_the_file_and_row(tmp_path: Path) -> None:
    with pytest.raises(ContactError, match=r"contacts\.csv: no customer_id column \(found id, email\)"):
        ContactBook.from_file(write(tmp_path, "id,email\n1,a@b.c\n"))
    with pytest.raises(
        ContactError, match=r"contacts\.csv:4: customer 'c1' is listed twice \(first on row 2\)"
    ):
        ContactBook.from_file(write(tmp_path, "customer_id,email\nc1,a@b.c\nc2,b@b.c\nc1,c@b.c\n"))
    with pytest.raises(ContactError, match=r"contacts\.csv:2: malformed CSV row: unterminated quote"):
        ContactBook.from_file(write(tmp_path, 'customer_id,email\nc1,"a@b.c\nc2,b@b.c\n'))
    with pytest.raises(ContactError, match=r"missing\.csv: no such file"):
        ContactBook.from_file(tmp_path / "missing.csv")


def test_contact_file_as_json_lines_with_numeric_ids(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        '{"customer_id": 17, "email": "a@b.c"}\n{"customer_id": "c2", "phone": "+31"}\n',
        name="c.jsonl",
    )
    b = ContactBook.from_file(p)
    assert b.get("17") == Contact("17", email="a@b.c") and b.get("c2") == Contact("c2", phone="+31")


def test_contact_book_for_settings(tmp_path: Path) -> None:
    write(tmp_path, "customer_id,phone\nc1,+31600000000\n", name="people.csv")
    assert len(ContactBook.for_settings("people.csv", tmp_path)) == 1
    empty = ContactBook.for_settings(None, tmp_path)
    assert len(empty) == 0 and empty.missing("sms", None) == NO_FILE


def test_outbox_row_mapping_access() -> None:
    row = OutboxRow("f", "c", "t", T0, "email", "send", "en", T0, "queued")
    assert row["customer_id"] == "c" and row.key == "f/c/t"
    with pytest.raises(KeyError):
        row["nope"]


def test_a_failing_receiver_pauses_its_channel_for_this_run(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    emails = [f"e{i}" for i in range(8)]
    ob.record(rows(emails), T0)
    ob.record(rows(["s1", "s2"], flow="ship", channel="sms"), T0)
    down = FakeAdapter({c: [TransientError("connection refused")] for c in emails})
    sms = FakeAdapter()
    report = Outbox(con).deliver(
        {"email": down, "sms": sms},
        compose,
        book(*emails, "s1", "s2", phone=True),
        Clock(T0),
        max_tries=5,
        retry_after=timedelta(minutes=1),
        pause_after=3,
    )
    assert (down.calls, report.retried, report.deferred, report.paused) == (3, 3, 5, ["email"])
    assert sms.sent == ["ship/s1/t-s1", "ship/s2/t-s2"]  # the other channel is not held up
    left = con.execute(
        f"SELECT status, tries, count(*) FROM {OUTBOX} WHERE channel = 'email' GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert left == [("queued", 0, 5), ("retry", 1, 3)]  # deferred rows spent no try
    assert "5 left for the next run: email kept failing" in report.summary()


def test_an_answering_receiver_is_not_paused(con: duckdb.DuckDBPyConnection) -> None:
    customers = [f"c{i}" for i in range(8)]
    Outbox(con).record(rows(customers), T0)
    flaky = FakeAdapter({c: [TransientError("451 later")] for c in customers[::2]})  # every other one fails
    report = deliver(con, flaky, T0, contacts=book(*customers), pause_after=2)
    assert (report.sent, report.retried, report.deferred) == (4, 4, 0)


def test_limit_is_spent_on_channels_that_can_send(con: duckdb.DuckDBPyConnection) -> None:
    ob = Outbox(con)
    ob.record(rows(["s1", "s2", "s3"], flow="ship", channel="sms", due=T0 - timedelta(hours=1)), T0)
    ob.record(rows(["a", "b", "c"]), T0)
    adapter = FakeAdapter()
    report = deliver(con, adapter, T0, limit=2)
    assert (report.sent, report.skipped, adapter.sent) == (2, 3, ["cart/a/t-a", "cart/b/t-b"])
    assert ob.due(T0, count_only=True) == {"email": 1, "sms": 3}
