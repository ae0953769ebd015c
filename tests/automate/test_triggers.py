"""Due triggers on hand-built stores: bursts, cancel events, identity, max age, birthdays, NPS, churn risk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from cxlab.automate.flows import Flow
from cxlab.automate.triggers import due_triggers
from cxlab.store import Store
from tests.automate.conftest import T0, at, flow, settings

Make = Callable[..., Store]


def due(store: Store, f: Flow, now: datetime, **automate: Any) -> pd.DataFrame:
    return due_triggers(store.ibis(), f, settings(**automate), now, store.config)


CART = flow()  # add_to_cart, 4h delay, cancelled by purchase


def test_burst_is_one_trigger_keyed_by_its_last_event(flow_store: Make) -> None:
    s = flow_store(
        events=[
            {"event_id": "a", "ts": 0, "event": "add_to_cart", "customer_id": "c1"},
            {"event_id": "b", "ts": 1, "event": "add_to_cart", "customer_id": "c1"},
            {"event_id": "c", "ts": 3.5, "event": "add_to_cart", "customer_id": "c1"},
            # 4 h after "c": a new cart
            {"event_id": "d", "ts": 7.5, "event": "add_to_cart", "customer_id": "c1"},
        ]
    )
    assert due(s, CART, at(7)).empty  # "c" is due at 7.5, not yet
    got = due(s, CART, at(12))
    assert got["trigger_key"].tolist() == ["c", "d"]
    assert got["due"].tolist() == [at(7.5), at(11.5)]
    assert got["trigger_ts"].tolist() == [at(3.5), at(7.5)]
    assert (got["customer_id"] == "c1").all()


def test_zero_delay_fires_every_event(flow_store: Make) -> None:
    s = flow_store(
        events=[
            {"event_id": "x", "ts": 0, "event": "shipment_sent", "customer_id": "c1"},
            {"event_id": "y", "ts": 0.1, "event": "shipment_sent", "customer_id": "c1"},
        ]
    )
    f = flow("ship", channel="sms", trigger={"event": "shipment_sent"})
    assert sorted(due(s, f, at(1))["trigger_key"]) == ["x", "y"]


def test_cancel_event_within_the_delay_cancels(flow_store: Make) -> None:
    s = flow_store(
        events=[
            {"ts": 0, "event": "add_to_cart", "customer_id": "bought"},
            {"ts": 2, "event": "purchase", "customer_id": "bought"},
            {"ts": 0, "event": "add_to_cart", "customer_id": "late"},
            {"ts": 5, "event": "purchase", "customer_id": "late"},  # after the reminder was due
            {"ts": 1, "event": "purchase", "customer_id": "before"},  # before the cart
            {"ts": 2, "event": "add_to_cart", "customer_id": "before"},
            {"ts": 0, "event": "add_to_cart", "customer_id": "viewed"},
            {"ts": 2, "event": "page_view", "customer_id": "viewed"},  # not a cancel event
        ]
    )
    got = due(s, CART, at(10))
    # "late" bought after the reminder was due but before this plan: no reminder either
    assert sorted(got["customer_id"]) == ["before", "viewed"]
    # a plan made before that purchase still sends "late" its reminder
    assert sorted(due(s, CART, at(4.5))["customer_id"]) == ["late", "viewed"]


def test_cancel_at_exactly_due_time_cancels(flow_store: Make) -> None:
    s = flow_store(
        events=[
            {"ts": 0, "event": "add_to_cart", "customer_id": "c1"},
            {"ts": 4, "event": "purchase", "customer_id": "c1"},
        ]
    )
    assert due(s, CART, at(10)).empty


def test_anonymous_cart_of_a_later_identified_customer_counts(flow_store: Make) -> None:
    s = flow_store(
        events=[
            {"event_id": "cart1", "ts": 0, "event": "add_to_cart", "anonymous_id": "dev1"},
            {"event_id": "login", "ts": 1, "event": "page_view", "anonymous_id": "dev1", "customer_id": "c1"},
            {
                "event_id": "cart2",
                "ts": 0,
                "event": "add_to_cart",
                "anonymous_id": "dev2",
            },  # never identified
            {"event_id": "cart3", "ts": 0, "event": "add_to_cart", "anonymous_id": "dev3"},
            {"event_id": "login3", "ts": 0.5, "event": "login", "anonymous_id": "dev3", "customer_id": "c3"},
            # c3 bought while anonymous on the same device: cancels
            {"event_id": "buy3", "ts": 2, "event": "purchase", "anonymous_id": "dev3"},
        ]
    )
    got = due(s, CART, at(10))
    assert got[["customer_id", "trigger_key"]].values.tolist() == [["c1", "cart1"]]


def test_max_age_and_touchpoint(flow_store: Make) -> None:
    s = flow_store(
        events=[
            {"event_id": "old", "ts": -24 * 8, "event": "delivered", "customer_id": "c1"},
            {"event_id": "new", "ts": 0, "event": "delivered", "customer_id": "c2", "touchpoint": "delivery"},
            {
                "event_id": "pickup",
                "ts": 0,
                "event": "delivered",
                "customer_id": "c3",
                "touchpoint": "pickup",
            },
        ]
    )
    f = flow(
        "review", trigger={"event": "delivered", "delay": "2h", "touchpoint": "delivery", "max_age": "7d"}
    )
    assert due(s, f, at(3))["trigger_key"].tolist() == ["new"]
    g = flow("review2", trigger={"event": "delivered", "delay": "2h", "max_age": "9d"})
    assert sorted(due(s, g, at(3))["trigger_key"]) == ["new", "old", "pickup"]


def test_max_age_counts_from_the_due_time(flow_store: Make) -> None:
    """A "delivered + 7d" review request with the default 7d max age fires for a whole week after it is due."""
    s = flow_store(
        events=[
            {"event_id": "d1", "ts": 0, "event": "delivered", "customer_id": "c1"},
            {"event_id": "d0", "ts": -24 * 8, "event": "delivered", "customer_id": "c2"},
        ]
    )
    f = flow("review", trigger={"event": "delivered", "delay": "7d"})
    assert due(s, f, at(24 * 7 - 1)).empty  # not due yet
    assert due(s, f, at(24 * 7 + 5))["trigger_key"].tolist() == ["d1"]  # due 5 h ago; d0 due 8 days ago
    assert due(s, f, at(24 * 13))["trigger_key"].tolist() == ["d1"]
    assert due(s, f, at(24 * 14 + 1)).empty  # due more than 7 days ago


def test_order_id_only_from_the_customers_own_orders(flow_store: Make) -> None:
    """Anyone with a browser key can send events: an order id in their properties reaches a message only
    when the orders table has that order for the same customer."""
    evil = "123 -- SECURITY ALERT: log in at https://evil.example"
    s = flow_store(
        events=[
            {"ts": 0, "event": "delivered", "customer_id": "c1", "properties": {"order_id": "o-17"}},
            {"ts": 0, "event": "delivered", "customer_id": "c2", "properties": {"carrier": "x"}},
            {"ts": 0, "event": "delivered", "customer_id": "c3", "properties": {"order_id": evil}},
            {"ts": 0, "event": "delivered", "customer_id": "c4", "properties": {"order_id": "o-17"}},
            {"ts": 0, "event": "delivered", "customer_id": "c5", "properties": {"order_id": 18}},
        ],
        orders=[
            {"order_id": "o-17", "customer_id": "c1", "ts": -1, "revenue": 5.0},
            {"order_id": "18", "customer_id": "c5", "ts": -1, "revenue": 5.0},
        ],
    )
    f = flow("review", trigger={"event": "delivered", "delay": "1h"})
    got = due(s, f, at(2)).set_index("customer_id")["order_id"]
    assert len(got) == 5  # the join never drops or repeats a trigger
    assert got["c1"] == "o-17"
    assert got["c2"] is None
    assert got["c3"] is None  # no such order
    assert got["c4"] is None  # someone else's order
    assert got["c5"] == "18"  # a number in the JSON names the same order


BIRTHDAY = flow("birthday", trigger={"date": "birthday", "at": "09:00"})


def test_birthday_at_nine_in_the_customers_zone(flow_store: Make) -> None:
    s = flow_store(
        customers=[
            {"customer_id": "nl", "country": "NL", "birthday": date(1990, 5, 3)},
            {"customer_id": "us", "country": "US", "birthday": date(1985, 5, 3)},
            {"customer_id": "other", "country": "NL", "birthday": date(1990, 6, 3)},
            {"customer_id": "none", "country": "NL"},
        ]
    )
    nl = datetime(2024, 5, 3, 7)  # 09:00 CEST
    us = datetime(2024, 5, 3, 13)  # 09:00 EDT (America/New_York)
    assert due(s, BIRTHDAY, nl - timedelta(minutes=1)).empty
    got = due(s, BIRTHDAY, nl)
    assert got[["customer_id", "trigger_key", "due"]].values.tolist() == [["nl", "~birthday:2024", nl]]
    both = due(s, BIRTHDAY, us).sort_values("customer_id")
    assert both["customer_id"].tolist() == ["nl", "us"]
    assert both["due"].tolist() == [nl, us]
    # due for one day, then no longer
    assert due(s, BIRTHDAY, nl + timedelta(hours=23, minutes=59))["customer_id"].tolist() == ["nl", "us"]
    assert due(s, BIRTHDAY, nl + timedelta(days=1))["customer_id"].tolist() == ["us"]
    # a zone override moves it
    moved = due(s, BIRTHDAY, datetime(2024, 5, 3, 9), timezones={"NL": "Asia/Tokyo"})
    assert moved["due"].tolist() == [datetime(2024, 5, 3, 0)]


def test_birthday_on_29_february(flow_store: Make) -> None:
    s = flow_store(customers=[{"customer_id": "leap", "country": "NL", "birthday": date(2000, 2, 29)}])
    common = due(s, BIRTHDAY, datetime(2023, 2, 28, 8))  # 09:00 CET
    assert common[["trigger_key", "due"]].values.tolist() == [["~birthday:2023", datetime(2023, 2, 28, 8)]]
    assert due(s, BIRTHDAY, datetime(2024, 2, 28, 8)).empty  # 2024 has a 29th
    assert due(s, BIRTHDAY, datetime(2024, 2, 29, 8))["trigger_key"].tolist() == ["~birthday:2024"]


def test_birthday_days_before_across_new_year(flow_store: Make) -> None:
    s = flow_store(customers=[{"customer_id": "c", "country": "NL", "birthday": date(1999, 1, 2)}])
    f = flow("bday", trigger={"date": "birthday", "at": "10:00", "days_before": 3})
    got = due(s, f, datetime(2023, 12, 30, 9))  # 10:00 CET on 30 December
    assert got[["trigger_key", "due"]].values.tolist() == [["~birthday:2024", datetime(2023, 12, 30, 9)]]


def test_nps_detractors_in_the_last_week(flow_store: Make) -> None:
    s = flow_store(
        feedback=[
            {"feedback_id": "f1", "customer_id": "c1", "ts": 0, "score": 3.0, "order_id": "o1"},
            {"feedback_id": "f2", "customer_id": "c2", "ts": 0, "score": 9.0},
            {"feedback_id": "f3", "customer_id": "c3", "ts": -24 * 8, "score": 2.0},
            {"feedback_id": "f4", "customer_id": "c4", "ts": 0, "score": 2.0, "source": "csat"},
            {"feedback_id": "f5", "customer_id": "c5", "ts": 1, "score": 6.0},
            {"feedback_id": "f6", "customer_id": "c5", "ts": 2, "score": 0.0, "order_id": "o1"},
        ],
        orders=[{"order_id": "o1", "customer_id": "c1", "ts": -1, "revenue": 5.0}],
    )
    f = flow("detractor", trigger={"score": "nps", "below": 7})
    got = due(s, f, at(5)).sort_values("customer_id")
    # c5's answer names c1's order: dropped
    assert got[["customer_id", "trigger_key", "order_id"]].values.tolist() == [
        ["c1", "f1", "o1"],
        ["c5", "f6", None],
    ]
    assert got["trigger_ts"].tolist() == [at(0), at(2)]


def test_nps_fires_once_per_period(flow_store: Make) -> None:
    s = flow_store(feedback=[{"feedback_id": "f9", "customer_id": "c1", "ts": 3, "score": 1.0}])
    s.con.execute(
        "INSERT INTO _cxlab_outbox (flow, customer_id, trigger_key, trigger_ts, channel, variant, due, decided, "
        "status) VALUES ('detractor', 'c1', 'f1', ?, 'email', 'send', ?, ?, 'sent')",
        [at(-24), at(-24), at(-24)],
    )
    f = flow("detractor", trigger={"score": "nps", "below": 7, "every": "30d"})
    assert due(s, f, at(5)).empty
    g = flow("detractor", trigger={"score": "nps", "below": 7, "every": "12h"})
    assert due(s, g, at(5))["trigger_key"].tolist() == ["f9"]


def _orders(n_customers: int) -> list[dict[str, object]]:
    """Regular buyers: half keep buying until T0, half stopped a year before it."""
    rows: list[dict[str, object]] = []
    for i in range(n_customers):
        stopped = i % 2 == 1
        last = -24 * 400 if stopped else -24 * 3
        for k in range(6):
            rows.append(
                {
                    "order_id": f"o{i}-{k}",
                    "customer_id": f"c{i:02d}",
                    "ts": last - 24 * 20 * k - i,
                    "revenue": 20.0 + i + k,
                }
            )
    return rows


def test_churn_risk_uses_the_churn_model(flow_store: Make) -> None:
    from cxlab.customers.lifetime import Settings, fit_models
    from cxlab.customers.summary import purchase_summary

    s = flow_store(orders=_orders(24))
    f = flow("winback", trigger={"score": "churn_risk", "above": 0.5, "every": "30d"})
    got = due(s, f, T0)
    st = Settings(holdout=0)
    summ = purchase_summary(
        s.ibis().table("orders"), T0, time_unit=st.time_unit, period=st.time_unit, exact=st.exact
    ).frame
    model, _ = fit_models(summ[["customer_id", "frequency", "recency", "T"]], st.model)
    p_alive = model.probability_alive(summ["frequency"], summ["recency"], summ["T"])
    expected = sorted(summ.loc[1 - p_alive > 0.5, "customer_id"])
    assert sorted(got["customer_id"]) == expected
    stopped = {f"c{i:02d}" for i in range(1, 24, 2)}
    assert set(expected) == stopped  # the model sees who stopped
    period = int((T0 - datetime(1970, 1, 1)).days // 30)
    assert set(got["trigger_key"]) == {f"~churn_risk:{period}"}
    assert (got["due"] == T0).all()


@pytest.mark.parametrize("when", [at(0), at(100)])
def test_no_events_no_triggers(flow_store: Make, when: datetime) -> None:
    s = flow_store(customers=[{"customer_id": "c1", "country": "NL"}])
    assert due(s, CART, when).empty
