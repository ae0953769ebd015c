"""Retention: rows older than ``[privacy] retain_*`` of cxlab.toml are deleted by :func:`prune`.

Before rows go, what analyses need over longer horizons is kept in ``_cxlab_aggregates_monthly``, WITHOUT
personal keys (no customer, order, event or feedback id; no text): one row per pruning run, calendar month
(UTC) of the removed rows, table and group, with

- ``kind``: the event name (events), order status (orders), feedback source (feedback), experiment id
  (exposures) or country (customers, by the month of ``first_seen``);
- ``channel``, ``touchpoint``, ``variant``, ``currency``: the group's channel (events, orders), touchpoint
  (events, feedback), experiment variant (exposures) and order currency (orders), NULL elsewhere;
- ``rows``: rows removed; ``customers``: distinct customers among them (within one run: a month pruned over
  two runs has two rows, whose ``rows`` and ``revenue`` add up but whose ``customers`` may overlap);
- ``revenue``: summed event revenue or order revenue (in the order's own ``currency``); ``score_sum`` and
  ``score_n``: summed feedback scores and how many there were (mean = sum / n);
- ``pruned_at``: when the run happened.

Per table the horizon is measured from ``ts`` (events, orders, feedback, exposures); a customer goes when
their last activity (latest event, order or feedback, or ``first_seen`` when later) is older than
``retain_customers``. Removed feedback takes its voice results (``voice_texts``) and the embeddings of texts
no other feedback shares. Everything happens in one transaction, recorded in the audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from cxlab.config import Config, parse_duration
from cxlab.privacy import audit

if TYPE_CHECKING:  # no import at run time: the store's ingest may import this module
    from cxlab.store import Store

AGGREGATES = "_cxlab_aggregates_monthly"

AGGREGATES_DDL = f"""CREATE TABLE IF NOT EXISTS {AGGREGATES} (
  month DATE NOT NULL, "table" VARCHAR NOT NULL, kind VARCHAR, channel VARCHAR, touchpoint VARCHAR,
  variant VARCHAR, currency VARCHAR, rows BIGINT NOT NULL, customers BIGINT NOT NULL, revenue DOUBLE,
  score_sum DOUBLE, score_n BIGINT, pruned_at TIMESTAMP NOT NULL
)"""

_ORDER = ("customers", "events", "orders", "feedback", "exposures")
"""The tables with a ``retain_<table>`` setting, in the order they are pruned (customers first, so their last
activity is read before older rows of the other tables go)."""

_LAST_ACTIVITY = """(SELECT customer_id, max(ts) AS last FROM (
    SELECT customer_id, ts FROM events UNION ALL SELECT customer_id, ts FROM orders
    UNION ALL SELECT customer_id, ts FROM feedback
  ) WHERE customer_id IS NOT NULL GROUP BY customer_id)"""

_OLD = {
    name: f"SELECT * FROM {name} WHERE ts < $cutoff" for name in ("events", "orders", "feedback", "exposures")
} | {
    "customers": f"""SELECT c.* FROM customers c LEFT JOIN {_LAST_ACTIVITY} a USING (customer_id)
  WHERE greatest(c.first_seen, coalesce(a.last, c.first_seen)) < $cutoff"""
}
"""The rows of each table that are past the horizon ``$cutoff``."""

_VOICE_OLD = f"""SELECT feedback_id, text_hash FROM voice_texts
  WHERE feedback_id IN (SELECT feedback_id FROM ({_OLD["feedback"]}))"""
_VOICE_ALONE = f"""SELECT text_hash FROM voice_embeddings WHERE text_hash IN (SELECT text_hash FROM ({_VOICE_OLD}))
  AND text_hash NOT IN (SELECT text_hash FROM voice_texts WHERE text_hash IS NOT NULL
    AND feedback_id NOT IN (SELECT feedback_id FROM ({_VOICE_OLD})))"""
"""Voice results of feedback past retention, and the embedded texts that only such feedback has."""

_NONE = "NULL::VARCHAR"
_GROUPS: dict[str, tuple[str, str, str, str, str, str, str, str]] = {
    # ts column, kind, channel, touchpoint, variant, currency, revenue, score
    "events": ("ts", "event", "channel", "touchpoint", _NONE, _NONE, "sum(revenue)", "NULL"),
    "orders": ("ts", "status", "channel", _NONE, _NONE, "currency", "sum(revenue)", "NULL"),
    "feedback": ("ts", "source", _NONE, "touchpoint", _NONE, _NONE, "NULL", "score"),
    "exposures": ("ts", "experiment_id", _NONE, _NONE, "variant", _NONE, "NULL", "NULL"),
    "customers": ("first_seen", "country", _NONE, _NONE, _NONE, _NONE, "NULL", "NULL"),
}


@dataclass(frozen=True)
class PruneResult:
    """What :func:`prune` removed (or, on a dry run, would remove) per table, and the aggregates it kept."""

    cutoffs: dict[str, dt.datetime]
    rows_removed: dict[str, int]
    aggregates: int = 0
    dry_run: bool = False
    voice_removed: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        if not self.cutoffs:
            return "No retention is configured ([privacy] retain_* in cxlab.toml): nothing was removed."
        verb = "would remove" if self.dry_run else "removed"
        parts = ", ".join(
            f"{n:,} {t} (before {self.cutoffs[t]:%Y-%m-%d})" for t, n in self.rows_removed.items()
        )
        kept = (
            "" if self.dry_run else f"; {self.aggregates:,} monthly aggregate rows kept without personal keys"
        )
        return f"Retention {verb} {parts}{kept}."


def cutoff(now: dt.datetime, duration: str) -> dt.datetime:
    """The moment ``duration`` (e.g. "25 months") before ``now``: rows older than it are past retention."""
    n, unit = parse_duration(duration)
    offset: dict[str, Any] = {f"{unit}s": n}  # calendar-aware: 25 months before 15 Jan is 15 Dec
    return (pd.Timestamp(now) - pd.DateOffset(**offset)).to_pydatetime()


def cutoffs(config: Config, now: dt.datetime) -> dict[str, dt.datetime]:
    """The cutoff of each table that has a ``retain_<table>`` setting."""
    p = config.privacy
    settings = {
        "customers": p.retain_customers,
        "events": p.retain_events,
        "orders": p.retain_orders,
        "feedback": p.retain_feedback,
        "exposures": p.retain_exposures,
    }
    return {t: cutoff(now, d) for t, d in settings.items() if d is not None}


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    ((n,),) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return bool(n)


def _count(con: duckdb.DuckDBPyConnection, sql: str, at: dt.datetime) -> int:
    ((n,),) = con.execute(f"SELECT count(*) FROM ({sql})", {"cutoff": at}).fetchall()
    return int(n)


def _keep_aggregates(con: duckdb.DuckDBPyConnection, table: str, at: dt.datetime, now: dt.datetime) -> int:
    ts, kind, channel, touchpoint, variant, currency, revenue, score = _GROUPS[table]
    ((n,),) = con.execute(
        f"""INSERT INTO {AGGREGATES}
  SELECT date_trunc('month', {ts})::DATE, '{table}', {kind}, {channel}, {touchpoint}, {variant}, {currency},
    count(*), count(DISTINCT customer_id), {revenue}, sum({score}), count({score}), $now
  FROM ({_OLD[table]}) GROUP BY ALL""",
        {"cutoff": at, "now": now},
    ).fetchall()
    return int(n)


def _delete(con: duckdb.DuckDBPyConnection, table: str, at: dt.datetime) -> int:
    key = "customer_id" if table == "customers" else "feedback_id" if table == "feedback" else None
    if table in ("events", "customers"):
        from cxlab.journey import layout

        layout.drop(con)  # derived from the events and their people: rebuilt from what is kept
    if key is None:
        ((n,),) = con.execute(f"DELETE FROM {table} WHERE ts < $cutoff", {"cutoff": at}).fetchall()
    else:
        ((n,),) = con.execute(
            f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM ({_OLD[table]}))", {"cutoff": at}
        ).fetchall()
    return int(n)


def _voice(con: duckdb.DuckDBPyConnection, at: dt.datetime, dry_run: bool) -> dict[str, int]:
    """Remove (or count) the voice results of the feedback past retention and the embeddings of texts
    that no other feedback has."""
    if not _has_table(con, "voice_texts"):  # the voice tables come together, once voice has run
        return {}
    if dry_run:
        return {"voice_texts": _count(con, _VOICE_OLD, at), "voice_embeddings": _count(con, _VOICE_ALONE, at)}
    ((emb,),) = con.execute(
        f"DELETE FROM voice_embeddings WHERE text_hash IN ({_VOICE_ALONE})", {"cutoff": at}
    ).fetchall()
    ((texts,),) = con.execute(
        f"DELETE FROM voice_texts WHERE feedback_id IN (SELECT feedback_id FROM ({_VOICE_OLD}))",
        {"cutoff": at},
    ).fetchall()
    return {"voice_texts": int(texts), "voice_embeddings": int(emb)}


def prune(
    store_or_con: Store | duckdb.DuckDBPyConnection,
    config: Config | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Delete the rows past each table's retention (``[privacy] retain_*``), keeping monthly aggregates
    without personal keys first; one transaction, one audit entry. ``dry_run`` counts and changes nothing.

    Meant to run daily: ``cxlab serve`` does, else cron."""
    if isinstance(store_or_con, duckdb.DuckDBPyConnection):
        con, cfg = store_or_con, config or Config.default()
    else:
        con, cfg = store_or_con.con, config or store_or_con.config
    when = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    cuts = cutoffs(cfg, when)
    if dry_run or not cuts:
        counts = {t: _count(con, _OLD[t], cuts[t]) for t in _ORDER if t in cuts}
        voice = _voice(con, cuts["feedback"], dry_run=True) if "feedback" in cuts else {}
        return PruneResult(cuts, counts, dry_run=dry_run, voice_removed=voice)
    removed: dict[str, int] = {}
    kept = 0
    con.begin()
    try:
        con.execute(AGGREGATES_DDL)
        voice = _voice(con, cuts["feedback"], dry_run=False) if "feedback" in cuts else {}
        for t in _ORDER:
            if t in cuts:
                kept += _keep_aggregates(con, t, cuts[t], when)
                removed[t] = _delete(con, t, cuts[t])
        audit.record(
            con,
            "prune",
            rows=sum(removed.values()),
            detail={
                "rows_removed": removed | voice,
                "cutoffs": {t: c.isoformat() for t, c in cuts.items()},
                "aggregates": kept,
            },
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    if sum(removed.values()):
        con.execute("CHECKPOINT")
    return PruneResult(cuts, removed, kept, voice_removed=voice)
