"""Media spend (the canonical ``spend`` table of :mod:`cxlab.schema`): cost per channel (and campaign) over a period.

One row per day, channel and campaign. Channel-level spend that is not split by campaign uses the
campaign name :data:`NO_CAMPAIGN`; the campaign is part of the key, so it can't be empty (a key with a
missing part could not be recognised as already stored, and re-ingesting the file would double it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from cxlab.schema.tables import NO_CAMPAIGN, SPEND

__all__ = ["NO_CAMPAIGN", "SPEND", "has_spend", "in_period", "spend_by"]


def has_spend(con: BaseBackend) -> bool:
    """Whether the store has a ``spend`` table with at least one row."""
    if SPEND.name not in con.list_tables():
        return False
    t = con.table(SPEND.name)
    return bool(t.count().execute() > 0)


def in_period(date: ir.DateValue, start: datetime | None, end: datetime | None) -> ir.BooleanValue:
    """Days overlapping ``[start, end)``."""
    cond = ibis.literal(True)
    if start is not None:
        cond &= date >= start.date()
    if end is not None:
        cond &= date.cast("timestamp") < end
    return cond


def spend_by(
    con: BaseBackend, by: Sequence[str], start: datetime | None = None, end: datetime | None = None
) -> ir.Table:
    """Total ``cost`` per ``by`` (``channel`` and optionally ``campaign``) in the period (Ibis)."""
    s = con.table(SPEND.name)
    s = s.filter(in_period(s.date, start, end))
    return s.group_by(list(by)).aggregate(cost=s.cost.sum())
