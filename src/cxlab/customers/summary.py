"""Per-customer purchase histories for the CLV models, computed by the engine.

From a table of transactions (the store's ``orders``, or any Ibis table with a customer, a timestamp and
optionally a value column) the engine computes, per customer, ``frequency`` (repeat purchases),
``recency`` (time from the first to the last purchase), ``T`` (time from the first purchase to the end of
calibration) and ``monetary_value`` (mean value of the repeat purchases), plus the holdout-period counts
when an observation end is given.

Two clocks:

* ``exact=False`` (default; the convention of the ``lifetimes`` package's
  ``summary_data_from_transaction_data``): timestamps fall into whole periods (``day`` or ``week``, weeks
  starting on Monday); several purchases in one period count once with their values summed; durations
  are whole periods, or fractions when ``time_unit`` is longer than ``period`` (``period="day",
  time_unit="week"`` is the CDNOW convention).
* ``exact=True``: every distinct purchase time counts and durations are exact, in ``time_unit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from cxlab.errors import MissingData

UNIT_SECONDS = {"day": 86_400.0, "week": 604_800.0}
TRUNCATE = {"day": "D", "week": "W"}
EXACT = dt.Decimal(38, 9)
"""Values are summed as decimals: exact, so every engine (and every run) gives the same mean to the last bit,
whatever order it adds in; a fit on floating-point sums (Gamma-Gamma's) would follow their rounding noise."""


@dataclass(frozen=True)
class Cutoff:
    """An end of a period: ``limit`` with ``inclusive``; a bare date means the whole day (UTC, like the
    store's timestamps; a time with an offset is converted to UTC)."""

    limit: datetime
    inclusive: bool
    anchor: datetime
    """The date or time as given: what period-mode durations are measured to (after truncation)."""

    @classmethod
    def parse(cls, value: str | date | datetime | Cutoff) -> Cutoff:
        if isinstance(value, Cutoff):
            return value
        if isinstance(value, str):
            text = value.strip()
            try:
                value = date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"not a date or time: {text!r} (expected YYYY-MM-DD or an ISO time)"
                ) from None
        if isinstance(value, datetime):
            naive = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
            return cls(naive, True, naive)
        start = datetime(value.year, value.month, value.day)
        return cls(start + timedelta(days=1), False, start)

    def earlier(self, seconds: float) -> Cutoff:
        """The same kind of end ``seconds`` earlier (the end of a day stays exclusive: a purchase at the
        new limit belongs to the later period, as at this one)."""
        d = timedelta(seconds=seconds)
        return Cutoff(self.limit - d, self.inclusive, self.anchor - d)

    def includes(self, ts: ir.TimestampValue) -> ir.BooleanValue:
        lim = ibis.timestamp(self.limit)
        return ts <= lim if self.inclusive else ts < lim

    def excludes(self, ts: ir.TimestampValue) -> ir.BooleanValue:
        lim = ibis.timestamp(self.limit)
        return ts > lim if self.inclusive else ts >= lim

    def __str__(self) -> str:
        return self.anchor.isoformat(sep=" ") if self.inclusive else self.anchor.date().isoformat()


def seconds(ts: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds since 1970 to the millisecond, the same on every engine (Spark's ``unix_timestamp`` drops the
    fraction that DuckDB's ``epoch`` keeps; Spark has no microseconds to extract)."""
    whole = ts.truncate("s").epoch_seconds().cast("float64")
    return whole + ts.millisecond().cast("float64") / 1000.0


def _mean(total: ir.DecimalValue, n: ir.IntegerValue) -> ir.FloatingValue:
    """``total / n`` from an exact sum (0 where there is nothing to average; no division by zero, which
    Spark's ANSI mode would refuse)."""
    return (total.cast("float64") / n.nullif(0).cast("float64")).fill_null(0.0)


def _check_units(period: str, time_unit: str | None) -> tuple[str, str]:
    if period not in UNIT_SECONDS:
        raise ValueError(f"period must be one of {', '.join(UNIT_SECONDS)}, got {period!r}")
    unit = time_unit or period
    if unit not in UNIT_SECONDS:
        raise ValueError(f"time unit must be one of {', '.join(UNIT_SECONDS)}, got {unit!r}")
    return period, unit


def summary_table(
    transactions: ir.Table,
    calibration_end: str | date | datetime | Cutoff,
    *,
    observation_end: str | date | datetime | Cutoff | None = None,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    value_col: str | None = "revenue",
    period: str = "week",
    time_unit: str | None = None,
    exact: bool = False,
) -> ir.Table:
    """The per-customer summary as a lazy Ibis expression (see the module docstring for the clocks).

    Columns: ``customer_id, frequency, recency, T`` [``monetary_value``] and, with ``observation_end``,
    ``frequency_holdout, duration_holdout`` [``monetary_value_holdout``]. Customers are those whose first
    purchase is within the calibration period.
    """
    period, unit = _check_units(period, time_unit)
    cal = Cutoff.parse(calibration_end)
    sec = UNIT_SECONDS[unit]
    t = transactions
    for c in (customer_col, ts_col, *([value_col] if value_col else [])):
        if c not in t.columns:
            raise KeyError(f"no column {c!r} (columns: {', '.join(t.columns)})")
    ts = t[ts_col].cast("timestamp")
    v = t[value_col].cast("float64").cast(EXACT) if value_col else ibis.literal(0).cast(EXACT)
    base = t.select(cid=t[customer_col].cast("string"), ts=ts, v=v)
    base = base.filter(base.cid.notnull() & base.ts.notnull())

    def slot(x: ir.TimestampValue) -> ir.TimestampValue:
        return x if exact else x.truncate(TRUNCATE[period])

    calib = base.filter(cal.includes(base.ts))
    per = calib.group_by(["cid", calib.ts.name("p") if exact else slot(calib.ts).name("p")]).aggregate(
        v=calib.v.sum()
    )
    per = per.mutate(first=per.p.min().over(group_by="cid"))
    agg = per.group_by("cid").aggregate(
        n=per.count(),
        first=per.first.min(),
        last=per.p.max(),
        rep_sum=per.v.sum(where=per.p != per.first),
        rep_n=per.count(where=per.p != per.first),
    )
    ref = ibis.timestamp(cal.limit if exact else cal.anchor)
    ref_s = seconds(ref if exact else slot(ref))
    first_s = seconds(agg.first)
    cols: dict[str, Any] = {
        "customer_id": agg.cid,
        "frequency": (agg.n - 1).cast("int64"),
        "recency": (seconds(agg.last) - first_s) / sec,
        "T": (ref_s - first_s) / sec,
    }
    if value_col:
        cols["monetary_value"] = _mean(agg.rep_sum, agg.rep_n)
    out = agg.select(**cols)
    if observation_end is None:
        return out
    obs = Cutoff.parse(observation_end)
    if obs.limit <= cal.limit:
        raise ValueError(f"observation end {obs} is not after calibration end {cal}")
    hold = base.filter(cal.excludes(base.ts) & obs.includes(base.ts))
    hold = hold.mutate(p=slot(hold.ts))
    h_aggs: dict[str, Any] = {"frequency_holdout": hold.p.nunique()}
    if value_col:
        h_aggs |= {"h_sum": hold.v.sum(), "h_n": hold.count()}
    h = hold.group_by("cid").aggregate(**h_aggs)
    j = out.left_join(h, out.customer_id == h.cid)
    obs_ref = ibis.timestamp(obs.limit if exact else obs.anchor)
    duration = (seconds(obs_ref if exact else slot(obs_ref)) - ref_s) / sec
    sel: dict[str, Any] = {c: j[c] for c in cols}
    sel["frequency_holdout"] = j.frequency_holdout.fill_null(0).cast("int64")
    if value_col:
        sel["monetary_value_holdout"] = _mean(j.h_sum, j.h_n)
    sel["duration_holdout"] = duration
    return j.select(**sel)


@dataclass(frozen=True)
class PurchaseSummary:
    """The executed per-customer summary and how it was made."""

    frame: pd.DataFrame
    calibration_end: str
    observation_end: str | None
    period: str
    time_unit: str
    exact: bool

    @property
    def clock(self) -> str:
        """One phrase on how time was counted."""
        if self.exact:
            return f"exact times in {self.time_unit}s"
        per = f"{self.period}s" if self.period == self.time_unit else f"{self.period}s, in {self.time_unit}s"
        return f"whole {per} (purchases within one {self.period} count once)"

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


def purchase_summary(
    transactions: ir.Table,
    calibration_end: str | date | datetime | Cutoff,
    *,
    observation_end: str | date | datetime | Cutoff | None = None,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    value_col: str | None = "revenue",
    period: str = "week",
    time_unit: str | None = None,
    exact: bool = False,
) -> PurchaseSummary:
    """Execute :func:`summary_table` once and keep the frame with its settings."""
    expr = summary_table(
        transactions,
        calibration_end,
        observation_end=observation_end,
        customer_col=customer_col,
        ts_col=ts_col,
        value_col=value_col,
        period=period,
        time_unit=time_unit,
        exact=exact,
    )
    frame = expr.order_by("customer_id").execute()
    return PurchaseSummary(
        frame=frame,
        calibration_end=str(Cutoff.parse(calibration_end)),
        observation_end=None if observation_end is None else str(Cutoff.parse(observation_end)),
        period=period,
        time_unit=time_unit or period,
        exact=exact,
    )


def compressed(summary: ir.Table, columns: list[str]) -> pd.DataFrame:
    """Distinct rows of ``columns`` with their count as ``weight``, grouped by the engine."""
    g = summary.group_by(columns).aggregate(weight=summary.count())
    return g.order_by(columns).execute()


def last_order_time(orders: ir.Table, ts_col: str = "ts") -> datetime:
    """The time of the latest order (the default end of calibration for a store).

    An order dated beyond year 9999 (a typo such as 10000 for 2000, in a store filled by other means than
    ``cxlab ingest``) cannot be the end of an analysis: the error says so and how to get past it."""
    latest = orders[ts_col].max()
    year = latest.year().execute()
    if year is None or pd.isna(year):
        raise MissingData(
            "this analysis needs orders: none stored (load them with `cxlab ingest orders FILE`)"
        )
    if not 1 <= int(year) <= 9999:
        raise ValueError(
            f"orders.{ts_col}: the latest order is dated in year {int(year)}, not a plausible date; correct or "
            "delete that order, or give the end date yourself (--as-of / --calibration-end)"
        )
    return pd.Timestamp(latest.execute()).to_pydatetime()
