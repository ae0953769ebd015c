"""Journeys to conversion, built in the engine from the ``events`` table.

A **touch** is a visit through a channel: a session (events sharing a ``session_id``; its channel is that of
its first channel-tagged event). Events without a ``session_id`` are sessionised per person by inactivity
(:func:`cxlab.journey.sessions.with_session_key`, 30 minutes by default), as the journey analyses do. Sends
and opens (:data:`OUTSIDE_EVENTS`: an e-mail sent or opened, a parcel shipped) are not part of a visit: the
customer did not come to the shop.

A **converting journey** is the ordered touches of the person behind a conversion (a ``purchase`` event)
within the lookback window before it (default 30 days) and after their previous conversion. A
**non-converting journey** is, for a person who did not convert, their touches within the lookback window
before their last touch. Both are aggregated into unique paths with counts and value by the engine
(Ibis, DuckDB by default); only the unique paths come back to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend
from numpy.typing import NDArray

from cxlab.channels.money import priced_events
from cxlab.channels.paths import Paths
from cxlab.config import Config
from cxlab.errors import require_rows
from cxlab.identity import with_person_id
from cxlab.journey.data import RECEIVED_EVENTS
from cxlab.journey.sessions import with_session_key

CLICK_EVENTS = ("ad_click", "email_click", "sms_click", "push_click", "affiliate_click", "organic_click")
CONVERSION_EVENT = "purchase"
SEP = "\x1f"
"""Joins the channels of a path inside the engine: a control character, so a channel named ``a > b`` stays one."""
OUTSIDE_EVENTS = (*RECEIVED_EVENTS, "email_open", "sms_open", "push_open", "delivered")
"""Events that happen outside the shop: without a ``session_id`` they never form or join a visit."""
SESSION_TIMEOUT_MINUTES = 30


@dataclass(frozen=True)
class JourneyOptions:
    """How journeys are cut from events."""

    lookback_days: float = 30.0
    start: datetime | None = None
    """Only conversions (and non-converting journeys ending) at or after this time."""
    end: datetime | None = None
    """... and before this time."""
    include_nulls: bool = True
    click_events: tuple[str, ...] = CLICK_EVENTS
    conversion_event: str = CONVERSION_EVENT
    session_timeout_minutes: int = SESSION_TIMEOUT_MINUTES
    """Inactivity that ends a visit among events without a ``session_id``."""

    def __post_init__(self) -> None:
        if not self.lookback_days > 0:
            raise ValueError(f"lookback must be a positive number of days, got {self.lookback_days}")


def visits(
    events: ir.Table,
    click_events: Sequence[str] = CLICK_EVENTS,
    conversion_event: str = CONVERSION_EVENT,
    session_timeout_minutes: int = SESSION_TIMEOUT_MINUTES,
) -> ir.Table:
    """One row per visit with a channel: ``person_id``, ``visit_id``, ``ts`` (its first event),
    ``channel``, ``campaign``, ``conversions`` and ``revenue`` (its purchase events),
    ``priced_conversions`` (those with a revenue), ``first_conversion`` (time of its first purchase, null
    when none) and ``derived`` (the visit was sessionised from events without a ``session_id``).

    Among events without a ``session_id``, clicks and conversions always count; other events count unless
    they happen outside the shop (:data:`OUTSIDE_EVENTS`)."""
    cols = ["person_id", "visit_id", "ts", "event_id", "event", "channel", "campaign", "revenue", "derived"]
    stored = with_person_id(events.filter(events.session_id.notnull()), links_from=events)
    stored = stored.mutate(visit_id=stored.session_id, derived=False).select(cols)
    inside = events.event.isin([*click_events, conversion_event]) | ~events.event.isin(OUTSIDE_EVENTS)
    loose = with_person_id(events.filter(events.session_id.isnull() & inside), links_from=events)
    loose = with_session_key(loose.mutate(t=loose.ts.epoch_seconds().cast("int64")), session_timeout_minutes)
    loose = loose.mutate(visit_id="derived:" + loose.session_key, derived=True).select(cols)
    ev = stored.union(loose)
    is_conv = ev.event == conversion_event
    tagged = ev.channel.notnull()
    first = ibis.struct({"ts": ev.ts, "event_id": ev.event_id})  # ties broken by event id, on any engine
    v = ev.group_by(["person_id", "visit_id", "derived"]).aggregate(
        ts=ev.ts.min(),
        channel=ev.channel.argmin(first, where=tagged),
        # the first campaign named: DuckDB's arg_min skips a null value, Spark's min_by returns it
        campaign=ev.campaign.argmin(first, where=tagged & ev.campaign.notnull()),
        conversions=is_conv.cast("int64").sum(),
        revenue=ev.revenue.sum(where=is_conv).fill_null(0.0),
        priced_conversions=(is_conv & ev.revenue.notnull()).cast("int64").sum(),
        first_conversion=ev.ts.min(where=is_conv),
    )
    return v.filter(v.channel.notnull())


def conversions(events: ir.Table, conversion_event: str = CONVERSION_EVENT) -> ir.Table:
    """One row per conversion: ``conversion_id``, ``person_id``, ``ts``, ``value``, ``previous_ts``."""
    ev = with_person_id(events)
    c = ev.filter(ev.event == conversion_event)
    w = ibis.window(group_by=c.person_id, order_by=[c.ts, c.event_id])
    return c.select(
        conversion_id=c.event_id,
        person_id=c.person_id,
        ts=c.ts,
        value=c.revenue.fill_null(0.0),
        previous_ts=c.ts.lag().over(w),
    )


def _in_period(ts: ir.TimestampValue, o: JourneyOptions) -> ir.BooleanValue:
    cond = ibis.literal(True)
    if o.start is not None:
        cond &= ts >= o.start
    if o.end is not None:
        cond &= ts < o.end
    return cond


@dataclass(frozen=True)
class Sources:
    """What journeys are cut from: every visit with a channel (``person_id``, ``ts``, ``channel``) and every
    conversion (see :func:`conversions`)."""

    touches: ir.Table
    conversions: ir.Table

    @classmethod
    def of(cls, events: ir.Table, options: JourneyOptions) -> Sources:
        o = options
        v = visits(events, o.click_events, o.conversion_event, o.session_timeout_minutes)
        return cls(v.select("person_id", "ts", "channel"), conversions(events, o.conversion_event))


def journey_touches(src: Sources, options: JourneyOptions | None = None) -> ir.Table:
    """Touches of every converting journey: ``conversion_id``, ``conversion_ts``, ``value``, ``ts``,
    ``channel`` (an Ibis expression; nothing runs yet)."""
    o = options or JourneyOptions()
    t = src.touches
    c = src.conversions.filter(_in_period(src.conversions.ts, o))
    back = ibis.interval(seconds=round(o.lookback_days * 86_400))
    j = c.join(
        t,
        [
            c.person_id == t.person_id,
            t.ts <= c.ts,
            t.ts >= c.ts - back,
            c.previous_ts.isnull() | (t.ts > c.previous_ts),
        ],
    )
    return j.select(
        conversion_id=c.conversion_id, conversion_ts=c.ts, value=c.value, ts=t.ts, channel=t.channel
    )


def null_touches(src: Sources, options: JourneyOptions | None = None) -> ir.Table:
    """Touches of every non-converting journey: ``person_id``, ``ts``, ``channel``."""
    o = options or JourneyOptions()
    t, c = src.touches, src.conversions
    t = t.filter(_in_period(t.ts, o))
    converted = c.filter(_in_period(c.ts, o)).select("person_id").distinct()
    t = t.anti_join(converted, "person_id")
    w = ibis.window(group_by=t.person_id)
    t = t.mutate(last_ts=t.ts.max().over(w))
    back = ibis.interval(seconds=round(o.lookback_days * 86_400))
    return t.filter(t.ts >= t.last_ts - back).select("person_id", "ts", "channel")


def _path(t: ir.Table) -> ir.StringValue:
    """The channels of ``t``'s touches in time order (ties by channel), joined by :data:`SEP`. Sorted as
    (ts, channel) pairs: an ordered ``collect`` does not compile for Spark."""
    touches = ibis.struct({"ts": t.ts, "channel": t.channel}).collect().sort()
    return touches.map(lambda p: p.channel).join(SEP)


def journey_paths(src: Sources, options: JourneyOptions | None = None) -> ir.Table:
    """Unique paths (channels joined by :data:`SEP`) with ``total_conversions``, ``total_conversion_value``,
    ``total_null`` (Ibis)."""
    o = options or JourneyOptions()
    jt = journey_touches(src, o)
    per_conv = jt.group_by("conversion_id").aggregate(path=_path(jt), value=jt.value.max())
    # exact decimal sums, sorted paths: the same store gives bit-identical paths on every run
    conv = per_conv.group_by("path").aggregate(
        total_conversions=per_conv.count(),
        total_conversion_value=per_conv.value.cast("decimal(38, 9)").sum().cast("float64"),
    )
    if not o.include_nulls:
        return conv.mutate(total_null=ibis.literal(0, "int64")).order_by("path")
    nt = null_touches(src, o)
    per_person = nt.group_by("person_id").aggregate(path=_path(nt))
    null = per_person.group_by("path").aggregate(total_null=per_person.count())
    j = conv.outer_join(null, conv.path == null.path)
    return j.select(
        path=ibis.coalesce(j.path, j.path_right),
        total_conversions=j.total_conversions.fill_null(0),
        total_conversion_value=j.total_conversion_value.fill_null(0.0),
        total_null=j.total_null.fill_null(0),
    ).order_by("path")


def build_journeys(
    con: BaseBackend, options: JourneyOptions | None = None, config: Config | None = None
) -> Paths:
    """Journeys from the store as :class:`Paths`, with real-time decay weights available on demand.

    Conversion value is in one reporting currency (:mod:`cxlab.channels.money`, with ``config``'s
    ``[shop]``). ``paths.meta`` says how many conversions (and how much value) had no touch in their
    window and so are outside the paths, the ``currency`` and ``notes`` on it."""
    o = options or JourneyOptions()
    require_rows(con, "events", "Channel journeys", ["channel"])
    priced = priced_events(con, config or Config.default(), o.conversion_event)
    src = Sources.of(priced.table, o)
    with src.touches.cache() as touches, src.conversions.cache() as conv:  # each is read several times
        table = journey_paths(Sources(touches, conv), o).to_pyarrow()
        c = conv.filter(_in_period(conv.ts, o))
        exact = c.value.cast("decimal(38, 9)").sum().cast("float64")  # the same on every engine and run
        totals = c.aggregate(n=c.count(), value=exact).to_pandas().iloc[0]
    paths_col = table.column("path")
    paths = Paths.from_strings(
        paths_col,
        table.column("total_conversions").to_numpy(),
        table.column("total_conversion_value").to_numpy(),
        table.column("total_null").to_numpy(),
        sep=SEP,
        source="store journeys",
    )
    n_all, value_all = int(totals["n"]), float(totals["value"] or 0.0)
    index = pd.DataFrame({"path": paths_col.to_pandas(), "path_index": np.arange(paths.n_paths)})
    meta = {
        "lookback_days": o.lookback_days,
        "conversions_without_touches": n_all - round(paths.total_conversions),
        "value_without_touches": value_all - paths.total_value,
        "currency": priced.currency,
        "notes": priced.notes,
    }
    return Paths(
        channels=paths.channels,
        offsets=paths.offsets,
        touches=paths.touches,
        conversions=paths.conversions,
        value=paths.value,
        nulls=paths.nulls,
        decay=_TimeDecay(src, o, index, paths.offsets),
        source="store journeys",
        meta=meta,
    )


@dataclass(frozen=True, eq=False)
class _TimeDecay:
    """Per touch of the unique paths, the engine's sum over journeys of normalised ``2^(-age/half-life)``
    weights (age = time from the touch to the conversion), once per conversion and weighted by value."""

    sources: Sources
    options: JourneyOptions
    index: pd.DataFrame
    offsets: NDArray[np.int64]

    def __call__(self, half_life_days: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        jt = journey_touches(self.sources, self.options)
        age = (jt.conversion_ts.epoch_seconds() - jt.ts.epoch_seconds()).cast("float64")
        jt = jt.mutate(raw=(age * (-np.log(2) / (half_life_days * 86_400))).exp())
        w = ibis.window(group_by=jt.conversion_id, order_by=[jt.ts, jt.channel])
        jt = jt.mutate(pos=ibis.row_number().over(w), weight=jt.raw / jt.raw.sum().over(w))
        per_conv = jt.group_by("conversion_id").aggregate(path=_path(jt))
        k = jt.join(per_conv, "conversion_id")
        sums = (  # decimal sums in a fixed order: bit-identical on every run
            k.group_by(["path", "pos"])
            .aggregate(
                conv=k.weight.cast("decimal(38, 15)").sum().cast("float64"),
                value=(k.weight * k.value).cast("decimal(38, 9)").sum().cast("float64"),
            )
            .order_by(["path", "pos"])
            .to_pandas()
        )
        sums = sums.merge(self.index, on="path", how="inner")
        at = self.offsets[sums["path_index"].to_numpy()] + sums["pos"].to_numpy()
        n = int(self.offsets[-1])
        conv = np.bincount(at, weights=sums["conv"].to_numpy(float), minlength=n).astype(np.float64)
        value = np.bincount(at, weights=sums["value"].to_numpy(float), minlength=n).astype(np.float64)
        return conv, value
