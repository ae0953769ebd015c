"""The overview's key figures for the chosen period, each with its change against the previous period of the
same length: the report's computation (:mod:`cxlab.report.kpis`) over the dashboard's filtered store.

The period is the filter's date range; without one, the last 30 days of data. Both periods are read through
:meth:`ServerState.scope` with the same channel and country filters, so the numbers match the other pages'
filtered analyses.
"""

from __future__ import annotations

from dataclasses import replace

from cxlab.report.kpis import DEFAULT_DAYS, Figures, Kpi, Kpis, compare, figures, last_day, nonempty, periods
from cxlab.server.state import ServerState
from cxlab.store.filters import Filters

__all__ = ["DEFAULT_DAYS", "Figures", "Kpi", "Kpis", "key_figures", "period_figures"]


def period_figures(state: ServerState, filters: Filters) -> Figures:
    """Revenue, orders, visitors, buyers, active customers and NPS within ``filters``."""
    with state.scope(filters) as cur:
        return figures(cur, state.config)


def key_figures(state: ServerState, filters: Filters) -> Kpis | None:
    """The cards of the overview, or None when the store has no events, orders or feedback to define a period."""
    with state.scope(replace(filters, start=None, end=None)) as cur:
        end, present = filters.end or last_day(cur), nonempty(cur)
    if end is None:
        return None
    span = start, end, prev_start, prev_end = periods(end, filters.start)
    now = period_figures(state, replace(filters, start=start, end=end))
    before = period_figures(state, replace(filters, start=prev_start, end=prev_end))
    return compare(now, before, span, present)
