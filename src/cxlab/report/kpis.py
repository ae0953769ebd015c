"""The key figures (revenue, orders, average order value, conversion, NPS, active customers) of a period, each
with its change against the period of the same length before it.

One computation for every shell and engine: the report's "Key figures" section (the last 30 days of the data,
on DuckDB or Spark) and the dashboard's overview cards (the filter's date range, on a cursor whose canonical
tables hold just the filtered rows) read the same :func:`figures`, written in Ibis.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TypeAlias

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.currency import shop_orders
from cxlab.display import DASH, count, day, interval, missing, money, pct, points, whole
from cxlab.errors import MissingData
from cxlab.report.section import Section, titled
from cxlab.stats.proportions import wilson_interval
from cxlab.store import Store
from cxlab.voice.scores import score, score_range

DEFAULT_DAYS = 30
SOURCES = ("events", "orders", "feedback")
"""The tables the key figures read."""


@dataclass(frozen=True)
class Figures:
    """The raw key figures of one period; money in ``currency``."""

    revenue: float
    orders: int
    visitors: int
    buyers: int
    customers: int
    nps: float | None
    nps_low: float | None
    nps_high: float | None
    nps_n: int
    currency: str
    notes: tuple[str, ...] = ()
    """What the reporting currency left out or converted (see :func:`cxlab.currency.shop_orders`)."""

    @property
    def conversion(self) -> float:
        return self.buyers / self.visitors if self.visitors else math.nan

    @property
    def order_value(self) -> float:
        return self.revenue / self.orders if self.orders else math.nan


@dataclass(frozen=True)
class Kpi:
    """One key figure: name, value, its interval or n, the previous period's value and the change."""

    name: str
    value: str
    detail: str
    previous: str
    change: str
    direction: int
    """+1 better, -1 worse, 0 unchanged or unknown."""


@dataclass(frozen=True)
class Kpis:
    start: dt.date
    end: dt.date
    prev_start: dt.date
    prev_end: dt.date
    cards: list[Kpi]
    method: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


Con: TypeAlias = duckdb.DuckDBPyConnection | BaseBackend
"""Where the figures are read: an Ibis backend (DuckDB or Spark) or a DuckDB connection (the dashboard's
filtered cursor)."""


def _backend(con: Con) -> BaseBackend:
    return ibis.duckdb.from_connection(con) if isinstance(con, duckdb.DuckDBPyConnection) else con


def nonempty(con: Con) -> set[str]:
    """Which of :data:`SOURCES` hold rows on ``con`` (a figure of an empty table is "not measured", not 0)."""
    backend = _backend(con)
    have = set(backend.list_tables())
    return {t for t in SOURCES if t in have and int(backend.table(t).limit(1).count().execute())}


def last_day(con: Con) -> dt.date | None:
    """The day of the latest event, order or feedback on ``con``, or None when there is none."""
    backend = _backend(con)
    have = set(backend.list_tables())
    latest = [backend.table(t).ts.max().execute() for t in SOURCES if t in have]
    known = [pd.Timestamp(x).date() for x in latest if not pd.isna(x)]
    return max(known) if known else None


def _within(t: ir.Table, period: tuple[dt.date, dt.date] | None) -> ir.Table:
    """``t``'s rows whose ``ts`` falls on the days of ``period`` (first and last day included, UTC)."""
    if period is None:
        return t
    start, end = period
    return t.filter((t.ts >= pd.Timestamp(start)) & (t.ts < pd.Timestamp(end + dt.timedelta(days=1))))


def figures(con: Con, config: Config, period: tuple[dt.date, dt.date] | None = None) -> Figures:
    """Revenue, orders, visitors, buyers, active customers and NPS of the rows ``con``'s tables hold, on the
    days of ``period`` when given (the dashboard's cursor is filtered already). The reporting currency is
    settled on all the orders, so two periods compared are in one currency."""
    backend = _backend(con)
    have = set(backend.list_tables())
    revenue, orders, currency = 0.0, 0, config.shop.currency
    notes: tuple[str, ...] = ()
    if "orders" in have:
        shop = shop_orders(backend, config)
        o = _within(shop.table, period)
        r = o.aggregate(revenue=o.revenue.sum(), n=o.count()).execute().iloc[0]
        revenue = 0.0 if pd.isna(r["revenue"]) else float(r["revenue"])
        orders, currency, notes = int(r["n"]), shop.currency, tuple(shop.notes)
    visitors = buyers = customers = 0
    if "events" in have:
        ev = _within(backend.table("events"), period)
        person = ev.customer_id.coalesce(ev.anonymous_id)
        n = (
            ev.aggregate(
                visitors=person.nunique(),
                buyers=person.nunique(where=ev.event == "purchase"),
                customers=ev.customer_id.nunique(),
            )
            .execute()
            .iloc[0]
        )
        visitors, buyers, customers = int(n["visitors"]), int(n["buyers"]), int(n["customers"])
    nps = lo = hi = None
    answers = 0
    if "feedback" in have:
        t = score(backend, "nps", feedback=_within(backend.table("feedback"), period)).table
        if len(t) and int(t["n"].iloc[0]):
            nps, lo, hi, answers = (float(t["score"].iloc[0]), float(t["ci_low"].iloc[0]),
                                    float(t["ci_high"].iloc[0]), int(t["n"].iloc[0]))  # fmt: skip
    return Figures(revenue, orders, visitors, buyers, customers, nps, lo, hi, answers, currency, notes)


def periods(end: dt.date, start: dt.date | None = None) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """(start, end, previous start, previous end): ``start`` to ``end`` (default the :data:`DEFAULT_DAYS`
    days up to ``end``) and the period of the same length just before it."""
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    prev_end = start - dt.timedelta(days=1)
    return start, end, prev_end - (end - start), prev_end


def _rel(now: float, before: float) -> tuple[str, int]:
    if before == 0 or math.isnan(before) or math.isnan(now):
        return DASH, 0
    change = now / before - 1
    return pct(change, 1, signed=True), (change > 0) - (change < 0)


def _pts(now: float | None, before: float | None, scale: float = 1.0) -> tuple[str, int]:
    """The change of a share (``scale`` 1, in tenths of a point) or of a score out of 100 (``scale`` 0.01, in
    whole points, as the scores are shown: 14 against 26 reads −12 points, never −11.8)."""
    if now is None or before is None or math.isnan(now) or math.isnan(before):
        return DASH, 0
    if scale != 1.0:
        now, before = round(now), round(before)
    d = (now - before) * scale
    return points(d, 1 if scale == 1.0 else 0), (d > 0) - (d < 0)


def _nps(x: float | None) -> str:
    return DASH if x is None else whole(x)


def compare(
    now: Figures, before: Figures, span: tuple[dt.date, dt.date, dt.date, dt.date], present: set[str]
) -> Kpis:
    """The key figures of ``now`` against ``before`` (the periods in ``span``, see :func:`periods`); figures
    whose source table (of :data:`SOURCES`) is not in ``present`` are left out, not shown as 0."""
    start, end, prev_start, prev_end = span
    cur = now.currency
    lo, hi = wilson_interval([now.buyers], [now.visitors])
    cards: list[Kpi] = []
    if "orders" in present:
        cards += [
            Kpi("Revenue", money(now.revenue, cur), f"{count(now.orders)} orders",
                money(before.revenue, cur), *_rel(now.revenue, before.revenue)),
            Kpi("Orders", count(now.orders), "orders placed in the period",
                count(before.orders), *_rel(now.orders, before.orders)),
            Kpi("Average order value", money(now.order_value, cur, 2), f"revenue ÷ {count(now.orders)} orders",
                money(before.order_value, cur, 2), *_rel(now.order_value, before.order_value)),
        ]  # fmt: skip
    if "events" in present:
        cards += [
            Kpi("Conversion", pct(now.conversion),
                f"{count(now.buyers)} of {count(now.visitors)} visitors bought, 95% CI {interval(lo[0], hi[0])}"
                if now.visitors else "no visitors",
                pct(before.conversion), *_pts(now.conversion, before.conversion)),
            Kpi("Active customers", count(now.customers), "identified customers with an event",
                count(before.customers), *_rel(now.customers, before.customers)),
        ]  # fmt: skip
    if "feedback" in present:
        nps_range = score_range({"ci_low": now.nps_low, "ci_high": now.nps_high, "n": now.nps_n}, _nps)
        detail = (
            "no NPS answers"
            if now.nps is None
            else nps_range
            if now.nps_low is None or missing(now.nps_low)
            else f"95% range {nps_range}, {count(now.nps_n)} answers"
        )
        cards.append(Kpi("NPS", _nps(now.nps), detail, _nps(before.nps), *_pts(now.nps, before.nps, 0.01)))
    days = (end - start).days + 1
    notes = "".join(f" Note: {n}." for n in now.notes)
    method = (
        f"{day(start)} to {day(end)} ({days} days) against {day(prev_start)} to {day(prev_end)}. "
        f"Revenue: orders in {cur}; average order value: revenue per order. Conversion: people (customer or "
        "anonymous id) with a purchase event among people with any event, Wilson interval. NPS: % promoters − "
        "% detractors, adjusted Wald interval. Changes: relative for revenue, orders, order value and customers, "
        f"points for conversion and NPS.{notes}"
    )
    return Kpis(start, end, prev_start, prev_end, cards, method)


def key_figures(store: Store, days: int = DEFAULT_DAYS) -> Kpis | None:
    """The key figures of the last ``days`` days of ``store``'s data against the ``days`` before, read through
    the store's engine; None when the store holds no events, orders or feedback to define a period."""
    con = store.ibis()
    end = last_day(con)
    if end is None:
        return None
    span = periods(end, end - dt.timedelta(days=days - 1))
    start, end, prev_start, prev_end = span
    now = figures(con, store.config, (start, end))
    before = figures(con, store.config, (prev_start, prev_end))
    return compare(now, before, span, nonempty(con))


def overview(store: Store) -> Section:
    """Rows per table, the period the events cover, orders and their revenue in the reporting currency."""
    con = store.ibis()
    counts = store.counts()
    span = con.table("events").aggregate(first=lambda t: t.ts.min(), last=lambda t: t.ts.max()).execute()
    first, last = span["first"].iloc[0], span["last"].iloc[0]
    period = f"Events from {day(first)} to {day(last)}" if pd.notna(first) else "No events"
    orders = shop_orders(con, store.config)
    revenue = orders.table.aggregate(r=orders.table.revenue.sum()).execute()["r"].iloc[0]
    worth = money(0 if pd.isna(revenue) else revenue, orders.currency)
    notes = "".join(f" Note: {n}." for n in orders.notes)
    table = pd.DataFrame({"table": list(counts), "rows": [count(n) for n in counts.values()]})
    summary = f"{period}; {count(counts['orders'])} orders worth {worth}.{notes}"
    return Section("overview", "Overview", summary, table=table)


def _plain(k: Kpi) -> str:
    """``Revenue EUR 12,345 (+4.2%)``: a figure and its change, for the summary."""
    name = k.name if k.name.isupper() else k.name.lower()
    return f"{name} {k.value}" + (f" ({k.change})" if k.change != DASH else "")


@titled("Key figures")
def overview_section(store: Store) -> Section:
    """The key figures of the last 30 days against the 30 before, with the rows per table folded away."""
    kpis = key_figures(store)
    if kpis is None:
        raise MissingData("Key figures need events, orders or feedback: none stored")
    head = {"Revenue", "Orders", "Conversion", "NPS"}
    said = ", ".join(_plain(k) for k in kpis.cards if k.name in head and k.value != DASH)
    summary = (
        f"The last {kpis.days} days ({day(kpis.start)} to {day(kpis.end)}) against the {kpis.days} before"
    )
    summary += f": {said}." if said else ": nothing measured in either period."
    table = pd.DataFrame(
        {
            "figure": [k.name for k in kpis.cards],
            f"last {kpis.days} days": [k.value for k in kpis.cards],
            f"{kpis.days} days before": [k.previous for k in kpis.cards],
            "change": [k.change for k in kpis.cards],
        }
    )
    rows = ", ".join(f"{t} {count(n)}" for t, n in store.counts().items())
    measured = " ".join(f"{k.name}: {k.detail}." for k in kpis.cards)
    details = f"{kpis.method} {measured} All data: {overview(store).summary} Rows stored per table: {rows}."
    return Section("overview", "Key figures", summary, table=table, details=details)


SECTIONS = [overview_section]
