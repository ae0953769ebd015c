"""Delivery across a crash: a real delivery process killed with SIGKILL, then restarted.

- Killed between "sent" and "recorded" (the SMTP server has the message, the process dies before the 250
  reply reaches it): on restart that message is ``in_doubt`` and is not sent again; every other message
  arrives exactly once (counted by Message-ID at the server), none is lost.
- Killed between the claim's commit and the SMTP call: that message is ``in_doubt`` too and is NOT delivered.
  Delivery is at most once per key: a crash inside the claim-to-record window loses that one message (it is
  reported, never guessed at) rather than risk sending it twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import duckdb

from tests.automate.smtp_server import smtp_server

N = 8
KILL_AT = 3
"""The message (1-based, in send order) during which the delivery process is killed."""

SCRIPT = r"""
import json, os, signal, sys
from datetime import datetime, timedelta

import pandas as pd

from cxlab.automate import flows
from cxlab.automate.adapters import make_adapter
from cxlab.automate.contacts import ContactBook
from cxlab.automate.message import Message
from cxlab.automate.outbox import Outbox
from cxlab.store import Store

db, port, n, kill_before_send, contacts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
T0 = datetime(2026, 1, 5, 10)
customers = [f"c{i:02d}" for i in range(n)]
rows = pd.DataFrame({
    "flow": "abandoned_cart", "customer_id": customers, "trigger_key": [f"cart-{c}" for c in customers],
    "trigger_ts": T0 - timedelta(hours=4), "channel": "email", "variant": "send", "language": "en",
    "due": [T0 + timedelta(seconds=i) for i in range(n)], "status": "queued",
})
smtp = make_adapter(flows.Adapter(adapter="smtp", host="127.0.0.1", port=port, sender="shop@shop.example", tls="none",
                                        timeout_s=20))
calls = 0


class KillBeforeSend:
    def send(self, message, contact):
        global calls
        calls += 1
        if calls == kill_before_send:  # the claim is committed; the SMTP call never happens
            os.kill(os.getpid(), signal.SIGKILL)
        return smtp.send(message, contact)

    def close(self):
        smtp.close()


def compose(row, contact):
    return Message(row.flow, row.customer_id, row.trigger_key, row.channel, row.variant, row.language,
                   "Your cart", f"Hi {contact.first_name}, your cart is waiting.")


def on_sent(cur, row, message):
    cur.execute("INSERT INTO sent_log VALUES (?)", [message.key])


with Store(db) as store:
    store.con.execute("CREATE TABLE IF NOT EXISTS sent_log (key VARCHAR PRIMARY KEY)")
    outbox = Outbox(store.con)
    recorded = outbox.record(rows, T0)
    adapter = KillBeforeSend()
    report = outbox.deliver({"email": adapter}, compose, ContactBook.from_file(contacts), lambda: T0 + timedelta(hours=1),
                            max_tries=3, retry_after=timedelta(minutes=1), on_sent=on_sent)
    adapter.close()
print(json.dumps({"recorded": recorded, "report": report.to_dict()}))
"""


def _contacts(tmp: Path) -> Path:
    p = tmp / "contacts.csv"
    p.write_text(
        "customer_id,email,first_name\n"
        + "".join(f"c{i:02d},c{i:02d}@example.com,Name{i}\n" for i in range(N)),
        encoding="utf-8",
    )
    return p


def _run(tmp: Path, port: int, kill_before_send: int = 0) -> subprocess.Popen[str]:
    args = [str(tmp / "cxlab.duckdb"), str(port), str(N), str(kill_before_send), str(_contacts(tmp))]
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _outbox(tmp: Path) -> tuple[dict[str, str], int]:
    con = duckdb.connect(str(tmp / "cxlab.duckdb"), read_only=True)
    try:
        status = dict(con.execute("SELECT customer_id, status FROM _cxlab_outbox").fetchall())
        (logged,) = con.execute("SELECT count(*) FROM sent_log").fetchone() or (0,)
    finally:
        con.close()
    return status, int(logged)


def _restart(tmp: Path, port: int) -> str:
    proc = _run(tmp, port)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def _ids(messages: list[EmailMessage]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in messages:
        counts[str(m["To"])] = counts.get(str(m["To"]), 0) + 1
    return counts


def test_killed_between_sent_and_recorded_is_not_sent_again(tmp_path: Path) -> None:
    with smtp_server() as (handler, port):
        client: dict[str, int] = {}

        def kill_on_kth(message: EmailMessage, before: int) -> None:
            if before == KILL_AT - 1 and "killed" not in client:  # stored: now the client dies before the 250
                client["killed"] = 1
                os.kill(client["pid"], signal.SIGKILL)

        handler.on_message = kill_on_kth
        proc = _run(tmp_path, port)
        client["pid"] = proc.pid
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, err
        status, logged = _outbox(tmp_path)
        assert list(status.values()).count("sent") == KILL_AT - 1 and status["c02"] == "sending"

        out = _restart(tmp_path, port)
        by_id = handler.by_message_id()
        by_to = _ids(handler.messages)

    assert '"in_doubt_recovered": 1' in out and '"recorded": 0, "duplicates": 8' in out
    assert len(by_id) == N and set(by_id.values()) == {1}  # every message once: none lost, none twice
    assert by_to == {f"c{i:02d}@example.com": 1 for i in range(N)}
    status, logged = _outbox(tmp_path)
    assert sorted(status.values()) == ["in_doubt"] + ["sent"] * (N - 1) and status["c02"] == "in_doubt"
    assert logged == N - 1  # the send record and on_sent's row commit together


def test_killed_between_claim_and_send_is_in_doubt_and_not_delivered(tmp_path: Path) -> None:
    with smtp_server() as (handler, port):
        proc = _run(tmp_path, port, kill_before_send=KILL_AT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, err
        assert len(handler.messages) == KILL_AT - 1
        out = _restart(tmp_path, port)
        by_to = _ids(handler.messages)

    assert '"in_doubt_recovered": 1' in out
    assert by_to == {f"c{i:02d}@example.com": 1 for i in range(N) if i != KILL_AT - 1}  # at most once
    status, logged = _outbox(tmp_path)
    assert status["c02"] == "in_doubt" and list(status.values()).count("sent") == N - 1 and logged == N - 1
