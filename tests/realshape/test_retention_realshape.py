"""Real-shape retention and consent (issue 13, points 5 and 6), loaded through ``cxlab ingest`` as shops export:

- a cp1252 clickstream without ``session_id`` spanning three years, with a customer whose first purchase is
  today, pruned by ``retain_events = "25 months"`` through ``cxlab privacy prune``;
- orders in EUR and GBP and reviews including junk ("....") pruned by two-year retention, whose monthly
  aggregates keep each currency apart;
- a newsletter tool's consent export (grant and unsubscribe in the same second) fed to the ledger by ingest.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.config import default_toml
from cxlab.privacy.consent import may_contact
from cxlab.privacy.retention import AGGREGATES
from cxlab.store import Store
from tests.realshape.shapes import ingest_file, write_csv

runner = CliRunner()
TODAY = dt.datetime.now(dt.UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)


def _days_ago(days: int, hour: int = 10) -> dt.datetime:
    return TODAY - dt.timedelta(days=days) + dt.timedelta(hours=hour)


def test_prune_a_real_shaped_store(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    (tmp_path / "cxlab.toml").write_text(
        default_toml()
        + '\n[privacy]\nretain_events = "25 months"\nretain_orders = "2 years"\nretain_feedback = "2 years"\n'
    )
    events = [  # every 10 days for three years, no session_id; the last one a first purchase today
        (
            f"e{d}",
            f"{_days_ago(d):%Y-%m-%d %H:%M:%S}",
            f"kunde-{d % 7}",
            "",
            "page_view",
            "direct",
            "Forår – æøå",
        )
        for d in range(1, 3 * 365, 10)
    ] + [("e-today", f"{TODAY:%Y-%m-%d} 09:00:00", "ny-kunde", "", "purchase", "email", "Første køb")]
    ingest_file(
        db,
        "events",
        write_csv(
            tmp_path / "events.csv",
            events,
            ["event_id", "ts", "customer_id", "anonymous_id", "event", "channel", "campaign"],
            encoding="cp1252",
        ),
    )
    orders = [
        (f"o{d}", f"{_days_ago(d):%Y-%m-%d %H:%M:%S}", f"kunde-{d % 7}", "20.00", "EUR" if d % 2 else "GBP")
        for d in range(5, 3 * 365, 30)
    ]
    ingest_file(
        db,
        "orders",
        write_csv(tmp_path / "orders.csv", orders, ["order_id", "ts", "customer_id", "revenue", "currency"]),
    )
    reviews = [
        (
            f"r{d}",
            f"{_days_ago(d):%Y-%m-%d}",
            f"kunde-{d % 7}",
            "review",
            "4",
            "...." if d % 3 else "Hurtig levering",
        )
        for d in range(20, 3 * 365, 45)
    ]
    ingest_file(
        db,
        "feedback",
        write_csv(
            tmp_path / "reviews.csv", reviews, ["feedback_id", "ts", "customer_id", "source", "score", "text"]
        ),
    )

    r = runner.invoke(app, ["privacy", "prune", "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    cuts = {t: dt.datetime.fromisoformat(c) for t, c in doc["cutoffs"].items()}
    old_events = [e for e in events if dt.datetime.fromisoformat(e[1]) < cuts["events"]]
    old_orders = [o for o in orders if dt.datetime.fromisoformat(o[1]) < cuts["orders"]]
    old_reviews = [f for f in reviews if dt.datetime.fromisoformat(f[1]) < cuts["feedback"]]
    assert doc["rows_removed"] == {
        "events": len(old_events),
        "orders": len(old_orders),
        "feedback": len(old_reviews),
    }
    assert len(old_events) > 0 and len(old_orders) > 0 and len(old_reviews) > 0

    with Store(db, read_only=True) as s:
        left = {r[0] for r in s.con.execute("SELECT event_id FROM events").fetchall()}
        assert left == {e[0] for e in events} - {e[0] for e in old_events}
        assert "e-today" in left
        per_currency = dict(
            s.con.execute(
                f"""SELECT currency, sum(revenue) FROM {AGGREGATES} WHERE "table" = 'orders' GROUP BY 1"""
            ).fetchall()
        )
        assert per_currency == {
            c: 20.0 * sum(1 for o in old_orders if o[4] == c) for c in {o[4] for o in old_orders}
        }
        assert s.con.execute(f"SELECT count(*) FROM {AGGREGATES} WHERE kind LIKE 'kunde%'").fetchone() == (0,)

    status = runner.invoke(app, ["status", "--db", str(db), "--json"])  # analyses still read the store
    assert status.exit_code == 0, status.output


def test_consent_export_fed_by_ingest(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    Store(db).close()
    rows = [  # a newsletter tool's export, cp1252: signed up, unsubscribed a second later
        ("kunde-1", "email", "true", "2025-03-01 10:00:00", "Tilmelding – forside"),
        ("kunde-1", "email", "false", "2025-03-01 10:00:01", "Afmeld-link"),
        ("kunde-2", "email", "true", "2025-03-02 11:00:00", "Tilmelding – forside"),
        ("kunde-2", "sms", "true", "2025-03-02 11:00:00", "Kassen"),
        ("kunde-3", "sms", "true", "2025-01-01 08:00:00", "Kassen"),
        ("kunde-3", "sms", "false", "2025-06-01 08:00:00", "STOP-sms"),
    ]
    path = write_csv(
        tmp_path / "consent.csv", rows, ["customer_id", "channel", "granted", "ts", "source"], "cp1252"
    )
    ingest_file(db, "consent", path)
    with Store(db, read_only=True) as s:
        assert not may_contact(s.con, "kunde-1", "email")
        assert may_contact(s.con, "kunde-2", "email") and may_contact(s.con, "kunde-2", "sms")
        assert not may_contact(s.con, "kunde-3", "sms")
        assert may_contact(s.con, "kunde-3", "sms", at=dt.datetime(2025, 3, 1))
        assert not may_contact(s.con, "kunde-4", "email")
    shown = runner.invoke(app, ["privacy", "consent", "show", "--db", str(db), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["channels"] == [
        {"channel": "email", "granted": 1, "withdrawn": 1},
        {"channel": "sms", "granted": 1, "withdrawn": 1},
    ]
    one = runner.invoke(app, ["privacy", "consent", "show", "kunde-3", "--db", str(db)])
    assert "STOP-sms" in one.stdout


def test_a_withdrawal_in_the_same_second_as_the_grant_is_stored_and_wins(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    Store(db).close()
    ingest_file(db, "consent", write_csv(tmp_path / "grant.csv", [("kunde-1", "email", "true", "2025-03-01 10:00:00")],
                                ["customer_id", "channel", "granted", "ts"]))  # fmt: skip
    ingest_file(db, "consent", write_csv(tmp_path / "unsubscribe.csv", [("kunde-1", "email", "false", "2025-03-01 10:00:00")],
                                ["customer_id", "channel", "granted", "ts"]))  # fmt: skip
    with Store(db, read_only=True) as s:
        assert s.con.execute("SELECT count(*) FROM consent").fetchone() == (2,)
        assert not may_contact(s.con, "kunde-1", "email")
