"""Delivery adapters against real local receivers: SMTP (aiosmtpd), a webhook (http.server), a file outbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from aiosmtpd.controller import Controller

from cxlab.automate import flows
from cxlab.automate.adapters import FileAdapter, SmtpAdapter, WebhookAdapter, make_adapter, message_id
from cxlab.automate.contacts import ContactBook
from cxlab.automate.message import Contact, Message, PermanentError, TransientError
from cxlab.automate.outbox import Outbox, OutboxRow
from cxlab.automate.tables import DDL, OUTBOX
from cxlab.config import ConfigError
from tests.automate.smtp_server import Recorder, free_port, password_check, smtp_server, tls_contexts

T0 = datetime(2026, 1, 5, 10, 0)
SENDER = "Shop <hello@shop.example>"
HTML = "<p>Hi Bob &lt;script&gt;alert(1)&lt;/script&gt; &amp; co, your cart is waiting</p>"


def message(customer: str = "c1", html: str | None = HTML) -> Message:
    return Message(
        "abandoned_cart",
        customer,
        f"cart-{customer}",
        "email",
        "send",
        "en",
        "Your cart – still there",
        "Hi Bob, plain",
        html,
    )


ALICE = Contact("c1", email="alice@example.com", phone="+31600000001", first_name="Alice")


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    with smtp_server() as server:
        yield server


def test_smtp_message_arrives_with_subject_text_html_and_message_id(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
    try:
        pid = adapter.send(message(), ALICE)
        adapter.send(message("c2", html=None), Contact("c2", email="bob@example.com"))
    finally:
        adapter.close()
    assert len(handler.messages) == 2
    got: EmailMessage = handler.messages[0]
    assert got["Subject"] == "Your cart – still there" and got["To"] == "alice@example.com"
    assert got["From"] == SENDER
    key_hash = hashlib.sha256(b"abandoned_cart/c1/cart-c1").hexdigest()[:32]
    assert got["Message-ID"] == pid == message_id(message(), SENDER) == f"<{key_hash}.cxlab@shop.example>"
    text = got.get_body(("plain",))
    html = got.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().strip() == "Hi Bob, plain"
    assert html.get_content().strip() == HTML  # escaped as rendered: not re-escaped, not unescaped
    plain_only = handler.messages[1]
    assert not plain_only.is_multipart() and plain_only.get_content_type() == "text/plain"


def test_smtp_reuses_its_connection_and_reconnects_after_a_drop(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
    adapter.send(message("c1"), ALICE)
    first = adapter._smtp
    adapter.send(message("c2"), ALICE)
    assert adapter._smtp is first  # one connection for the run
    assert first is not None and first.sock is not None
    first.sock.shutdown(socket.SHUT_RDWR)  # the server (or a NAT) dropped an idle connection
    adapter.send(message("c3"), ALICE)
    assert adapter._smtp is not first and len(handler.messages) == 3
    adapter.close()


@pytest.mark.parametrize(
    ("stage", "reply", "error"),
    [
        ("rcpt", "451 4.7.1 Greylisted, try again later", TransientError),
        ("rcpt", "550 5.1.1 No such user", PermanentError),
        ("data", "452 4.3.1 Insufficient system storage", TransientError),
        ("data", "554 5.7.1 Message rejected as spam", PermanentError),
    ],
)
def test_smtp_reply_codes_map_to_error_kinds(
    smtp: tuple[Recorder, int], stage: str, reply: str, error: type[Exception]
) -> None:
    handler, port = smtp
    if stage == "rcpt":
        handler.refuse[ALICE.email or ""] = reply
    else:
        handler.data_reply = reply
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
    with pytest.raises(error, match=reply.split()[0]):
        adapter.send(message(), ALICE)
    handler.refuse.clear()
    handler.data_reply = None
    adapter.send(message("c2"), ALICE)  # the connection is still usable after a refusal
    assert len(handler.messages) == 1
    adapter.close()


def test_smtp_421_closing_is_retried_once_on_a_new_connection(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
    adapter.send(message("c1"), ALICE)
    first = adapter._smtp
    handler.data_replies = ["421 4.7.0 Too many messages on this connection"]
    adapter.send(message("c2"), ALICE)  # not accepted by the 421, accepted on the fresh connection
    assert adapter._smtp is not first
    handler.data_replies = ["421 closing", "421 closing again"]
    with pytest.raises(TransientError, match="421 closing again"):
        adapter.send(message("c3"), ALICE)
    adapter.close()
    assert [str(m["Message-ID"]) for m in handler.messages] == [
        message_id(message(c), SENDER) for c in ("c1", "c2")
    ]


def test_smtp_header_injection_is_refused_permanently(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
    bad = Message("f", "c1", "t", "email", "send", "en", "Hello\r\nBcc: victim@example.com", "text")
    with pytest.raises(PermanentError, match="cannot build the e-mail"):
        adapter.send(bad, ALICE)
    with pytest.raises(PermanentError, match="contact e-mail is not a single valid address"):
        adapter.send(message(), Contact("c1", email="a@example.com\nBcc: victim@example.com"))
    assert handler.messages == []
    adapter.close()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_with_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = {"authenticator": password_check("shop", "pw-1"), "auth_required": True, "auth_require_tls": False}
    with smtp_server(**auth) as (handler, port):
        cfg = flows.Adapter(
            adapter="smtp",
            host="127.0.0.1",
            port=port,
            sender=SENDER,
            username="shop",
            password_env="SHOP_PW",
            tls="none",  # allowed: the server is on this machine
        )
        monkeypatch.setenv("SHOP_PW", "pw-1")
        good = make_adapter(cfg)
        good.send(message(), ALICE)
        good.close()
        monkeypatch.setenv("SHOP_PW", "wrong")
        bad = make_adapter(cfg)
        with pytest.raises(
            TransientError, match=r"SMTP login refused \(535\): check username and password_env"
        ):
            bad.send(message("c2"), ALICE)
        assert len(handler.messages) == 1


def test_smtp_starttls_verifies_the_server(tmp_path: Path) -> None:
    server_tls, client_tls = tls_contexts(tmp_path)
    with smtp_server(tls_context=server_tls, require_starttls=True) as (handler, port):
        plain = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
        with pytest.raises(TransientError, match=r"530 .*check tls"):  # a setting, not the message
            plain.send(message(), ALICE)
        untrusted = SmtpAdapter("127.0.0.1", port, SENDER, tls="starttls", timeout=5)  # the system's CAs
        with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.send(message(), ALICE)
        assert handler.messages == []
        trusted = SmtpAdapter("127.0.0.1", port, SENDER, tls="starttls", timeout=5, tls_context=client_tls)
        trusted.send(message(), ALICE)
        trusted.close()
        assert len(handler.messages) == 1


def test_smtp_unreachable_is_transient() -> None:
    adapter = SmtpAdapter("127.0.0.1", free_port(), SENDER, timeout=2)
    with pytest.raises(TransientError, match=r"SMTP 127\.0\.0\.1"):
        adapter.send(message(), ALICE)
    with pytest.raises(PermanentError, match="no e-mail address"):
        adapter.send(message(), Contact("c9"))


def test_make_adapter_reads_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SHOP_SMTP_PASSWORD", raising=False)
    cfg = flows.Adapter(adapter="smtp", sender=SENDER, username="shop", password_env="SHOP_SMTP_PASSWORD")
    with pytest.raises(ConfigError, match="SHOP_SMTP_PASSWORD holding the SMTP password is not set"):
        make_adapter(cfg)
    monkeypatch.setenv("SHOP_SMTP_PASSWORD", "pw")
    smtp = make_adapter(cfg)
    assert isinstance(smtp, SmtpAdapter) and smtp.password == "pw" and smtp._smtp is None  # not connected yet
    hook = flows.Adapter(adapter="webhook", url="http://127.0.0.1:1/x", secret_env="SHOP_HOOK_KEY")
    monkeypatch.delenv("SHOP_HOOK_KEY", raising=False)
    with pytest.raises(ConfigError, match="SHOP_HOOK_KEY"):
        make_adapter(hook)
    file = make_adapter(flows.Adapter(adapter="file", path="out/messages"), tmp_path)
    assert isinstance(file, FileAdapter) and file.folder == tmp_path / "out" / "messages"


# -- webhook -----------------------------------------------------------------------------------------------


class Hook:
    """A local HTTP receiver: answers the statuses in ``replies`` in turn (the last one repeats)."""

    def __init__(self, replies: list[int]):
        self.replies = replies
        self.requests: list[tuple[dict[str, str], bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = hook.replies.pop(0) if len(hook.replies) > 1 else hook.replies[0]
                reply = json.dumps(
                    {"id": f"msg-{len(hook.requests)}"} if status < 300 else {"error": "nope"}
                ).encode()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cxlab"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


SECRET = "s3cret-key"


def test_webhook_posts_signed_json_with_idempotency_key() -> None:
    with Hook([200]) as hook:
        adapter = WebhookAdapter(hook.url, SECRET, timeout=5, clock=lambda: 1767607200.5)
        assert adapter.send(message(), ALICE) == "msg-1"
    headers, body = hook.requests[0]
    assert headers["x-cxlab-timestamp"] == "1767607200"
    expected = hmac.new(SECRET.encode(), b"1767607200." + body, hashlib.sha256).hexdigest()
    assert headers["x-cxlab-signature"] == f"v1={expected}"  # the timestamp is signed: no replay later
    assert hmac.new(SECRET.encode(), b"1767607201." + body, hashlib.sha256).hexdigest() != expected
    assert hmac.new(b"another key", b"1767607200." + body, hashlib.sha256).hexdigest() != expected
    assert headers["idempotency-key"] == "abandoned_cart/c1/cart-c1"
    doc = json.loads(body)
    assert {
        k: doc[k] for k in ("key", "flow", "customer_id", "channel", "variant", "language", "subject")
    } == {
        "key": "abandoned_cart/c1/cart-c1",
        "flow": "abandoned_cart",
        "customer_id": "c1",
        "channel": "email",
        "variant": "send",
        "language": "en",
        "subject": "Your cart – still there",
    }
    assert doc["html"] == HTML and doc["text"] == "Hi Bob, plain"
    assert doc["to"] == {"email": "alice@example.com", "first_name": "Alice"}  # only what e-mail needs


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientError),
        (503, TransientError),
        (429, TransientError),
        (408, TransientError),
        (400, PermanentError),
        (404, PermanentError),
        (307, PermanentError),
    ],
)
def test_webhook_status_codes_map_to_error_kinds(status: int, error: type[Exception]) -> None:
    with Hook([status]) as hook:
        with pytest.raises(error, match=f"HTTP {status}"):
            WebhookAdapter(hook.url, SECRET, timeout=5).send(message(), ALICE)
        assert len(hook.requests) == 1


def test_webhook_unreachable_is_transient() -> None:
    with pytest.raises(
        TransientError, match=r"webhook 127\.0\.0\.1: request not sent \(ConnectionRefusedError"
    ):
        WebhookAdapter(f"http://127.0.0.1:{free_port()}/x", SECRET, timeout=2).send(message(), ALICE)


def _outbox_with(con: duckdb.DuckDBPyConnection, customers: list[str]) -> Outbox:
    ob = Outbox(con)
    ob.record(
        pd.DataFrame(
            {
                "flow": "abandoned_cart",
                "customer_id": customers,
                "trigger_key": [f"cart-{c}" for c in customers],
                "trigger_ts": T0 - timedelta(hours=4),
                "channel": "email",
                "variant": "send",
                "language": "en",
                "due": T0,
                "status": "queued",
            }
        ),
        T0,
    )
    return ob


def compose(row: OutboxRow, contact: Contact) -> Message:
    return Message(
        row.flow, row.customer_id, row.trigger_key, row.channel, row.variant, row.language, "Hi", "Hello"
    )


def test_failing_webhook_retries_with_backoff_then_gives_up() -> None:
    con = duckdb.connect()
    con.execute(DDL)
    ob = _outbox_with(con, ["c1"])
    contacts = ContactBook({"c1": ALICE}, Path("contacts.csv"))
    seen = []
    with Hook([500]) as hook:
        adapter = WebhookAdapter(hook.url, SECRET, timeout=5)
        at = T0
        for _ in range(4):
            ob.deliver(
                {"email": adapter},
                compose,
                contacts,
                lambda at=at: at,  # type: ignore[misc]
                max_tries=3,
                retry_after=timedelta(minutes=5),
            )
            row = con.execute(f"SELECT status, tries, next_try, last_error FROM {OUTBOX}").fetchone()
            assert row is not None
            seen.append(row[:3])
            at = row[2] or at + timedelta(days=1)
    assert seen == [
        ("retry", 1, T0 + timedelta(minutes=5)),
        ("retry", 2, T0 + timedelta(minutes=5 + 10)),
        ("gave_up", 3, None),
        ("gave_up", 3, None),  # nothing more after giving up
    ]
    assert row[3] == "webhook 127.0.0.1: HTTP 500 (gave up after 3 tries)"  # no url (token), no reply body
    keys = {h["idempotency-key"] for h, _ in hook.requests}
    assert len(hook.requests) == 3 and keys == {"abandoned_cart/c1/cart-c1"}  # the same key on every try


def test_webhook_client_error_gives_up_at_once() -> None:
    con = duckdb.connect()
    con.execute(DDL)
    ob = _outbox_with(con, ["c1"])
    with Hook([400]) as hook:
        report = ob.deliver(
            {"email": WebhookAdapter(hook.url, SECRET, timeout=5)},
            compose,
            ContactBook({"c1": ALICE}, Path("contacts.csv")),
            lambda: T0,
            max_tries=5,
            retry_after=timedelta(minutes=1),
        )
    assert con.execute(f"SELECT status, tries FROM {OUTBOX}").fetchone() == ("gave_up", 1)
    assert (report.gave_up, report.retried, len(hook.requests)) == (1, 0, 1)


# -- file --------------------------------------------------------------------------------------------------


def test_file_adapter_appends_whole_json_lines(tmp_path: Path) -> None:
    clock = datetime(2026, 1, 5, 23, 59, tzinfo=UTC)
    adapter = FileAdapter(tmp_path / "outbox", clock=lambda: clock)
    assert adapter.send(message("c1"), ALICE) == "outbox-2026-01-05.jsonl:abandoned_cart/c1/cart-c1"

    def many(start: int) -> None:
        for i in range(start, start + 40):
            adapter.send(message(f"c{i}", html="x" * 5000), ALICE)

    threads = [threading.Thread(target=many, args=((k + 1) * 100,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "outbox" / "outbox-2026-01-05.jsonl").read_text(encoding="utf-8").splitlines()
    docs = [json.loads(line) for line in lines]  # every line whole and valid
    assert len(docs) == 241 and len({d["key"] for d in docs}) == 241
    assert docs[0]["html"] == HTML and docs[0]["to"]["email"] == "alice@example.com"
    assert docs[0]["written_at"] == "2026-01-05T23:59:00+00:00"
    clock = datetime(2026, 1, 6, 0, 1, tzinfo=UTC)
    adapter.send(message("c1"), ALICE)
    assert (tmp_path / "outbox" / "outbox-2026-01-06.jsonl").exists()  # a new file each UTC day


# -- security: at most once on ambiguous failures, no contact data in errors, one recipient, TLS, replay ------


def _deliver_rounds(con: duckdb.DuckDBPyConnection, adapter: Any, contact: Contact, rounds: int) -> list[Any]:
    """Deliver the outbox ``rounds`` times, an hour apart (any retry is due by then); the row after each."""
    (stored,) = con.execute(f"SELECT count(*) FROM {OUTBOX}").fetchone() or (0,)
    ob = Outbox(con) if stored else _outbox_with(con, ["c1"])
    seen = []
    for i in range(rounds):
        ob.deliver(
            {"email": adapter},
            compose,
            ContactBook({"c1": contact}, Path("contacts.csv")),
            lambda i=i: T0 + timedelta(hours=i),  # type: ignore[misc]
            max_tries=5,
            retry_after=timedelta(minutes=1),
        )
        seen.append(con.execute(f"SELECT status, tries, last_error FROM {OUTBOX}").fetchone())
    return seen


@pytest.mark.parametrize("how", ["slow_reply", "dropped_after_data"])
def test_smtp_no_reply_after_data_is_in_doubt_and_never_resent(smtp: tuple[Recorder, int], how: str) -> None:
    handler, port = smtp
    if how == "slow_reply":
        handler.data_delay = 1.5  # the server keeps the message, the client stops waiting at 0.5 s
    else:
        handler.drop_after_data = True
    con = duckdb.connect()
    con.execute(DDL)
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=0.5)
    seen = _deliver_rounds(con, adapter, ALICE, 3)
    adapter.close()
    assert [s[:2] for s in seen] == [("in_doubt", 1)] * 3  # never retried
    assert "may have been delivered: not sent again" in seen[0][2]
    assert len(handler.messages) == 1  # one copy, not one per try


def test_smtp_failure_before_data_is_still_retried(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    con = duckdb.connect()
    con.execute(DDL)
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
    adapter.send(message("c0"), Contact("c0", email="bob@example.com"))  # the connection has sent a body
    handler.refuse[ALICE.email or ""] = "451 4.7.1 Greylisted"
    first = _deliver_rounds(con, adapter, ALICE, 1)
    handler.refuse.clear()
    second = _deliver_rounds(con, adapter, ALICE, 2)[-1]
    adapter.close()
    assert first[0][:2] == ("retry", 1) and second[:2] == ("sent", 2)
    assert len(handler.messages) == 2


class SlowHook:
    """A receiver that reads the whole request, then answers after ``delay`` s or drops the connection."""

    def __init__(self, delay: float = 0.0, drop: bool = False):
        self.posts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts += 1
                if drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                threading.Event().wait(delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cxlab?token=t0ps3cret"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> SlowHook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("how", ["slow_reply", "reset"])
def test_webhook_no_status_after_the_request_is_in_doubt_and_never_resent(how: str) -> None:
    con = duckdb.connect()
    con.execute(DDL)
    with SlowHook(delay=1.5, drop=how == "reset") as hook:
        seen = _deliver_rounds(con, WebhookAdapter(hook.url, SECRET, timeout=0.5), ALICE, 3)
        assert [s[:2] for s in seen] == [("in_doubt", 1)] * 3
        assert hook.posts == 1
    assert seen[0][2].startswith("webhook 127.0.0.1: no HTTP status after the request was sent")
    assert "t0ps3cret" not in seen[0][2] and "/hooks" not in seen[0][2]


def test_errors_hold_no_contact_data(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    handler.refuse[ALICE.email or ""] = "550 5.1.1 <alice@example.com>: no such user, call +31 6 0000 0001"
    con = duckdb.connect()
    con.execute(DDL)
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
    (row,) = _deliver_rounds(con, adapter, ALICE, 1)
    adapter.close()
    assert row[:2] == ("gave_up", 1)
    assert row[2] == "SMTP recipient refused: 550 5.1.1 <address>: no such user, call <number>"

    with Hook([400]) as hook, pytest.raises(PermanentError) as err:  # replies {"error": "nope"}: not kept
        WebhookAdapter(hook.url + "?token=t0ps3cret", SECRET, timeout=5).send(message(), ALICE)
    assert str(err.value) == "webhook 127.0.0.1: HTTP 400"


@pytest.mark.parametrize(
    "raw",
    [
        "victim@example.com, attacker@evil.example",
        "victim@example.com; attacker@evil.example",
        "<victim@example.com> <attacker@evil.example>",
        "not-an-address",
        "bob@",
        "a@b@example.com",
    ],
)
def test_one_contact_row_is_one_recipient(smtp: tuple[Recorder, int], raw: str) -> None:
    handler, port = smtp
    con = duckdb.connect()
    con.execute(DDL)
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
    (row,) = _deliver_rounds(con, adapter, Contact("c1", email=raw), 1)
    adapter.send(message("c2"), Contact("c2", email="Bob Jones <bob@example.com>"))  # a display name is fine
    adapter.close()
    assert row == ("gave_up", 1, "contact e-mail is not a single valid address")
    assert len(handler.messages) == 1 and handler.messages[0]["To"] == "bob@example.com"


def test_list_unsubscribe_headers_are_sent(smtp: tuple[Recorder, int]) -> None:
    handler, port = smtp
    adapter = SmtpAdapter("127.0.0.1", port, SENDER, timeout=5)
    https = f"<https://shop.example/u/{'a' * 150}>, <mailto:unsubscribe@shop.example?subject=abc>"
    for i, value in enumerate([https, "<mailto:unsubscribe@shop.example>"]):
        m = message(f"c{i}")
        adapter.send(replace(m, headers={"List-Unsubscribe": value}), ALICE)
    for bad in (
        {"List-Unsubscribe": "<https://x.example>\r\nBcc: v@evil.example"},
        {"Bcc": "v@evil.example"},
    ):
        with pytest.raises(PermanentError, match="cannot build the e-mail"):
            adapter.send(replace(message("c9"), headers=bad), ALICE)
    adapter.close()
    one_click, mailto = handler.messages
    assert one_click["List-Unsubscribe"] == https
    assert one_click["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058: https only
    assert mailto["List-Unsubscribe"] == "<mailto:unsubscribe@shop.example>"
    assert mailto["List-Unsubscribe-Post"] is None
    assert len(handler.messages) == 2


def test_webhook_sends_only_the_channel_contact_field() -> None:
    sms = replace(message(), channel="sms", subject=None)
    with Hook([200]) as hook:
        WebhookAdapter(hook.url, SECRET, timeout=5).send(sms, ALICE)
    assert json.loads(hook.requests[0][1])["to"] == {"phone": "+31600000001", "first_name": "Alice"}


def test_implicit_tls_and_cafile(tmp_path: Path) -> None:
    server_tls, _ = tls_contexts(tmp_path)
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=server_tls)
    controller.start()
    try:
        untrusted = make_adapter(
            flows.Adapter(
                adapter="smtp", host="127.0.0.1", port=port, sender=SENDER, tls="implicit", timeout_s=5
            )
        )
        with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.send(message(), ALICE)
        cfg = flows.Adapter(
            adapter="smtp", host="127.0.0.1", port=port, sender=SENDER, tls="implicit", cafile="cert.pem"
        )
        trusted = make_adapter(cfg, tmp_path)  # cafile relative to the project folder
        trusted.send(message(), ALICE)
        trusted.close()
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    with pytest.raises(ConfigError, match="cafile"):
        make_adapter(cfg.model_copy(update={"cafile": "missing.pem"}), tmp_path)


def test_adapter_settings_refuse_clear_credentials_and_plain_http() -> None:
    def smtp(**kw: Any) -> flows.Adapter:
        return flows.Adapter.model_validate({"adapter": "smtp", "sender": SENDER, **kw})

    assert (smtp().tls, smtp().port) == ("starttls", 587)  # encrypted by default
    assert smtp(tls="implicit").port == 465 and smtp(tls="implicit", port=2465).port == 2465
    assert smtp(starttls=False).tls == "none" and smtp(starttls=True).tls == "starttls"  # the older spelling
    with pytest.raises(ValueError, match="disagree"):
        smtp(starttls=False, tls="implicit")
    with pytest.raises(ValueError, match="password in clear"):
        smtp(username="shop", password_env="PW", host="smtp.example.com", tls="none")
    assert smtp(username="shop", password_env="PW", host="127.0.0.1", tls="none").tls == "none"
    with pytest.raises(ValueError, match="needs password_env"):
        smtp(username="shop")
    with pytest.raises(ValueError, match="must be https"):
        flows.Adapter(adapter="webhook", url="http://sms.example.com/send", secret_env="K")
    for ok in (
        "https://sms.example.com/send",
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://[::1]/x",
    ):
        assert flows.Adapter(adapter="webhook", url=ok, secret_env="K").url == ok
