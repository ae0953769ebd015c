"""The plan on hand-built customers: holdout and variants, decided keys, caps, quiet hours, priority, blocks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scipy import stats

from cxlab.automate.flows import HOLDOUT
from cxlab.automate.holdout import assign
from cxlab.automate.plan import COLUMNS, plan
from cxlab.automate.timezones import after_quiet_hours, country_zones, zone_for
from cxlab.jsonable import dumps
from cxlab.store import Store
from tests.automate.conftest import T0, at, flow, settings

Make = Callable[..., Store]


def shop(make: Make, ids: list[str], *, country: str = "NL", hours: float = 0, **kw: Any) -> Store:
    return make(
        customers=[{"customer_id": c, "country": country, "language": "en"} for c in ids],
        events=[{"ts": hours, "event": "add_to_cart", "customer_id": c} for c in ids] + kw.pop("events", []),
        consent=[{"customer_id": c, "channel": ch} for c in ids for ch in ("email", "sms")],
        **kw,
    )


def outbox(
    s: Store, flow_name: str, customer: str, key: str, status: str, when: datetime, channel: str = "email"
) -> None:
    s.con.execute(
        "INSERT INTO _cxlab_outbox (flow, customer_id, trigger_key, trigger_ts, channel, variant, due, decided, "
        "status, sent_at) VALUES (?, ?, ?, ?, ?, 'send', ?, ?, ?, ?)",
        [flow_name, customer, key, when, channel, when, when, status, when if status == "sent" else None],
    )


def test_holdout_share_variants_and_stability(flow_store: Make) -> None:
    ids = [f"c{i:04d}" for i in range(2000)]
    s = shop(flow_store, ids)
    f = flow(
        holdout=0.2,
        messages={},
        variants={
            "a": {"weight": 3, "messages": {"en": {"body": "a"}}},
            "b": {"messages": {"en": {"body": "b"}}},
        },
    )
    first = plan(s, [f], settings(), at(10), check_tone=False).rows.set_index("customer_id")
    again = plan(s, [f], settings(), at(11), check_tone=False).rows.set_index("customer_id")
    assert first["variant"].equals(again["variant"])  # stable across runs
    expected = assign(f.name, ids, 0.2, {"a": 3.0, "b": 1.0})
    assert first.loc[ids, "variant"].tolist() == list(expected)
    held = int((first["variant"] == HOLDOUT).sum())
    assert stats.binomtest(held, len(ids), 0.2).pvalue > 0.001
    a = int((first["variant"] == "a").sum())
    assert stats.binomtest(a, len(ids) - held, 0.75).pvalue > 0.001
    assert (first.loc[first["variant"] == HOLDOUT, "status"] == "held_out").all()
    assert (first.loc[first["variant"] != HOLDOUT, "status"] == "queued").all()
    assert first["exposed"].all()


def test_rows_have_the_contract_columns_and_serialise(flow_store: Make) -> None:
    s = shop(flow_store, ["c1", "c2"])
    p = plan(s, [flow(holdout=0)], settings(), at(10), check_tone=False)
    assert list(p.rows.columns) == COLUMNS
    doc = json.loads(dumps(p.to_dict()))
    assert doc["counts"] == [
        {"flow": "cart", "triggers": 2, "queued": 2, "held_out": 0, "suppressed": 0, "audience": 0,
         "no_consent": 0, "no_message": 0, "capped": 0, "priority": 0}
    ]  # fmt: skip
    assert {r["trigger_key"] for r in doc["rows"]} == {"ev0000", "ev0001"}
    assert "2 to send" in p.summary() and "n = 2" in p.summary()
    bars = p.figure().data
    assert [b.name for b in bars] == ["to send"] and list(bars[0].x) == [2]


def test_keys_already_decided_are_left_out(flow_store: Make) -> None:
    s = shop(flow_store, ["c1", "c2", "c3"])
    outbox(s, "cart", "c1", "ev0000", "sent", at(4))
    outbox(s, "cart", "c2", "ev0001", "held_out", at(4))
    outbox(s, "other", "c3", "ev0002", "sent", at(4))  # another flow's key does not count
    rows = plan(s, [flow(holdout=0)], settings(), at(10), check_tone=False).rows
    assert rows["customer_id"].tolist() == ["c3"]


def test_frequency_caps(flow_store: Make) -> None:
    ids = ["fresh", "recent", "old", "pending", "sms_sent", "twice"]
    s = shop(
        flow_store,
        ids,
        events=[{"ts": 5, "event": "add_to_cart", "customer_id": "twice"}],  # a second cart 5 h later
    )
    outbox(s, "x", "recent", "k", "sent", at(-24 * 2))
    outbox(s, "x", "old", "k", "sent", at(-24 * 8))
    outbox(s, "x", "pending", "k", "queued", at(24 * 3))  # still to leave, later than this one
    outbox(s, "x", "sms_sent", "k", "sent", at(-1), channel="sms")
    rows = plan(s, [flow(holdout=0)], settings(caps={"email": "1/7d"}), at(12), check_tone=False).rows
    by = rows.groupby("customer_id")
    status = {c: sorted(g["status"] + ":" + g["reason"].fillna("")) for c, g in by}
    assert status["fresh"] == ["queued:"]
    assert status["old"] == ["queued:"]
    assert status["sms_sent"] == ["queued:"]  # caps are per channel
    assert status["recent"] == ["suppressed:capped"]
    assert status["pending"] == ["suppressed:capped"]
    assert status["twice"] == ["queued:", "suppressed:capped"]
    twice = rows[rows["customer_id"] == "twice"].sort_values("due")
    assert twice["status"].tolist() == ["queued", "suppressed"]  # the earlier one goes
    assert rows.loc[rows["reason"] == "capped", "exposed"].all()  # intention to treat
    loose = plan(s, [flow(holdout=0)], settings(caps={"email": "2/7d"}), at(12), check_tone=False).rows
    assert (loose["status"] == "queued").all()


def test_quiet_hours_across_midnight_in_two_zones() -> None:
    ams, ny = ZoneInfo("Europe/Amsterdam"), ZoneInfo("America/New_York")
    window = (time(21), time(8))
    # 22:30 in Amsterdam (CEST) → 08:00 next morning
    assert after_quiet_hours(datetime(2024, 5, 1, 20, 30), ams, window) == datetime(2024, 5, 2, 6)
    # 03:00 in Amsterdam → 08:00 the same morning
    assert after_quiet_hours(datetime(2024, 5, 1, 1), ams, window) == datetime(2024, 5, 1, 6)
    # 15:00 → unchanged; 08:00 exactly → unchanged; 21:00 exactly → moved
    assert after_quiet_hours(datetime(2024, 5, 1, 13), ams, window) == datetime(2024, 5, 1, 13)
    assert after_quiet_hours(datetime(2024, 5, 1, 6), ams, window) == datetime(2024, 5, 1, 6)
    assert after_quiet_hours(datetime(2024, 5, 1, 19), ams, window) == datetime(2024, 5, 2, 6)
    # the same UTC instants in New York (EDT, UTC−4): 16:30 → unchanged; 21:00 the evening before → 08:00
    assert after_quiet_hours(datetime(2024, 5, 1, 20, 30), ny, window) == datetime(2024, 5, 1, 20, 30)
    assert after_quiet_hours(datetime(2024, 5, 1, 1), ny, window) == datetime(2024, 5, 1, 12)
    # winter time: 23:00 CET → 08:00 CET = 07:00 UTC
    assert after_quiet_hours(datetime(2024, 1, 10, 22), ams, window) == datetime(2024, 1, 11, 7)
    # a window within one day
    assert after_quiet_hours(datetime(2024, 5, 1, 11), ams, (time(12), time(14))) == datetime(2024, 5, 1, 12)
    assert after_quiet_hours(datetime(2024, 5, 1, 9), ams, (time(12), time(14))) == datetime(2024, 5, 1, 9)
    assert after_quiet_hours(datetime(2024, 5, 1, 9), ams, None) == datetime(2024, 5, 1, 9)


def test_quiet_hours_in_the_plan(flow_store: Make) -> None:
    # carts at 16:30 UTC + 4 h: due 20:30 UTC = 22:30 in Amsterdam, 16:30 in New York
    nl = shop(flow_store, ["nl"], hours=16.5)
    us = shop(flow_store, ["us"], country="US", hours=16.5)
    quiet = settings(quiet_hours=["21:00", "08:00"])
    r_nl = plan(nl, [flow(holdout=0)], quiet, at(21), check_tone=False).rows.iloc[0]
    r_us = plan(us, [flow(holdout=0)], quiet, at(21), check_tone=False).rows.iloc[0]
    assert r_nl["due"] == datetime(2024, 5, 2, 6) and r_nl["reason"] == "moved past quiet hours"
    assert r_us["due"] == at(20.5) and r_us["reason"] is None
    # the shop's zone for an unknown country, and overrides per country
    assert zone_for(None, settings(timezone="Asia/Tokyo")).key == "Asia/Tokyo"
    assert zone_for("NL", settings(timezones={"NL": "America/Chicago"})).key == "America/Chicago"
    assert zone_for("au", settings()).key == "Australia/Sydney"
    assert country_zones()["DK"] == "Europe/Copenhagen"


def test_priority_between_flows(flow_store: Make) -> None:
    ids = ["both", "cart_only", "other_day"]
    s = shop(
        flow_store,
        ids,
        events=[
            {"ts": 1, "event": "delivered", "customer_id": "both"},
            {"ts": 2, "event": "delivered", "customer_id": "other_day"},
        ],
    )
    # other_day's cart was three days earlier (within max age): a different local day
    s.con.execute(
        "UPDATE events SET ts = ts - INTERVAL 3 DAY WHERE customer_id = 'other_day' AND event = 'add_to_cart'"
    )
    cart = flow("cart", priority=10, holdout=0)
    review = flow("review", priority=5, holdout=0, trigger={"event": "delivered", "delay": "2h"})
    rows = plan(s, [cart, review], settings(), at(12), check_tone=False).rows
    got = {(r.flow, r.customer_id): (r.status, r.reason) for r in rows.itertuples()}
    assert got[("cart", "both")] == ("queued", None)
    assert got[("review", "both")] == ("suppressed", "priority")
    assert got[("cart", "other_day")] == ("queued", None)
    assert got[("review", "other_day")] == ("queued", None)
    assert rows.loc[rows["reason"] == "priority", "exposed"].all()
    # equal priority: the flow name decides ("cart" < "review")
    tie = plan(
        s, [cart, review.model_copy(update={"priority": 10})], settings(), at(12), check_tone=False
    ).rows
    assert tie.loc[(tie["flow"] == "review") & (tie["customer_id"] == "both"), "reason"].tolist() == [
        "priority"
    ]
    # a held-out customer of the higher flow still gets the lower one
    held = plan(
        s, [cart.model_copy(update={"holdout": 0.999}), review], settings(), at(12), check_tone=False
    ).rows
    assert held.loc[(held["flow"] == "review") & (held["customer_id"] == "both"), "status"].tolist() == [
        "queued"
    ]


def test_priority_is_per_customer_and_day_across_channels(flow_store: Make) -> None:
    """An e-mail flow and an SMS flow due the same local day: the customer gets only the higher one."""
    s = shop(flow_store, ["c1", "c2"], events=[{"ts": 1, "event": "delivered", "customer_id": "c1"}])
    cart = flow("cart", priority=10, holdout=0)
    ship = flow(
        "ship",
        channel="sms",
        priority=20,
        holdout=0,
        trigger={"event": "delivered", "delay": "2h"},
        messages={"en": {"body": "On its way"}},
    )
    rows = plan(s, [cart, ship], settings(), at(12), check_tone=False).rows
    got = {(r.flow, r.customer_id): (r.status, r.reason) for r in rows.itertuples()}
    assert got[("ship", "c1")] == ("queued", None)
    assert got[("cart", "c1")] == ("suppressed", "priority")
    assert got[("cart", "c2")] == ("queued", None)  # c2 has no SMS flow due


def test_changed_holdout_share_keeps_stored_arms(flow_store: Make) -> None:
    """30% → 10% holdout: customers already exposed keep their arm (no message to the stored holdout); only
    new customers are drawn with the new share."""
    ids = [f"c{i:03d}" for i in range(400)]
    s = shop(flow_store, ids)
    old, new = ids[:200], ids[200:]
    f30 = flow(holdout=0.3)
    stored = assign(f30.name, old, 0.3, {"send": 1.0})
    s.con.executemany(
        "INSERT INTO exposures (experiment_id, variant, customer_id, ts) VALUES (?, ?, ?, ?)",
        [[f30.experiment_id, str(v), c, T0] for c, v in zip(old, stored, strict=True)],
    )
    f10 = flow(holdout=0.1)
    rows = plan(s, [f10], settings(), at(10), check_tone=False).rows.set_index("customer_id")
    drawn10 = assign(f10.name, old, 0.1, {"send": 1.0})
    moved = [c for c, a, b in zip(old, stored, drawn10, strict=True) if a == HOLDOUT and b != HOLDOUT]
    assert moved  # the new share would have drawn these out of the holdout
    assert rows.loc[old, "variant"].tolist() == [str(v) for v in stored]
    assert (rows.loc[moved, "status"] == "held_out").all()
    assert rows.loc[new, "variant"].tolist() == [str(v) for v in assign(f10.name, new, 0.1, {"send": 1.0})]


def test_unknown_trigger_and_cancel_events_are_warned_about(flow_store: Make) -> None:
    s = shop(flow_store, ["c1"], events=[{"ts": 1, "event": "purchase", "customer_id": "c1"}])
    typo = flow("typo", trigger={"event": "add_to_card", "delay": "4h", "cancel": ["purchase", "purchse"]})
    off = flow("off", enabled=False, trigger={"event": "nothing_like_it"})
    p = plan(s, [flow(), typo, off], settings(), at(12), check_tone=False)
    assert p.warnings == [
        "flow typo: trigger event 'add_to_card' never occurs in the store's events",
        "flow typo: cancel event 'purchse' never occurs in the store's events",
    ]
    assert "Warning: flow typo: trigger event 'add_to_card'" in p.summary()
    assert json.loads(dumps(p.to_dict()))["warnings"] == p.warnings
    assert plan(s, [flow()], settings(), at(12), check_tone=False).warnings == []


def test_priority_counts_messages_already_sent_that_day(flow_store: Make) -> None:
    s = shop(flow_store, ["c1"], events=[{"ts": 1, "event": "delivered", "customer_id": "c1"}])
    outbox(s, "cart", "c1", "earlier", "sent", at(1))
    review = flow("review", priority=5, holdout=0, trigger={"event": "delivered", "delay": "2h"})
    rows = plan(s, [flow("cart", priority=10), review], settings(), at(12), check_tone=False).rows
    r = rows[rows["flow"] == "review"].iloc[0]
    assert (r["status"], r["reason"]) == ("suppressed", "priority")


def test_disabled_and_broken_flows_are_blocked(flow_store: Make) -> None:
    s = shop(flow_store, ["c1"])
    off = flow("off", enabled=False)
    typo = flow("typo", messages={"en": {"body": "Hi {{ frist_name }}"}})
    p = plan(s, [off, typo, flow("cart", holdout=0)], settings(), at(10), check_tone=False)
    assert p.blocked["off"] == "disabled"
    assert "frist_name" in p.blocked["typo"] and "language en" in p.blocked["typo"]
    assert set(p.rows["flow"]) == {"cart"}
    assert "Not running: off: disabled" in p.summary()


def test_churn_flow_without_orders_is_blocked_not_fatal(flow_store: Make) -> None:
    s = shop(flow_store, ["c1"])
    churn = flow("winback", trigger={"score": "churn_risk", "above": 0.7})
    p = plan(s, [churn, flow("cart", holdout=0)], settings(), at(10), check_tone=False)
    assert "orders" in p.blocked["winback"]
    assert p.rows["flow"].tolist() == ["cart"]


def test_empty_plan(flow_store: Make) -> None:
    s = flow_store(customers=[{"customer_id": "c1", "country": "NL"}])
    p = plan(s, [flow()], settings(), T0, check_tone=False)
    assert p.rows.empty and list(p.rows.columns) == COLUMNS
    assert p.counts().empty
    assert json.loads(dumps(p.to_dict()))["rows"] == []
    assert "n = 0" in p.summary()


@pytest.mark.parametrize("now", [at(10), datetime(2024, 5, 1, 12, tzinfo=ZoneInfo("Europe/Amsterdam"))])
def test_now_is_utc(flow_store: Make, now: datetime) -> None:
    s = shop(flow_store, ["c1"])
    p = plan(s, [flow(holdout=0)], settings(), now, check_tone=False)
    assert p.now.tzinfo is None
    assert p.now == (at(10) if now.tzinfo is None else datetime(2024, 5, 1, 10))
    assert len(p.rows) == 1


def test_holdout_assignment_ignores_who_else_is_due(flow_store: Make) -> None:
    ids = [f"c{i:03d}" for i in range(300)]
    s = shop(flow_store, ids)
    f = flow(holdout=0.3)
    all_rows = plan(s, [f], settings(), at(10), check_tone=False).rows.set_index("customer_id")["variant"]
    few = shop(flow_store, ids[:40])
    some = plan(few, [f], settings(), at(10), check_tone=False).rows.set_index("customer_id")["variant"]
    assert some.equals(all_rows.loc[some.index])
    assert np.isin(all_rows.unique(), [HOLDOUT, "send"]).all()


def test_a_bad_zone_name_is_a_config_error() -> None:
    from cxlab.config import ConfigError

    with pytest.raises(ConfigError, match=r"automate\.timezones: 'Mars/Base'"):
        zone_for("NL", settings(timezones={"NL": "Mars/Base"}))
    with pytest.raises(ConfigError, match=r"automate\.timezone: 'Nowhere'"):
        zone_for(None, settings(timezone="Nowhere"))
