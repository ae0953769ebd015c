"""The consent ledger's current state: latest row per customer and channel, withdrawal wins ties, opt-in."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.privacy.consent import (
    channel_counts,
    consent_state,
    may_contact,
    record,
)
from cxlab.privacy.keys import keyed, load_secret
from cxlab.privacy.tables import TOMBSTONES
from cxlab.store import Store

T0 = dt.datetime(2025, 3, 1, 12, 0)


def test_grant_then_withdraw_is_not_allowed_at_once(store: Store) -> None:
    record(store.con, "cust-4711", "email", granted=True, ts=T0)
    assert may_contact(store.con, "cust-4711", "email")
    record(store.con, "cust-4711", "email", granted=False)  # now: after the grant
    assert not may_contact(store.con, "cust-4711", "email")
    assert may_contact(store.con, "cust-4711", "email", at=T0)  # what held back then


def test_withdrawal_wins_a_tie_whatever_the_insert_order(store: Store) -> None:
    record(store.con, "cust-4711", "email", granted=False, ts=T0)
    record(store.con, "cust-4711", "email", granted=True, ts=T0)
    record(store.con, "c2", "sms", granted=True, ts=T0)
    record(store.con, "c2", "sms", granted=False, ts=T0)
    assert not may_contact(store.con, "cust-4711", "email")
    assert not may_contact(store.con, "c2", "sms")
    assert consent_state(store.con).count().execute() == 2


def test_opt_in_by_default(store: Store) -> None:
    assert not may_contact(store.con, "nobody", "email")
    record(store.con, "cust-4711", "sms", granted=True, ts=T0)
    assert not may_contact(store.con, "cust-4711", "email")  # sms consent says nothing about e-mail
    assert may_contact(store.con, "cust-4711", "sms")


def test_state_at_a_past_time(store: Store) -> None:
    record(store.con, "cust-4711", "email", granted=True, ts=T0, source="signup")
    record(
        store.con, "cust-4711", "email", granted=False, ts=T0 + dt.timedelta(days=30), source="unsubscribe"
    )
    record(store.con, "cust-4711", "email", granted=True, ts=T0 + dt.timedelta(days=60), source="preferences")
    assert not may_contact(store.con, "cust-4711", "email", at=T0 - dt.timedelta(seconds=1))
    state = consent_state(store.con, at=T0 + dt.timedelta(days=45)).execute()
    assert state.to_dict("records") == [
        {
            "customer_id": "cust-4711",
            "channel": "email",
            "granted": False,
            "ts": T0 + dt.timedelta(days=30),
            "source": "unsubscribe",
        }
    ]
    assert may_contact(store.con, "cust-4711", "email")


def test_unknown_channel_and_erased_customer_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="'fax' is not one of email"):
        record(store.con, "cust-4711", "fax", granted=True)
    store.con.execute(f"INSERT INTO {TOMBSTONES} VALUES ('customer_id', 'k1', now())")
    with pytest.raises(ValueError, match="erased"):
        record(store.con, "cust-4711", "email", granted=True, tombstone="k1")
    assert store.con.execute("SELECT count(*) FROM consent").fetchone() == (0,)


def test_channel_counts(store: Store) -> None:
    record(store.con, "cust-4711", "email", granted=True, ts=T0)
    record(store.con, "c2", "email", granted=True, ts=T0)
    record(store.con, "c2", "email", granted=False, ts=T0 + dt.timedelta(hours=1))
    record(store.con, "c3", "sms", granted=True, ts=T0)
    got = channel_counts(store.con).execute().to_dict("records")
    assert got == [
        {"channel": "email", "granted": 1, "withdrawn": 1},
        {"channel": "sms", "granted": 1, "withdrawn": 0},
    ]


def test_cli_grant_withdraw_show_and_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CXLAB_SECRET", raising=False)
    db = tmp_path / "cxlab.duckdb"
    runner = CliRunner()
    missing = runner.invoke(
        app, ["privacy", "consent", "grant", "cust-4711", "--channel", "email", "--db", str(db)]
    )
    assert missing.exit_code == 2
    assert not db.exists()  # a typo in --db doesn't create an empty store
    Store(db).close()
    ok = runner.invoke(
        app,
        [
            "privacy",
            "consent",
            "grant",
            "cust-4711",
            "--channel",
            "email",
            "--source",
            "form",
            "--db",
            str(db),
        ],
    )
    assert ok.exit_code == 0, ok.output
    shown = runner.invoke(app, ["privacy", "consent", "show", "cust-4711", "--db", str(db), "--json"])
    assert json.loads(shown.stdout)["consent"][0] | {"ts": None} == {
        "customer_id": "cust-4711",
        "channel": "email",
        "granted": True,
        "ts": None,
        "source": "form",
    }
    out = runner.invoke(
        app, ["privacy", "consent", "withdraw", "cust-4711", "--channel", "email", "--db", str(db)]
    )
    assert out.exit_code == 0, out.output
    counts = runner.invoke(app, ["privacy", "consent", "show", "--db", str(db), "--json"])
    assert json.loads(counts.stdout)["channels"] == [{"channel": "email", "granted": 0, "withdrawn": 1}]
    bad = runner.invoke(
        app, ["privacy", "consent", "grant", "cust-4711", "--channel", "fax", "--db", str(db)]
    )
    assert bad.exit_code == 2
    with Store(db) as s:
        assert not may_contact(s.con, "cust-4711", "email")
        audit = s.con.execute(
            "SELECT action, subject, rows FROM _cxlab_audit WHERE action = 'consent' ORDER BY ts"
        ).fetchall()
    key = keyed(load_secret(db), "cust-4711")
    assert audit == [("consent", key, 1), ("consent", key, 1)]
    assert "cust-4711" not in str(audit)
