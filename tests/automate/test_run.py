"""The run loop: plan rows, exposures and flow versions recorded in one transaction; idempotent rounds;
delivery through the file adapter with the message events; consent withdrawn between plan and send."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cxlab.automate import run as run_mod
from cxlab.automate.flows import HOLDOUT, load_flows
from cxlab.automate.run import flow_words, run_forever, run_once, trigger_words
from cxlab.automate.tables import FLOW_VERSIONS, OUTBOX
from cxlab.config import ConfigError
from cxlab.privacy.consent import record as consent_record
from cxlab.store import Store
from tests.automate.conftest import T0, build_flow_store

N = 60
NOW = T0 + dt.timedelta(hours=5)

FLOW = """
[automate]
quiet_hours = []
caps = {{}}
contacts = "contacts.csv"
[automate.delivery.email]
adapter = "file"
path = "sent"

[flows.abandoned_cart]
channel = "email"
holdout = {holdout}
metric = "conversion"
window = "7d"
trigger = {{ event = "add_to_cart", delay = "4h", cancel = ["purchase"] }}
[flows.abandoned_cart.messages.en]
subject = "Your cart at {{{{ shop }}}}"
body = "Hi {{{{ first_name or 'there' }}}}, order {{{{ order_id }}}} waits. {{{{ unsubscribe }}}}"
"""


def make_store(tmp: Path, holdout: float = 0.2) -> Store:
    customers = [{"customer_id": f"c{i:02d}", "country": "NL", "language": "en"} for i in range(N)]
    # c00–c04 never consented; everyone else granted e-mail a month ago
    consent = [{"customer_id": f"c{i:02d}"} for i in range(5, N)]
    events = [
        {
            "event_id": f"cart{i:02d}",
            "ts": 0.5,
            "event": "add_to_cart",
            "customer_id": f"c{i:02d}",
            "properties": {"order_id": f"o{i}"},
        }
        for i in range(N)
    ]
    # each cart names the customer's own order (a message may only show an order of the orders table)
    orders = [
        {"order_id": f"o{i}", "customer_id": f"c{i:02d}", "ts": 0.25, "revenue": 10.0} for i in range(N)
    ]
    store = build_flow_store(
        tmp,
        customers=customers,
        events=events,
        orders=orders,
        consent=consent,
        toml=FLOW.format(holdout=holdout),
    )
    rows = ["customer_id,email,phone,first_name"] + [f"c{i:02d},c{i}@example.com,,Name{i}" for i in range(N)]
    rows[8] = "c07,c7@example.com,,<b>Eve</b>"
    (tmp / "contacts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = make_store(tmp_path / "p")
    yield s
    s.close()


def counts(store: Store) -> dict[str, int]:
    out = {}
    for name, table in (
        ("outbox", OUTBOX),
        ("exposures", "exposures"),
        ("changes", "changes"),
        ("versions", FLOW_VERSIONS),
        ("events", "events"),
    ):
        ((n,),) = store.con.execute(f"SELECT count(*) FROM {table}").fetchall()
        out[name] = int(n)
    return out


def sent_lines(store: Store) -> list[dict[str, Any]]:
    folder = store.path.parent / "sent"
    return [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()]


def test_round_records_outbox_exposures_versions_and_delivers(store: Store) -> None:
    before = counts(store)
    res = run_once(store, NOW, check_tone=False)
    after = counts(store)
    status = dict(store.con.execute(f"SELECT status, count(*) FROM {OUTBOX} GROUP BY status").fetchall())
    assert after["outbox"] == N
    reasons = store.con.execute(f"SELECT customer_id FROM {OUTBOX} WHERE reason = 'no_consent'").fetchall()
    assert sorted(c for (c,) in reasons) == [f"c{i:02d}" for i in range(5)]
    # exposed: everyone with consent, in the holdout or the sent arm (first exposure, ts = due)
    x = store.con.execute(
        "SELECT variant, count(*), min(ts), max(ts) FROM exposures WHERE experiment_id = 'flow:abandoned_cart' "
        "GROUP BY variant"
    ).fetchall()
    by = {v: n for v, n, _, _ in x}
    assert sum(by.values()) == N - 5 == after["exposures"]
    assert by[HOLDOUT] == status["held_out"] and by["send"] == status["sent"]
    assert all(lo == hi == T0 + dt.timedelta(hours=4.5) for _, _, lo, hi in x)
    # the change log
    (change,) = store.con.execute(
        "SELECT change_id, ts, touchpoint, description, experiment_id FROM changes"
    ).fetchall()
    flow = load_flows(store.config, store.path.parent)[0]
    assert change == (
        f"flow-abandoned_cart-{flow.version_hash()}",
        NOW,
        "abandoned_cart_email",
        "Flow abandoned_cart (v1): add_to_cart + 4h unless purchase, e-mail, 20% holdout",
        "flow:abandoned_cart",
    )
    assert res.versions == [change[0]] and res.exposures == N - 5
    # delivery: one file line and one email_sent event per sent message; the name escaped only in HTML
    lines = sent_lines(store)
    assert len(lines) == status["sent"] == res.delivery.sent > 0
    assert {ln["to"]["email"] for ln in lines} == {
        f"c{int(ln['customer_id'][1:])}@example.com" for ln in lines
    }
    one = lines[0]
    cid = one["customer_id"]
    i = int(cid[1:])
    assert one["subject"] == "Your cart at My shop"
    assert one["text"].startswith(f"Hi {'<b>Eve</b>' if i == 7 else f'Name{i}'}, order o{i} waits.")
    assert "unsubscribe" in one["text"]
    ev = store.con.execute(
        "SELECT event_id, event, channel, touchpoint, customer_id, properties FROM events WHERE event = 'email_sent' "
        "ORDER BY event_id"
    ).fetchall()
    assert len(ev) == status["sent"] == after["events"] - before["events"]
    e = next(r for r in ev if r[4] == cid)
    assert e[0] == f"flow:abandoned_cart:{cid}:cart{i:02d}"
    assert e[1:4] == ("email_sent", "email", "abandoned_cart_email")
    assert json.loads(e[5]) == {
        "flow": "abandoned_cart",
        "variant": "send",
        "trigger_key": f"cart{i:02d}",
        "order_id": f"o{i}",
    }
    # the report counts each sent message once: the outbox's, not again as the event it wrote
    from cxlab.automate.effects import flow_effects

    (eff,) = flow_effects(store).flows
    assert eff.sent_by_origin == {"outbox": status["sent"]} and eff.held_out == status["held_out"]
    assert "Flows round" in res.summary() and res.to_dict()["delivery"]["sent"] == status["sent"]


def test_second_round_records_nothing_new(store: Store) -> None:
    run_once(store, NOW, check_tone=False)
    first = counts(store)
    n_lines = len(sent_lines(store))
    again = run_once(store, NOW + dt.timedelta(minutes=5), check_tone=False)
    assert counts(store) == first
    assert len(sent_lines(store)) == n_lines
    assert again.decided.empty and again.exposures == 0 and again.versions == []
    assert again.delivery.sent == 0 and not again.changed


def test_new_flow_version_adds_a_change(tmp_path: Path) -> None:
    s = make_store(tmp_path / "p", holdout=0.2)
    run_once(s, NOW, deliver=False, check_tone=False)
    s.close()
    cfg = tmp_path / "p" / "cxlab.toml"
    cfg.write_text(cfg.read_text().replace("holdout = 0.2", "holdout = 0.3"))
    with Store(tmp_path / "p" / "cxlab.duckdb") as s2:
        res = run_once(s2, NOW + dt.timedelta(hours=1), deliver=False, check_tone=False)
        rows = s2.con.execute("SELECT description FROM changes ORDER BY ts").fetchall()
        versions = s2.con.execute(f"SELECT count(*) FROM {FLOW_VERSIONS}").fetchall()
    assert len(res.versions) == 1
    assert [d for (d,) in rows] == [
        "Flow abandoned_cart (v1): add_to_cart + 4h unless purchase, e-mail, 20% holdout",
        "Flow abandoned_cart (v2): add_to_cart + 4h unless purchase, e-mail, 30% holdout",
    ]
    assert versions == [(2,)]
    # switching the flow off is a change too; its queued messages are then not sent
    cfg.write_text(cfg.read_text().replace("holdout = 0.3", "holdout = 0.3\nenabled = false"))
    with Store(tmp_path / "p" / "cxlab.duckdb") as s3:
        res = run_once(s3, NOW + dt.timedelta(hours=2), check_tone=False)
        (last,) = s3.con.execute("SELECT description FROM changes ORDER BY ts DESC LIMIT 1").fetchone() or (
            "",
        )
        sent = s3.con.execute(f"SELECT count(*) FROM {OUTBOX} WHERE status = 'sent'").fetchall()
    assert last.startswith("Flow abandoned_cart (v3) (disabled): ")
    assert res.blocked == {"abandoned_cart": "disabled"} and sent == [(0,)]
    assert res.delivery.sent == 0 and res.delivery.suppressed > 0


def test_failure_mid_transaction_stores_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before = counts(store)
    calls: list[int] = []

    def broken(con: Any, flows: Any, now: Any) -> list[str]:
        ((n,),) = con.execute("SELECT count(*) FROM exposures").fetchall()
        calls.append(int(n))  # the outbox rows and exposures are written by now, uncommitted
        raise RuntimeError("disk gone")

    monkeypatch.setattr(run_mod, "_version_flows", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        run_once(store, NOW, check_tone=False)
    assert calls and calls[0] > 0
    assert counts(store) == before
    assert sent_lines(store) == []
    monkeypatch.undo()
    res = run_once(store, NOW, check_tone=False)  # the next round decides the same triggers again
    assert counts(store)["outbox"] == N and res.exposures == N - 5


def test_consent_withdrawn_between_plan_and_send_suppresses(store: Store) -> None:
    run_once(store, NOW, deliver=False, check_tone=False)
    queued = [
        c
        for (c,) in store.con.execute(
            f"SELECT customer_id FROM {OUTBOX} WHERE status = 'queued' ORDER BY 1"
        ).fetchall()
    ]
    assert len(queued) > 2
    gone = queued[0]
    consent_record(store.con, gone, "email", granted=False, ts=NOW + dt.timedelta(minutes=1))
    res = run_once(store, NOW + dt.timedelta(minutes=2), check_tone=False)
    (row,) = store.con.execute(
        f"SELECT status, reason FROM {OUTBOX} WHERE customer_id = ?", [gone]
    ).fetchall()
    assert row == ("suppressed", "consent withdrawn")
    assert res.delivery.suppressed == 1 and res.delivery.sent == len(queued) - 1
    assert gone not in {ln["customer_id"] for ln in sent_lines(store)}
    assert not store.con.execute(
        "SELECT 1 FROM events WHERE event = 'email_sent' AND customer_id = ?", [gone]
    ).fetchall()


def test_purchase_between_plan_and_send_cancels_the_reminder(store: Store) -> None:
    run_once(store, NOW, deliver=False, check_tone=False)
    queued = [
        c
        for (c,) in store.con.execute(
            f"SELECT customer_id FROM {OUTBOX} WHERE status = 'queued' ORDER BY 1"
        ).fetchall()
    ]
    bought, anon = queued[0], queued[1]
    store.con.execute(
        "INSERT INTO events (event_id, ts, customer_id, anonymous_id, event) VALUES "
        "('p1', ?, ?, NULL, 'purchase'), ('p2', ?, NULL, 'browser-9', 'purchase'), "
        "('p3', ?, ?, 'browser-9', 'page_view'), ('p4', ?, ?, NULL, 'purchase')",
        # anon buys in a browser later tied to them; queued[2] bought before the cart (no cancel)
        [NOW, bought, NOW, NOW, anon, T0, queued[2]],
    )
    res = run_once(store, NOW + dt.timedelta(minutes=2), check_tone=False)
    got = dict(
        store.con.execute(
            f"SELECT customer_id, reason FROM {OUTBOX} WHERE status = 'suppressed' AND customer_id IN (?, ?, ?)",
            [bought, anon, queued[2]],
        ).fetchall()
    )
    assert got == {
        bought: "cancelled: purchase since the trigger",
        anon: "cancelled: purchase since the trigger",
    }
    assert res.delivery.suppressed == 2 and res.delivery.sent == len(queued) - 2
    assert not {bought, anon} & {ln["customer_id"] for ln in sent_lines(store)}


def _config_error(folder: Path, edit: Callable[[str], str], contacts: str | None = None) -> str:
    """Edit the project's cxlab.toml (and contact file), run a round and return the ConfigError's text,
    checking that the round recorded nothing."""
    cfg = folder / "cxlab.toml"
    cfg.write_text(edit(cfg.read_text()))
    if contacts is not None:
        (folder / "contacts.csv").write_text(contacts)
    with Store(folder / "cxlab.duckdb") as s:
        before = counts(s)
        with pytest.raises(ConfigError) as e:
            run_once(s, NOW, check_tone=False)
        assert counts(s) == before
    return str(e.value)


ADAPTER = '[automate.delivery.email]\nadapter = "file"\npath = "sent"\n'


def test_undeliverable_round_records_nothing(tmp_path: Path) -> None:
    """No adapter, no contact file or no e-mail column: a ConfigError before anything is recorded (the
    customers would be exposed and every message given up)."""
    folder = tmp_path / "p"
    make_store(folder).close()
    text = _config_error(folder, lambda t: t.replace(ADAPTER, ""))
    assert "[automate.delivery.email] is not set" in text and "abandoned_cart" in text
    text = _config_error(folder, lambda t: t.replace('contacts = "contacts.csv"\n', "") + "\n" + ADAPTER)
    assert "[automate] contacts is not set" in text
    text = _config_error(
        folder,
        lambda t: t.replace("caps = {}\n", 'caps = {}\ncontacts = "contacts.csv"\n'),
        contacts="customer_id,first_name\nc01,Ann\n",
    )
    assert "no email column" in text and "contacts.csv" in text
    text = _config_error(
        folder,
        lambda t: t.replace('metric = "conversion"', 'metric = "convresion"'),
        contacts="customer_id,email\nc01,a@example.com\n",
    )
    assert "[flows.abandoned_cart]" in text and "'convresion'" in text
    # the plan alone refuses the unknown metric too
    with Store(folder / "cxlab.duckdb") as s, pytest.raises(ConfigError, match="abandoned_cart"):
        run_once(s, NOW, deliver=False, check_tone=False)


def test_missing_sms_secret_does_not_block_email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CXLAB_TEST_SMS_KEY", raising=False)
    folder = tmp_path / "p"
    make_store(folder).close()
    sms = (
        '[automate.delivery.sms]\nadapter = "webhook"\nurl = "https://sms.example/send"\n'
        'secret_env = "CXLAB_TEST_SMS_KEY"\n'
        '[flows.ship]\nchannel = "sms"\nenabled = {enabled}\ntrigger = {{ event = "delivered" }}\n'
        '[flows.ship.messages.en]\nbody = "On its way"\n'
    )
    cfg = folder / "cxlab.toml"
    base = cfg.read_text()
    cfg.write_text(base + sms.format(enabled="false"))
    with Store(folder / "cxlab.duckdb") as s:
        res = run_once(s, NOW, check_tone=False)
    assert res.delivery.sent > 0
    # once the SMS flow is on, its missing secret is named (and nothing more is recorded)
    text = _config_error(folder, lambda t: t.replace("enabled = false", "enabled = true"))
    assert "no phone column" in text and "flow ship (sms)" in text
    phones = "customer_id,email,phone\nc05,c5@example.com,+31600000005\n"
    text = _config_error(folder, lambda t: t, contacts=phones)
    assert "CXLAB_TEST_SMS_KEY" in text


def test_words_and_run_forever_stops(tmp_path: Path) -> None:
    s = make_store(tmp_path / "p")
    flow = load_flows(s.config, s.path.parent)[0]
    s.close()
    assert trigger_words(flow) == "add_to_cart + 4h unless purchase"
    assert flow_words(flow, 3).startswith("Flow abandoned_cart (v3): ")
    stop = threading.Event()
    seen: list[Any] = []

    def on_round(r: Any) -> None:
        seen.append(r)
        stop.set()

    rounds = run_forever(tmp_path / "p" / "cxlab.duckdb", 0.01, stop, on_round=on_round, check_tone=False)
    assert rounds == 1 and len(seen) == 1


def test_send_time_consent_check_agrees_with_the_ledger(tmp_path: Path) -> None:
    """The point query flows ask before each send agrees with the ledger's state (the window over all rows)."""
    from cxlab.privacy.consent import consent_state, may_contact

    def state(con: Any, who: str, when: dt.datetime) -> bool:
        st = consent_state(con, when)
        row = st.filter((st.customer_id == who) & (st.channel == "email")).granted.execute()
        return bool(len(row) and row.iloc[0])

    t = T0
    ledger = [
        {"customer_id": "granted", "ts": t},
        {"customer_id": "withdrawn", "ts": t},
        {"customer_id": "withdrawn", "granted": False, "ts": t + dt.timedelta(hours=1)},
        {"customer_id": "tie", "ts": t},
        {"customer_id": "tie", "granted": False, "ts": t},
        {"customer_id": "later", "ts": t + dt.timedelta(days=2)},
        {"customer_id": "sms_only", "channel": "sms", "ts": t},
        {"customer_id": "back", "granted": False, "ts": t},
        {"customer_id": "back", "ts": t + dt.timedelta(hours=2)},
    ]
    with build_flow_store(tmp_path / "c", consent=ledger) as s:
        for who in ("granted", "withdrawn", "tie", "later", "sms_only", "back", "nobody"):
            for when in (
                t - dt.timedelta(hours=1),
                t + dt.timedelta(hours=1, minutes=30),
                t + dt.timedelta(days=3),
            ):
                expected = state(s.con, who, when)
                assert may_contact(s.con, who, "email", when) == expected, (who, when)
                assert may_contact(s.ibis(), who, "email", when) == expected, (who, when)  # the Ibis form
        assert may_contact(s.con, "granted", "email", t + dt.timedelta(hours=1))
        assert not may_contact(s.con, "tie", "email", t + dt.timedelta(hours=1))


SAFETY = """
[automate]
quiet_hours = []
caps = {}
contacts = "contacts.csv"
[automate.delivery.email]
adapter = "file"
path = "mail_out"
[automate.delivery.sms]
adapter = "file"
path = "sms_out"
"""

BIRTHDAY = """
[flows.bday]
channel = "email"
holdout = 0.0
trigger = { date = "birthday", at = "00:00" }
[flows.bday.messages.en]
subject = "Happy birthday"
body = "Happy birthday {{ first_name or 'there' }}!{% if order_id %} (ref {{ order_id }}){% endif %}"
"""


def out_lines(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()]


def test_made_up_trigger_keys_pick_up_no_event_text(tmp_path: Path) -> None:
    """An event whose id equals a birthday key (old or new spelling) must not put its properties in every
    birthday message: a message's order id is only the one the plan recorded in the outbox."""
    folder = tmp_path / "p"
    phish = "PHISH https://evil.example"
    events = [
        {
            "event_id": key,
            "ts": 4,
            "event": "page_view",
            "anonymous_id": "x",
            "properties": {"order_id": phish},
        }
        for key in ("birthday:2024", "~birthday:2024")
    ]
    customers = [
        {"customer_id": f"c{i}", "language": "en", "country": "GB", "birthday": dt.date(1990, 5, 1)}
        for i in range(3)
    ]
    s = build_flow_store(
        folder,
        customers=customers,
        consent=[{"customer_id": f"c{i}"} for i in range(3)],
        events=events,
        toml=SAFETY + BIRTHDAY,
    )
    (folder / "contacts.csv").write_text(
        "customer_id,email\n" + "".join(f"c{i},c{i}@x.example\n" for i in range(3))
    )
    with s:
        res = run_once(s, NOW, check_tone=False)
    lines = out_lines(folder / "mail_out")
    assert res.delivery.sent == 3 == len(lines)
    assert all(ln["text"] == "Happy birthday there!" for ln in lines), [ln["text"] for ln in lines]


def test_replayed_round_checks_consent_on_the_real_clock(tmp_path: Path) -> None:
    """``--at`` a past moment plans as of then, but a customer who withdrew since is never sent to."""
    folder = tmp_path / "p"
    withdrawn = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
    s = build_flow_store(
        folder,
        customers=[{"customer_id": "c1", "language": "en"}],
        consent=[{"customer_id": "c1"}, {"customer_id": "c1", "granted": False, "ts": withdrawn}],
        events=[{"event_id": "e1", "ts": 0, "event": "add_to_cart", "customer_id": "c1"}],
        toml=FLOW.format(holdout=0.0),
    )
    (folder / "contacts.csv").write_text("customer_id,email\nc1,c1@x.example\n")
    with s:
        res = run_once(s, NOW, check_tone=False)  # NOW is in 2024: consent was granted then
        row = s.con.execute(f"SELECT status, reason FROM {OUTBOX}").fetchall()
    assert row == [("suppressed", "consent withdrawn")]
    assert res.delivery.sent == 0 and not out_lines(folder / "sent")


def test_channel_changed_since_the_plan_suppresses(tmp_path: Path) -> None:
    """A row planned for SMS is not sent after the flow moved to e-mail (nor on the old channel, whose
    consent the customer withdrew meanwhile)."""
    from tests.automate.conftest import flow

    folder = tmp_path / "p"
    s = build_flow_store(
        folder,
        customers=[{"customer_id": "c1", "language": "en"}],
        consent=[{"customer_id": "c1", "channel": "sms"}, {"customer_id": "c1", "channel": "email"}],
        events=[{"event_id": "e1", "ts": 0, "event": "add_to_cart", "customer_id": "c1"}],
        toml=SAFETY,
    )
    (folder / "contacts.csv").write_text("customer_id,email,phone\nc1,c1@x.example,+31600000001\n")
    with s:
        run_once(s, NOW, deliver=False, check_tone=False, flows=[flow(channel="sms", holdout=0.0)])
        assert s.con.execute(f"SELECT channel, status FROM {OUTBOX}").fetchall() == [("sms", "queued")]
        consent_record(s.con, "c1", "sms", granted=False, ts=NOW)
        res = run_once(s, NOW, check_tone=False, flows=[flow(channel="email", holdout=0.0)])
        row = s.con.execute(f"SELECT channel, status, reason FROM {OUTBOX}").fetchall()
    assert row == [("sms", "suppressed", "the flow's channel changed since it was planned")]
    assert res.delivery.sent == 0
    assert not out_lines(folder / "sms_out") and not out_lines(folder / "mail_out")


def test_unsubscribe_text_in_the_customers_language_with_the_header(tmp_path: Path) -> None:
    from cxlab.automate.message import Contact
    from cxlab.automate.run import Composer

    folder = tmp_path / "p"
    make_store(folder).close()
    body = "{{ unsubscribe }}|{{ unsubscribe_url or '-' }}"
    cfg = folder / "cxlab.toml"
    text = cfg.read_text().replace("order {{ order_id }} waits. {{ unsubscribe }}", body)
    text = text.replace(
        "[flows.abandoned_cart.messages.en]",
        f'[flows.abandoned_cart.messages.nl]\nbody = "{body}"\n[flows.abandoned_cart.messages.en]',
    )
    row = {
        "flow": "abandoned_cart",
        "customer_id": "c09",
        "trigger_key": "cart09",
        "channel": "email",
        "variant": "send",
        "order_id": None,
    }
    contact = Contact("c09", email="c9@example.com")
    cfg.write_text(text)
    with Store(folder / "cxlab.duckdb") as s:
        composer = Composer(s, load_flows(s.config, folder))
        nl = composer.compose({**row, "language": "nl"}, contact)
        en = composer.compose({**row, "language": "en"}, contact)
    assert nl.text.startswith("Je krijgt deze e-mail") and nl.text.endswith("|-") and nl.headers == {}
    assert en.text.endswith(
        "You get this e-mail because you agreed to hear from My shop. Reply 'unsubscribe' to stop.|-"
    )
    cfg.write_text(
        text.replace("[automate]\n", '[automate]\nunsubscribe = "https://shop.example/u?c=1"\n', 1)
    )
    with Store(folder / "cxlab.duckdb") as s:
        composer = Composer(s, load_flows(s.config, folder))
        nl = composer.compose({**row, "language": "nl"}, contact)
    assert nl.text == (
        "Je krijgt deze e-mail omdat je berichten van "
        f"{s.config.shop.name} wilde ontvangen. Afmelden: https://shop.example/u?c=1|https://shop.example/u?c=1"
    )
    assert nl.headers == {"List-Unsubscribe": "<https://shop.example/u?c=1>"}
