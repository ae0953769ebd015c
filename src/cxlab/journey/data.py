"""The journey's view of the store: events with a person, a stage, epoch seconds; and per-person attributes.

Everything is an Ibis expression; nothing runs until a result asks for it. ``RECEIVED_EVENTS`` are things the
shop sends (an e-mail or SMS sent, a parcel shipped): they place a person *at* a touchpoint, but they don't
count as the person moving on to a stage, because the person didn't do anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.identity import with_person_id

RECEIVED_EVENTS: tuple[str, ...] = ("email_sent", "sms_sent", "push_sent", "shipment_sent")
BREAKDOWNS: tuple[str, ...] = ("channel", "country", "device", "variant", "segment")
NONE_LABEL = "(none)"


def stage_table(config: Config) -> ir.Table:
    """touchpoint → stage and stage index (0-based, in the config's order) as a small in-memory table."""
    order = {s: i for i, s in enumerate(config.journey.stages)}
    tps = list(config.journey.touchpoints)
    return ibis.memtable(
        pd.DataFrame(
            {
                "touchpoint": tps,
                "stage": [config.journey.touchpoints[t] for t in tps],
                "stage_idx": [order[config.journey.touchpoints[t]] for t in tps],
            }
        ).astype({"stage_idx": "int64"})
    )


def journey_events(con: BaseBackend, config: Config, received: Sequence[str] = RECEIVED_EVENTS) -> ir.Table:
    """``events`` with ``person_id``, ``t`` (epoch seconds), ``stage``, ``stage_idx`` (null when the touchpoint
    isn't on the map) and ``engaged`` (the person did it, rather than received it)."""
    ev = with_person_id(con.table("events"))
    staged = ev.left_join(stage_table(config), "touchpoint").drop("touchpoint_right")
    return staged.mutate(
        t=staged.ts.epoch_seconds().cast("int64"),
        engaged=~staged.event.isin(list(received)) if received else ibis.literal(True),
    )


def person_attribute(con: BaseBackend, events: ir.Table, by: str, experiment: str | None = None) -> ir.Table:
    """One row per person: ``person_id`` and ``value`` of breakdown ``by``.

    channel: acquisition channel (the first channel-tagged event); device: device of the first event;
    country: the customer's country; variant: ``experiment:variant`` of ``experiment`` (default: the one with
    the most exposures); segment: non-buyer / one-time / repeat buyer (purchase events).
    """
    if by in ("channel", "device"):
        known = events.filter(events[by].notnull())
        first = ibis.struct({"t": known.t, "event_id": known.event_id})  # ties broken by event id
        out = known.group_by("person_id").aggregate(value=known[by].argmin(first))
    elif by == "country":
        c = con.table("customers")
        out = c.select(person_id=c.customer_id, value=c.country)
    elif by == "variant":
        x = con.table("exposures")
        if experiment is None:
            top = x.group_by("experiment_id").aggregate(n=x.count()).order_by(ibis.desc("n")).limit(1)
            found = top.execute()
            if found.empty:
                raise ValueError("no experiment exposures in the store: nothing to break down by variant")
            experiment = str(found["experiment_id"].iloc[0])
        x = x.filter(x.experiment_id == experiment)
        out = x.group_by(person_id=x.customer_id).aggregate(value=(x.experiment_id + ":" + x.variant).min())
    elif by == "segment":
        buys = (events.event == "purchase").cast("int64")
        per = events.mutate(_b=buys).group_by("person_id").aggregate(k=lambda t: t._b.sum())
        value = ibis.cases((per.k >= 2, "repeat buyer"), (per.k == 1, "one-time buyer"), else_="non-buyer")
        out = per.select("person_id", value=value)
    else:
        raise ValueError(f"unknown breakdown {by!r} (expected one of {', '.join(BREAKDOWNS)})")
    return out.select("person_id", value=out.value.cast("string"))


def attach_breakdown(
    con: BaseBackend, events: ir.Table, table: ir.Table, by: str | None, experiment: str | None = None
) -> ir.Table:
    """``table`` (with ``person_id``) plus a ``breakdown`` column ("all" without ``by``)."""
    if by is None:
        return table.mutate(breakdown=ibis.literal("all"))
    attr = person_attribute(con, events, by, experiment)
    joined = table.left_join(attr, "person_id")
    joined = joined.drop(*[c for c in joined.columns if c == "person_id_right"])
    return joined.mutate(breakdown=joined.value.fill_null(NONE_LABEL)).drop("value")
