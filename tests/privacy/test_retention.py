"""Retention: rows past ``[privacy] retain_*`` go, newer rows stay, monthly aggregates without personal keys
are kept first, a dry run changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.config import Config, ConfigError, default_toml
from cxlab.privacy.retention import AGGREGATES, cutoff, prune
from cxlab.store import Store
from cxlab.voice.tables import ensure_tables

NOW = dt.datetime(2026, 1, 15, 12, 0)


def config(**retain: str) -> Config:
    lines = "\n".join(f'retain_{t} = "{d}"' for t, d in retain.items())
    return Config.parse_toml(default_toml() + f"\n[privacy]\n{lines}\n")


def three_years_of_events() -> pd.DataFrame:
    """Events on the 1st and 20th of each month from Jan 2023 to Dec 2025, customers c0..c4."""
    rows = []
    for month in pd.date_range("2023-01-01", "2025-12-01", freq="MS"):
        for day in (1, 20):
            for i in range(5):
                ts = month.replace(day=day, hour=10 + i)
                purchase = i % 2 == 0
                rows.append(
                    {
                        "event_id": f"e{ts:%Y%m%d%H}{i}",
                        "ts": ts.to_pydatetime(),
                        "customer_id": f"c{(month.month + i) % 5}",
                        "event": "purchase" if purchase else "page_view",
                        "channel": "email" if i < 2 else "direct",
                        "touchpoint": "checkout" if purchase else "site",
                        "revenue": 10.0 * (i + 1) if purchase else None,
                    }
                )
    return pd.DataFrame(rows)


def load_events(store: Store, df: pd.DataFrame) -> None:
    store.con.register("_ev", df)
    store.con.execute(
        "INSERT INTO events (event_id, ts, customer_id, event, channel, touchpoint, revenue) "
        "SELECT event_id, ts, customer_id, event, channel, touchpoint, revenue FROM _ev"
    )
    store.con.unregister("_ev")


def test_durations_and_their_validation() -> None:
    assert cutoff(NOW, "25 months") == dt.datetime(2023, 12, 15, 12, 0)
    assert cutoff(NOW, "2 years") == dt.datetime(2024, 1, 15, 12, 0)
    assert cutoff(NOW, "90 days") == NOW - dt.timedelta(days=90)
    assert cutoff(NOW, "6 weeks") == NOW - dt.timedelta(days=42)
    assert cutoff(NOW, "1 Month") == dt.datetime(2025, 12, 15, 12, 0)
    for bad in ("25 mnths", "0 days", "forever", "-3 months"):
        with pytest.raises(ConfigError, match=r"privacy\.retain_events: .*is not a duration"):
            config(events=bad)
    with pytest.raises(ConfigError, match=r"privacy\.retain_orders"):
        config(orders="two years")


def test_old_events_go_newer_stay_and_aggregates_equal_the_removed_rows(store: Store) -> None:
    df = three_years_of_events()
    load_events(store, df)
    store.con.execute("INSERT INTO orders (order_id, customer_id, ts, revenue, currency) VALUES "
                      "('o1', 'c1', '2023-02-01', 50, 'EUR')")  # fmt: skip
    result = prune(store, config(events="25 months"), now=NOW)

    old = df[df.ts < dt.datetime(2023, 12, 15, 12, 0)]
    assert result.rows_removed == {"events": len(old)}
    assert len(old) == 11 * 10 + 5  # Jan-Nov 2023 whole, 1 Dec 2023 (20 Dec is after the cutoff)
    left = store.con.execute("SELECT event_id FROM events ORDER BY event_id").fetchall()
    assert [r[0] for r in left] == sorted(df[~df.event_id.isin(old.event_id)].event_id)
    assert store.con.execute("SELECT count(*) FROM orders").fetchone() == (1,)  # no retain_orders

    expected = (
        old.assign(month=old.ts.dt.to_period("M").dt.start_time.dt.date)
        .groupby(["month", "event", "channel", "touchpoint"])
        .agg(rows=("event_id", "size"), customers=("customer_id", "nunique"), revenue=("revenue", "sum"))
        .reset_index()
    )
    expected.loc[expected.event == "page_view", "revenue"] = None
    got = store.con.execute(
        f"""SELECT month, kind AS event, channel, touchpoint, rows, customers, revenue FROM {AGGREGATES}
        WHERE "table" = 'events' ORDER BY ALL"""
    ).df()
    pd.testing.assert_frame_equal(
        got.assign(month=got.month.dt.date),
        expected.sort_values(["month", "event", "channel", "touchpoint"]).reset_index(drop=True),
        check_dtype=False,
    )
    assert result.aggregates == len(expected)
    # no personal key in what is kept
    cols = {r[0] for r in store.con.execute(f"DESCRIBE {AGGREGATES}").fetchall()}
    assert not cols & {"customer_id", "anonymous_id", "event_id", "order_id", "feedback_id", "text"}
    text = store.con.execute(f"SELECT * FROM {AGGREGATES}").df().to_string()
    assert not any(c in text.split() for c in ("c0", "c1", "c2", "c3", "c4"))
    # the audit entry
    action, rows, detail = store.con.execute("SELECT action, rows, detail FROM _cxlab_audit").fetchone()
    assert (action, rows) == ("prune", len(old))
    assert json.loads(detail)["rows_removed"] == {"events": len(old)}


def test_dry_run_removes_nothing_and_counts_what_a_run_removes(store: Store) -> None:
    load_events(store, three_years_of_events())
    cfg = config(events="25 months")
    dry = prune(store, cfg, now=NOW, dry_run=True)
    assert store.con.execute("SELECT count(*) FROM events").fetchone() == (360,)
    assert store.con.execute("SELECT count(*) FROM _cxlab_audit").fetchone() == (0,)
    assert "would remove 115 events" in dry.summary()
    assert prune(store, cfg, now=NOW).rows_removed == dry.rows_removed == {"events": 115}


def test_no_retention_configured_removes_nothing(store: Store) -> None:
    load_events(store, three_years_of_events())
    result = prune(store, Config.default(), now=NOW)
    assert result.rows_removed == {}
    assert "nothing was removed" in result.summary()
    assert store.con.execute("SELECT count(*) FROM events").fetchone() == (360,)
    assert store.con.execute("SELECT count(*) FROM _cxlab_audit").fetchone() == (0,)


def test_customers_go_by_their_last_activity(store: Store) -> None:
    store.con.execute("""INSERT INTO customers (customer_id, first_seen, country) VALUES
        ('old', '2023-01-05', 'NL'), ('came_back', '2023-01-05', 'DK'), ('new', '2025-06-01', 'NL'),
        ('quiet_old', '2022-03-01', 'NL')""")  # fmt: skip
    store.con.execute("""INSERT INTO events (event_id, ts, customer_id, event) VALUES
        ('e1', '2023-02-01', 'old', 'page_view'), ('e2', '2023-03-01', 'came_back', 'page_view')""")  # fmt: skip
    store.con.execute("INSERT INTO orders (order_id, customer_id, ts, revenue, currency) VALUES "
                      "('o1', 'came_back', '2025-03-01', 20, 'EUR')")  # fmt: skip
    result = prune(store, config(customers="2 years"), now=NOW)
    assert result.rows_removed == {"customers": 2}
    left = store.con.execute("SELECT customer_id FROM customers ORDER BY 1").fetchall()
    assert left == [("came_back",), ("new",)]
    kept = store.con.execute(
        f"""SELECT month, kind, rows FROM {AGGREGATES} WHERE "table" = 'customers' ORDER BY month"""
    ).fetchall()
    assert kept == [(dt.date(2022, 3, 1), "NL", 1), (dt.date(2023, 1, 1), "NL", 1)]


def test_pruned_feedback_takes_its_voice_rows(store: Store) -> None:
    ensure_tables(store.con)
    store.con.execute("""INSERT INTO feedback (feedback_id, customer_id, ts, source, score, text) VALUES
        ('f_old', 'c1', '2023-01-01', 'review', 2, 'slow delivery, Jan de Vries'),
        ('f_old2', 'c2', '2023-02-01', 'review', 4, 'fine'),
        ('f_new', 'c3', '2025-11-01', 'review', 5, 'fine')""")  # fmt: skip
    store.con.execute("""INSERT INTO voice_texts (feedback_id, text_hash) VALUES
        ('f_old', 'h1'), ('f_old2', 'h2'), ('f_new', 'h2')""")  # fmt: skip
    store.con.execute("""INSERT INTO voice_embeddings VALUES
        ('m', 'h1', [1.0]), ('m', 'h2', [2.0]), ('m', 'h3', [3.0])""")  # fmt: skip
    dry = prune(store, config(feedback="2 years"), now=NOW, dry_run=True)
    assert dry.voice_removed == {"voice_texts": 2, "voice_embeddings": 1}
    assert store.con.execute("SELECT count(*) FROM voice_embeddings").fetchone() == (3,)
    result = prune(store, config(feedback="2 years"), now=NOW)
    assert result.rows_removed == {"feedback": 2}
    assert result.voice_removed == {"voice_texts": 2, "voice_embeddings": 1}
    assert store.con.execute("SELECT feedback_id FROM voice_texts").fetchall() == [("f_new",)]
    hashes = store.con.execute("SELECT text_hash FROM voice_embeddings ORDER BY 1").fetchall()
    assert hashes == [("h2",), ("h3",)]  # h2 is still f_new's text; h3 was never feedback's
    kept = store.con.execute(
        f"""SELECT month, kind, rows, customers, score_sum, score_n FROM {AGGREGATES} ORDER BY month"""
    ).fetchall()
    assert kept == [
        (dt.date(2023, 1, 1), "review", 1, 1, 2.0, 1),
        (dt.date(2023, 2, 1), "review", 1, 1, 4.0, 1),
    ]


def test_cli_prune_dry_run_then_prune(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    (tmp_path / "cxlab.toml").write_text(default_toml() + '\n[privacy]\nretain_events = "25 months"\n')
    with Store(db) as s:
        load_events(s, three_years_of_events())
    runner = CliRunner()
    dry = runner.invoke(app, ["privacy", "prune", "--db", str(db), "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] is True
    n_old = doc["rows_removed"]["events"]
    with Store(db) as s:
        ((before,),) = s.con.execute("SELECT count(*) FROM events").fetchall()
        assert before == 360
        ((expected,),) = s.con.execute(
            "SELECT count(*) FROM events WHERE ts < now()::TIMESTAMP - INTERVAL 25 MONTH"
        ).fetchall()
    assert n_old == expected > 0
    run = runner.invoke(app, ["privacy", "prune", "--db", str(db)])
    assert run.exit_code == 0, run.output
    assert f"removed {n_old:,} events" in run.stdout
    with Store(db) as s:
        assert s.con.execute("SELECT count(*) FROM events").fetchone() == (360 - n_old,)


def test_cli_prune_bad_duration_is_bad_input(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    runner = CliRunner()
    missing = runner.invoke(app, ["privacy", "prune", "--db", str(db)])
    assert missing.exit_code == 2
    assert "no such store" in missing.output
    assert not db.exists()
    Store(db).close()
    (tmp_path / "cxlab.toml").write_text(default_toml() + '\n[privacy]\nretain_events = "25 mnths"\n')
    out = runner.invoke(app, ["privacy", "prune", "--db", str(db)])
    assert out.exit_code == 2
    assert "privacy.retain_events" in out.output


def test_the_commented_example_in_the_default_config_is_valid() -> None:
    text = default_toml()
    start = text.index("# [privacy]")
    end = text.find("# [", start + 1)
    block = text[start : end if end > 0 else None]
    example = "\n".join(line[2:] for line in block.splitlines() if line.startswith("# ") and "=" in line)
    cfg = Config.parse_toml(text + "\n[privacy]\n" + example + "\n")
    assert cfg.privacy.retain_events == "25 months"
    assert cfg.privacy.retain_customers == "3 years"
