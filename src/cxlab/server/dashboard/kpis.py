"""The overview's key figures (revenue, conversion, NPS, active customers) for the chosen period, each with
its change against the previous period of the same length.

The period is the filter's date range; without one, the last 30 days of events. Both periods are read
through :meth:`ServerState.scope` with the same channel and country filters, so the numbers match the other
pages' filtered analyses.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

import pandas as pd

from cxlab.currency import shop_orders
from cxlab.display import DASH, count, interval, money, number, pct
from cxlab.errors import MissingData
from cxlab.server.state import Filters, ServerState
from cxlab.stats.proportions import wilson_interval
from cxlab.store import Store
from cxlab.voice.scores import score

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Figures:
    """The raw key figures of one period."""

    revenue: float
    orders: int
    visitors: int
    buyers: int
    customers: int
    nps: float | None
    nps_low: float | None
    nps_high: float | None
    nps_n: int


@dataclass(frozen=True)
class Kpi:
    """One card: name, value, its interval or n, the previous period's value and the change."""

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


def _safe_count(con: object, sql: str) -> int:
    row = con.execute(sql).fetchone()  # type: ignore[attr-defined]
    return int(row[0] or 0) if row else 0


def _has(con: object, table: str) -> bool:
    try:
        con.execute(f"SELECT 1 FROM {table} LIMIT 0")  # type: ignore[attr-defined]
    except Exception:
        return False
    return True


def period_figures(state: ServerState, filters: Filters) -> Figures:
    """Revenue, orders, visitors, buyers, active customers and NPS within ``filters``."""
    with state.scope(filters) as cur, Store(state.db_path, read_only=True) as store:
        revenue, orders = 0.0, 0
        if _has(cur, "orders"):
            o = shop_orders(store.ibis(), store.config).table
            r = o.aggregate(revenue=o.revenue.sum(), n=o.count()).execute().iloc[0]
            revenue = 0.0 if pd.isna(r["revenue"]) else float(r["revenue"])
            orders = int(r["n"])
        visitors = buyers = customers = 0
        if _has(cur, "events"):
            person = "COALESCE(customer_id, anonymous_id)"
            visitors = _safe_count(cur, f"SELECT count(DISTINCT {person}) FROM events")
            buyers = _safe_count(cur, f"SELECT count(DISTINCT {person}) FROM events WHERE event = 'purchase'")
            customers = _safe_count(cur, "SELECT count(DISTINCT customer_id) FROM events")
        nps = lo = hi = None
        n = 0
        if _has(cur, "feedback"):
            try:
                t = score(store.ibis(), "nps").table
            except MissingData:
                t = pd.DataFrame()
            if len(t):
                nps, lo, hi, n = (float(t["score"].iloc[0]), float(t["ci_low"].iloc[0]),
                                  float(t["ci_high"].iloc[0]), int(t["n"].iloc[0]))  # fmt: skip
    return Figures(revenue, orders, visitors, buyers, customers, nps, lo, hi, n)


def last_day(state: ServerState, filters: Filters) -> dt.date | None:
    """The day of the latest event (channel and country filters applied), or None without events."""
    with state.scope(replace(filters, start=None, end=None)) as cur:
        if not _has(cur, "events"):
            return None
        row = cur.execute("SELECT max(ts)::DATE FROM events").fetchone()
    return row[0] if row and row[0] is not None else None


def _rel(now: float, before: float) -> tuple[str, int]:
    if before == 0 or math.isnan(before) or math.isnan(now):
        return DASH, 0
    change = now / before - 1
    return pct(change, 1, signed=True), (change > 0) - (change < 0)


def _pts(now: float | None, before: float | None, scale: float = 1.0, unit: str = " pt") -> tuple[str, int]:
    if now is None or before is None or math.isnan(now) or math.isnan(before):
        return DASH, 0
    d = (now - before) * scale
    return f"{d:+.1f}{unit}", (d > 0) - (d < 0)


def key_figures(state: ServerState, filters: Filters) -> Kpis | None:
    """The cards of the overview, or None when the store has no events to define a period."""
    end = filters.end or last_day(state, filters)
    if end is None:
        return None
    start = filters.start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    days = (end - start).days + 1
    prev_end = start - dt.timedelta(days=1)
    prev_start = prev_end - dt.timedelta(days=days - 1)
    now = period_figures(state, replace(filters, start=start, end=end))
    before = period_figures(state, replace(filters, start=prev_start, end=prev_end))
    currency = state.config.shop.currency

    def conv(f: Figures) -> float:
        return f.buyers / f.visitors if f.visitors else math.nan

    lo, hi = wilson_interval([now.buyers], [now.visitors])
    cards = [
        Kpi("Revenue", money(now.revenue, currency), f"{count(now.orders)} orders",
            money(before.revenue, currency), *_rel(now.revenue, before.revenue)),
        Kpi("Conversion", pct(conv(now)) if now.visitors else DASH,
            f"95% CI {interval(lo[0], hi[0])}, n = {count(now.visitors)} visitors" if now.visitors else "no visitors",
            pct(conv(before)) if before.visitors else DASH, *_pts(conv(now), conv(before), 100)),
        Kpi("NPS", number(now.nps, 3) if now.nps is not None else DASH,
            f"95% CI {number(now.nps_low, 3)} to {number(now.nps_high, 3)}, n = {count(now.nps_n)} answers"
            if now.nps is not None else "no NPS answers",
            number(before.nps, 3) if before.nps is not None else DASH, *_pts(now.nps, before.nps)),
        Kpi("Active customers", count(now.customers), "identified customers with an event",
            count(before.customers), *_rel(now.customers, before.customers)),
    ]  # fmt: skip
    method = (
        f"{start:%Y-%m-%d} to {end:%Y-%m-%d} ({days} days) against {prev_start:%Y-%m-%d} to {prev_end:%Y-%m-%d}. "
        "Revenue: orders in the reporting currency. Conversion: people (customer or anonymous id) with a "
        "purchase event among people with any event, Wilson interval. NPS: % promoters − % detractors, normal "
        "interval. Changes: relative for revenue and customers, percentage points for conversion and NPS."
    )
    return Kpis(start, end, prev_start, prev_end, cards, method)
