"""Which triggers of a flow are due now: one row per (customer, trigger key), computed in the engine.

Each trigger kind is one Ibis expression executed once per flow; only the due candidates come back to
pandas, never raw events.

* **event**: events of ``trigger.event`` (at ``trigger.touchpoint`` when set) whose person is a known
  customer (:func:`cxlab.identity.with_person_id`: an anonymous ``add_to_cart`` by a visitor who later
  identified counts for that customer). A burst of such events, each less than ``delay`` after the previous
  one, is one trigger keyed by its last event's ``event_id`` (one cart reminder per cart, not per item).
  It is due at ``ts + delay`` of that last event, when that is at or before ``now`` and not more than
  ``max_age`` ago (the age counts from the due time, so a ``7d`` delay fires with the default ``7d`` max age);
  it is cancelled when the same person has one of ``cancel`` events in ``(ts, now]``: a plan made after the
  due time also catches a purchase since (the send re-checks the same, :class:`cxlab.automate.run.Composer`).
  ``order_id`` is the event's ``properties.order_id`` only when that order is in ``orders`` and belongs to
  the same customer (anyone holding a browser key can send events with any properties; the text a message
  shows must come from the shop's own orders), else None.
* **date** (birthday): the customer's next birthday occurrence, ``days_before`` earlier, at ``at`` local
  time in their time zone (:func:`cxlab.automate.timezones.zone_for`), converted to UTC; due when that
  instant lies in ``(now − 1 day, now]``. Key ``~birthday:<year of the birthday>``. A 29 February birthday
  falls on 28 February in other years.
* **score** ``churn_risk``: risk = 1 − P(alive), the probability that the customer has lapsed, from the
  purchase model :mod:`cxlab.customers.churn` ranks customers with (fitted on orders up to ``now``), above
  the threshold. Key ``~churn_risk:<period>``, period = whole ``every`` periods
  since 1970, trigger time ``now``.
* **score** ``nps``: ``feedback`` answers of source ``nps`` below (or above) the bound in the last 7 days;
  key ``feedback_id``, trigger time the answer's ``ts``, ``order_id`` the answer's (when it is the
  customer's own order, as for events).

Score triggers fire at most once per ``every`` per customer: customers with an outbox row of the flow whose
trigger time is less than ``every`` ago are left out, and of several answers in one run the latest counts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cxlab.automate.flows import (
    Automate,
    DateTrigger,
    EventTrigger,
    Flow,
    ScoreTrigger,
    parse_clock,
    parse_delay,
)
from cxlab.automate.tables import OUTBOX
from cxlab.automate.timezones import zone_for
from cxlab.config import Config
from cxlab.errors import MissingData, require_rows
from cxlab.identity import with_person_id

COLUMNS = ["customer_id", "trigger_key", "trigger_ts", "due", "order_id"]
"""What :func:`due_triggers` returns: timestamps naive UTC, ``due`` before quiet hours."""
NPS_MAX_AGE = timedelta(days=7)
EPOCH = datetime(1970, 1, 1)
KEY_PREFIX = "~"
"""Prefix of the trigger keys the flows make up (date and score triggers), so they read apart from event and
feedback ids. A key is only ever a key: nothing is looked up by it (a message's order id is the outbox's)."""


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype=object),
            "trigger_key": pd.Series(dtype=object),
            "trigger_ts": pd.Series(dtype="datetime64[us]"),
            "due": pd.Series(dtype="datetime64[us]"),
            "order_id": pd.Series(dtype=object),
        }
    )


def _interval(td: timedelta) -> ir.IntervalScalar:
    return ibis.interval(seconds=int(td.total_seconds()))


@ibis.udf.scalar.builtin
def json_valid(text: str) -> bool:  # type: ignore[empty-body]
    """DuckDB's ``json_valid``."""


@ibis.udf.scalar.builtin
def json_extract_string(text: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's ``json_extract_string``."""


def _owned_order(con: BaseBackend, t: ir.Table, claimed: ir.StringValue, person: str) -> ir.Table:
    """``t`` plus ``order_id``: ``claimed`` when that order exists in ``orders`` for the customer in column
    ``person``, else NULL (a left join on both, so a forged or someone else's order id is dropped)."""
    t = t.mutate(_claimed=claimed.cast("string"))
    if "orders" not in con.list_tables():
        return t.mutate(order_id=ibis.null("string")).drop("_claimed")
    o = con.table("orders")
    o = o.filter(o.customer_id.notnull()).select(o_id=o.order_id.cast("string"), o_customer=o.customer_id)
    o = o.distinct()
    j = t.left_join(o, [t._claimed == o.o_id, t[person] == o.o_customer])
    return j.mutate(order_id=j.o_id).drop("_claimed", "o_id", "o_customer")


def _event_order_id(con: BaseBackend, t: ir.Table) -> ir.Table:
    """``t`` (events with ``person_id``) plus the ``order_id`` of ``properties.order_id`` when it is the
    customer's own order."""
    p = t.properties
    claimed = ibis.ifelse(json_valid(p), json_extract_string(p, "$.order_id"), ibis.null("string"))
    return _owned_order(con, t, claimed, "person_id")


def event_triggers(con: BaseBackend, trig: EventTrigger, now: datetime) -> pd.DataFrame:
    """Due event triggers (see the module docstring)."""
    ev = con.table("events")
    lo = now - trig.max_age_td - trig.delay_td  # the oldest trigger event whose due time is recent enough
    delay = _interval(trig.delay_td)
    t = ev.filter(ev.event == trig.event, ev.ts >= lo, ev.ts <= now)
    if trig.touchpoint is not None:
        t = t.filter(t.touchpoint == trig.touchpoint)
    t = with_person_id(t, links_from=ev)
    t = t.filter(~t.person_id.startswith("anon:"))
    w = ibis.window(group_by=t.person_id, order_by=[t.ts, t.event_id])
    t = t.mutate(next_ts=t.ts.lead().over(w))
    last = t.filter(t.next_ts.isnull() | (t.next_ts >= t.ts + delay))
    last = last.mutate(due=last.ts + delay)
    last = last.filter(last.due <= now, last.due >= now - trig.max_age_td)
    if trig.cancel:
        c = ev.filter(ev.event.isin(trig.cancel), ev.ts > lo, ev.ts <= now)
        c = with_person_id(c, links_from=ev)
        c = c.select(c_person=c.person_id, c_ts=c.ts)
        last = last.anti_join(c, [last.person_id == c.c_person, c.c_ts > last.ts])
    last = _event_order_id(con, last)
    df = last.select(
        customer_id=last.person_id,
        trigger_key=last.event_id,
        trigger_ts=last.ts,
        due=last.due,
        order_id=last.order_id,
    ).execute()
    if df.empty:
        return _empty()
    return df[COLUMNS]


def _birthday_pairs(days: list[date]) -> list[tuple[int, int]]:
    pairs = {(d.month, d.day) for d in days}
    if (2, 28) in pairs:
        pairs.add((2, 29))  # 29 February birthdays are kept on the 28th in other years
    return sorted(pairs)


def _occurrence(born: date, year: int) -> date:
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def birthday_triggers(con: BaseBackend, trig: DateTrigger, settings: Automate, now: datetime) -> pd.DataFrame:
    """Due birthday triggers (see the module docstring)."""
    at = parse_clock(trig.at)
    # The send day is the local date of an instant in (now - 1 day, now]: within a day of now's UTC date
    # either way, so the birthday itself is within days_before of that.
    around = [now.date() + timedelta(days=trig.days_before + k) for k in range(-2, 3)]
    cust = con.table("customers")
    b = cust.birthday
    match = ibis.or_(*[(b.month() == m) & (b.day() == d) for m, d in _birthday_pairs(around)])
    df = cust.filter(b.notnull(), match).select("customer_id", "birthday", "country").execute()
    rows = []
    for r in df.itertuples(index=False):
        born = pd.Timestamp(r.birthday).date()
        zone = zone_for(r.country if isinstance(r.country, str) else None, settings)
        for year in (now.year - 1, now.year, now.year + 1):
            day = _occurrence(born, year) - timedelta(days=trig.days_before)
            instant = datetime.combine(day, at, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
            if now - timedelta(days=1) < instant <= now:
                rows.append((r.customer_id, f"{KEY_PREFIX}birthday:{year}", instant, instant, None))
    return pd.DataFrame(rows, columns=COLUMNS) if rows else _empty()


def _recently_fired(con: BaseBackend, flow: str, since: datetime) -> ir.Table:
    ob = con.table(OUTBOX)
    return ob.filter(ob.flow == flow, ob.trigger_ts > since).select(r_customer=ob.customer_id)


def churn_risk_scores(con: BaseBackend, now: datetime, config: Config) -> pd.DataFrame:
    """Per customer with orders up to ``now``: ``customer_id, p_alive, risk`` (risk = 1 − P(alive)) from the
    purchase model ``cxlab.customers`` fits for churn risk and lifetime value (its default model and time
    unit). The spend model is not needed for a probability, so shops without repeat-buyer spend still get one.
    """
    from cxlab.currency import shop_orders
    from cxlab.customers.lifetime import Settings, fit_models
    from cxlab.customers.summary import purchase_summary

    s = Settings(holdout=0)
    require_rows(con, "orders", "A churn-risk trigger", ["customer_id"])
    summ = purchase_summary(
        shop_orders(con, config).table,
        now,
        time_unit=s.time_unit,
        period=s.time_unit,
        exact=s.exact,
        value_col=None,
    ).frame
    if summ.empty:
        raise MissingData(f"a churn-risk trigger needs orders with a customer id before {now:%Y-%m-%d}")
    model, _ = fit_models(summ, s.model)
    p = model.probability_alive(summ["frequency"], summ["recency"], summ["T"])
    return pd.DataFrame({"customer_id": summ["customer_id"].astype(str), "p_alive": p, "risk": 1.0 - p})


def churn_triggers(
    con: BaseBackend, flow: Flow, trig: ScoreTrigger, now: datetime, config: Config
) -> pd.DataFrame:
    """Customers whose churn risk (1 − P(alive)) is above the threshold now."""
    every = parse_delay(trig.every)
    risk = churn_risk_scores(con, now, config)
    hit = risk.loc[risk["risk"] > float(trig.above or 0.0), ["customer_id"]]
    if hit.empty:
        return _empty()
    fired = _recently_fired(con, flow.name, now - every).execute()["r_customer"]
    hit = hit[~hit["customer_id"].isin(set(fired))]
    period = int((now - EPOCH).total_seconds() // every.total_seconds())
    return pd.DataFrame(
        {
            "customer_id": hit["customer_id"].to_numpy(),
            "trigger_key": f"{KEY_PREFIX}churn_risk:{period}",
            "trigger_ts": pd.Timestamp(now),
            "due": pd.Timestamp(now),
            "order_id": None,
        }
    )[COLUMNS]


def nps_triggers(con: BaseBackend, flow: Flow, trig: ScoreTrigger, now: datetime) -> pd.DataFrame:
    """NPS answers below (or above) the bound in the last 7 days; the latest per customer."""
    fb = con.table("feedback")
    bound = fb.score < trig.below if trig.below is not None else fb.score > (trig.above or 0.0)
    f = fb.filter(
        fb.source == "nps",
        fb.customer_id.notnull(),
        fb.score.notnull(),
        bound,
        fb.ts >= now - NPS_MAX_AGE,
        fb.ts <= now,
    )
    fired = _recently_fired(con, flow.name, now - parse_delay(trig.every))
    f = f.anti_join(fired, f.customer_id == fired.r_customer)
    rank = ibis.row_number().over(group_by=f.customer_id, order_by=[f.ts.desc(), f.feedback_id.desc()])
    f = f.mutate(_rank=rank)
    f = f.filter(f._rank == 0)
    f = f.rename(fb_order="order_id")
    f = _owned_order(con, f, f.fb_order, "customer_id")
    df = f.select(
        customer_id=f.customer_id, trigger_key=f.feedback_id, trigger_ts=f.ts, due=f.ts, order_id=f.order_id
    ).execute()
    return df[COLUMNS] if not df.empty else _empty()


def due_triggers(
    con: BaseBackend, flow: Flow, settings: Automate, now: datetime, config: Config
) -> pd.DataFrame:
    """The flow's triggers due at ``now`` (naive UTC): :data:`COLUMNS`, one row per customer and key.

    Raises :class:`cxlab.errors.MissingData` when a score needs data the store lacks (churn risk needs
    orders with repeat buyers)."""
    trig = flow.trigger
    if isinstance(trig, EventTrigger):
        df = event_triggers(con, trig, now)
    elif isinstance(trig, DateTrigger):
        df = birthday_triggers(con, trig, settings, now)
    elif trig.score == "churn_risk":
        df = churn_triggers(con, flow, trig, now, config)
    else:
        df = nps_triggers(con, flow, trig, now)
    df = df.drop_duplicates(["customer_id", "trigger_key"]).reset_index(drop=True)
    for col in ("trigger_ts", "due"):
        df[col] = pd.to_datetime(df[col]).astype("datetime64[us]")
    oid = df["order_id"].astype(object)
    df["order_id"] = oid.where(oid.notna(), None)
    return df
