"""The outbox: every decided trigger as a row keyed by (flow, customer, trigger key), and the delivery of the
rows that are due, at most once per key across restarts and crashes.

The protocol (see :mod:`cxlab.automate.tables` for the statuses) is a claim before the send and a record after
it, each its own short committed transaction; the network call happens between them, outside any
transaction, so delivery never holds a lock the collector or the analyses wait on:

1. the contact is resolved and the message composed (no state changes; a missing contact gives up, a
   :class:`~cxlab.automate.message.Suppressed` from ``compose`` suppresses the row);
2. claim: ``status = 'sending', tries = tries + 1`` where the row is still ``queued``/``retry`` → commit
   (no row changed: another run claimed it, it is skipped);
3. the adapter sends the message;
4. record: ``status = 'sent'`` with ``sent_at``/``provider_id`` and the caller's ``on_sent`` (the message
   event) in one transaction → commit; a transient error (the message surely did not leave) schedules a retry
   with back-off, a permanent one (or the last try) gives up, and an
   :class:`~cxlab.automate.message.InDoubt` (no answer after the message was handed over: a timeout after the
   SMTP DATA or the webhook request) makes the row ``in_doubt``, never retried.

A process killed between 2 and 4 leaves the row ``sending``; the next run's :meth:`Outbox.recover` turns it
``in_doubt`` and it is never sent again. That makes delivery *at most once*: a message whose claim committed
but whose send never happened (killed before the network call) is reported in doubt, not delivered; one that
reached the receiver but was not recorded is not sent a second time. Receivers can also drop duplicates by
the message's key (the SMTP Message-ID, the webhook's Idempotency-Key), which is the same on every try.

A channel whose receiver fails :data:`PAUSE_AFTER` times in a row is paused for the rest of the run: its
other messages keep their status and tries for the next run. The protocol is written here rather than taken
from a task-queue library because its state must live in the store's own DuckDB file, in the same
transactions as the message events and exposures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, overload

import duckdb
import pandas as pd
import pyarrow as pa

from cxlab.automate.contacts import ContactBook, redact
from cxlab.automate.message import (
    Adapter,
    Contact,
    InDoubt,
    Message,
    PermanentError,
    Suppressed,
    TransientError,
)
from cxlab.automate.tables import OUTBOX, PENDING, STATUSES

KEY = ("flow", "customer_id", "trigger_key")
DECIDED = ("queued", "held_out", "suppressed")
"""Statuses a planned row may be recorded with; the others are reached only through delivery."""
REQUIRED = (*KEY, "trigger_ts", "channel", "due", "status")
DELIVERY_STATE = ("tries", "next_try", "last_error", "sent_at", "provider_id")
"""Columns only delivery writes; :meth:`Outbox.record` ignores them in its input."""
MAX_BACKOFF = timedelta(days=1)
IN_DOUBT_ERROR = "interrupted between the send and its record: not sent again"
PAUSE_AFTER = 5
"""Transient errors in a row after which a channel's remaining messages wait for the next run."""
MAX_ERRORS = 20
"""Distinct error lines a :class:`DeliveryReport` keeps (the outbox keeps every row's own)."""

Compose = Callable[["OutboxRow", Contact], Message]
OnSent = Callable[[duckdb.DuckDBPyConnection, "OutboxRow", Message], None]


def utc_naive(ts: datetime) -> datetime:
    """``ts`` as a naive UTC datetime (the store's TIMESTAMP columns are UTC); naive input is taken as UTC."""
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def _naive(v: Any) -> datetime | None:
    """A stored timestamp (pandas ``Timestamp``/``NaT`` or ``datetime``) as a naive datetime or None."""
    if v is None or v is pd.NaT or (isinstance(v, float) and v != v):
        return None
    return pd.Timestamp(v).to_pydatetime() if isinstance(v, pd.Timestamp) else v


def _text(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)


@dataclass(frozen=True)
class OutboxRow:
    """One outbox row as delivery sees it (what ``compose`` and ``on_sent`` receive)."""

    flow: str
    customer_id: str
    trigger_key: str
    trigger_ts: datetime
    channel: str
    variant: str
    language: str | None
    due: datetime
    status: str
    tries: int = 0
    next_try: datetime | None = None
    order_id: str | None = None
    """The trigger's order, when the outbox table has an ``order_id`` column (None otherwise)."""
    sent_at: datetime | None = None
    """Set on the row ``on_sent`` receives: the time the send was recorded (naive UTC)."""
    provider_id: str | None = None

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> OutboxRow:
        return cls(
            flow=str(rec["flow"]),
            customer_id=str(rec["customer_id"]),
            trigger_key=str(rec["trigger_key"]),
            trigger_ts=_naive(rec["trigger_ts"]),  # type: ignore[arg-type]
            channel=str(rec["channel"]),
            variant=str(rec["variant"]),
            language=_text(rec.get("language")),
            due=_naive(rec["due"]),  # type: ignore[arg-type]
            status=str(rec["status"]),
            tries=int(rec.get("tries") or 0),
            next_try=_naive(rec.get("next_try")),
            order_id=_text(rec.get("order_id")),
            sent_at=_naive(rec.get("sent_at")),
            provider_id=_text(rec.get("provider_id")),
        )

    @property
    def key(self) -> str:
        """The same key as :attr:`Message.key`."""
        return f"{self.flow}/{self.customer_id}/{self.trigger_key}"

    def __getitem__(self, name: str) -> Any:
        """``row["flow"]``: mapping-style access for callers written against a record."""
        if name not in {f.name for f in fields(self)}:
            raise KeyError(name)
        return getattr(self, name)


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    retried: int = 0
    gave_up: int = 0
    suppressed: int = 0
    in_doubt: int = 0
    """Messages of this run that may have left without a definite answer, or whose record failed (never
    re-sent)."""
    in_doubt_recovered: int = 0
    """Rows left ``sending`` by an interrupted earlier run, now ``in_doubt``."""
    skipped: int = 0
    """Due rows left queued because their channel has no adapter."""
    claimed_elsewhere: int = 0
    deferred: int = 0
    """Due rows left for the next run because their channel's receiver kept failing (see ``paused``)."""
    paused: list[str] = field(default_factory=list)
    """Channels paused this run after :data:`PAUSE_AFTER` transient errors in a row."""
    no_adapter: list[str] = field(default_factory=list)
    """Channels with due messages but no ``[automate.delivery.<channel>]`` adapter."""
    errors: list[str] = field(default_factory=list)
    """Distinct errors of this run (at most :data:`MAX_ERRORS`), each with its count."""
    sent_by_flow: dict[str, int] = field(default_factory=dict)
    _error_counts: dict[str, int] = field(default_factory=dict, repr=False)

    def _error(self, text: str) -> None:
        if text in self._error_counts or len(self._error_counts) < MAX_ERRORS:
            self._error_counts[text] = self._error_counts.get(text, 0) + 1
        self.errors = [f"{e} (×{n})" if n > 1 else e for e, n in self._error_counts.items()]

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.gave_up + self.suppressed + self.in_doubt

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome with its count."""
        names = (
            "sent",
            "retried",
            "gave_up",
            "suppressed",
            "in_doubt",
            "in_doubt_recovered",
            "skipped",
            "deferred",
        )
        return pd.DataFrame({"outcome": list(names), "messages": [int(getattr(self, n)) for n in names]})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_error_counts")
        return d

    def summary(self) -> str:
        by_flow = ", ".join(f"{f} {n}" for f, n in sorted(self.sent_by_flow.items()))
        parts = [
            f"Sent {self.sent} message{'s' if self.sent != 1 else ''}" + (f" ({by_flow})" if by_flow else "")
        ]
        if self.retried:
            parts.append(f"{self.retried} to retry after a transient error")
        if self.gave_up:
            parts.append(f"{self.gave_up} given up")
        if self.suppressed:
            parts.append(f"{self.suppressed} suppressed at send time")
        if self.in_doubt or self.in_doubt_recovered:
            parts.append(
                f"{self.in_doubt + self.in_doubt_recovered} in doubt (may have left unconfirmed: never sent again)"
            )
        if self.skipped:
            parts.append(
                f"{self.skipped} left queued: no adapter for {', '.join(self.no_adapter)} "
                f"(add [automate.delivery.{self.no_adapter[0]}])"
            )
        if self.deferred:
            parts.append(
                f"{self.deferred} left for the next run: {', '.join(self.paused)} kept failing "
                "(transient errors in a row)"
            )
        text = "; ".join(parts) + "."
        if self.errors:
            text += " Errors: " + "; ".join(self.errors[:3]) + ("; …" if len(self.errors) > 3 else "") + "."
        return text


def backoff(tries: int, retry_after: timedelta) -> timedelta:
    """Delay before the next try after ``tries`` tries: ``retry_after · 2^(tries-1)``, at most a day."""
    if tries > 40:  # 2^40 minutes is far past the cap; avoids an overflow for absurd try counts
        return MAX_BACKOFF
    return min(retry_after * (2 ** max(tries - 1, 0)), MAX_BACKOFF)


def _where_key(row: OutboxRow) -> str:
    """SQL matching ``row`` by its key, and by its ``due`` (never changed after the plan): the engine then
    skips the blocks of the ever-growing outbox whose ``due`` range can't hold it, instead of scanning all."""
    return " AND ".join(f"{k} = ?" for k in (*KEY, "due"))


def _key(row: OutboxRow) -> list[Any]:
    return [row.flow, row.customer_id, row.trigger_key, row.due]


class Outbox:
    """The outbox table on a store's writable connection (``Store.con``)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def _columns(self) -> list[str]:
        return [
            r[0]
            for r in self.con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [OUTBOX],
            ).fetchall()
        ]

    # -- planning side -------------------------------------------------------------------------------------

    def record(
        self, rows: pd.DataFrame | pa.Table, now: datetime, *, in_transaction: bool = False
    ) -> dict[str, int]:
        """Insert planned rows; a row whose key is already stored (or repeats in ``rows``) is skipped.

        ``rows`` has the key, ``trigger_ts``, ``channel``, ``due``, ``status`` (queued, held_out or suppressed)
        and optionally ``variant`` (None → ``''``: never assigned to an arm), ``language``, ``reason``,
        ``decided`` (default ``now``) and any other column the outbox table has; other columns are ignored.
        ``in_transaction``: the caller has a transaction open and commits it (with its exposures); otherwise
        the insert commits on its own. Returns ``{"recorded": n, "duplicates": n}``."""
        table = _as_arrow(rows)
        missing = [c for c in REQUIRED if c not in table.column_names]
        if missing:
            raise ValueError(f"outbox rows lack column(s) {', '.join(missing)}")
        if table.num_rows == 0:
            return {"recorded": 0, "duplicates": 0}
        bad = sorted({s for s in table.column("status").to_pylist() if s not in DECIDED}, key=str)
        if bad:
            raise ValueError(
                f"outbox rows: status {bad} can't be planned (expected one of {', '.join(DECIDED)})"
            )
        for c in KEY:
            if table.column(c).null_count:
                raise ValueError(f"outbox rows: {c} is empty in {table.column(c).null_count} row(s)")
        stored = self._columns()
        given = set(table.column_names)
        cols = [c for c in stored if c not in DELIVERY_STATE and (c in given or c in ("decided", "variant"))]
        exprs = {c: f"src.{c}" for c in cols if c in given}
        exprs["decided"] = "coalesce(src.decided, ?)" if "decided" in given else "?"
        exprs["variant"] = "coalesce(src.variant, '')" if "variant" in given else "''"
        select = ", ".join(f"{exprs[c]} AS {c}" for c in cols)
        on = " AND ".join(f"o.{k} = src.{k}" for k in KEY)
        view = "__cxlab_outbox_new"
        sql = (
            f"INSERT INTO {OUTBOX} ({', '.join(cols)}) SELECT {select} FROM {view} AS src "
            f"WHERE NOT EXISTS (SELECT 1 FROM {OUTBOX} o WHERE {on}) "
            f"QUALIFY row_number() OVER (PARTITION BY {', '.join('src.' + k for k in KEY)}) = 1"
        )
        self.con.register(view, table)
        try:
            if not in_transaction:
                self.con.begin()
            try:
                (n,) = self.con.execute(sql, [utc_naive(now)]).fetchone() or (0,)
                if not in_transaction:
                    self.con.commit()
            except BaseException:
                if not in_transaction:
                    self.con.rollback()
                raise
        finally:
            self.con.unregister(view)
        return {"recorded": int(n), "duplicates": table.num_rows - int(n)}

    # -- delivery side -------------------------------------------------------------------------------------

    def recover(self, now: datetime) -> int:
        """Rows left ``sending`` (a run interrupted between a claim and its record) → ``in_doubt``; returns
        how many. Call at the start of every delivery run, while no other delivery runs on this store
        (``now`` is accepted for a uniform call shape; the row keeps its claim's ``tries``)."""
        rows = self.con.execute(
            f"UPDATE {OUTBOX} SET status = 'in_doubt', last_error = ?, next_try = NULL "
            "WHERE status = 'sending' RETURNING 1",
            [IN_DOUBT_ERROR],
        ).fetchall()
        return len(rows)

    @overload
    def due(
        self, now: datetime, limit: int | None = None, *, channels: Sequence[str] | None = None
    ) -> pd.DataFrame: ...

    @overload
    def due(
        self, now: datetime, limit: None = None, *, channels: None = None, count_only: Literal[True]
    ) -> dict[str, int]: ...

    def due(
        self,
        now: datetime,
        limit: int | None = None,
        *,
        channels: Sequence[str] | None = None,
        count_only: bool = False,
    ) -> pd.DataFrame | dict[str, int]:
        """``queued`` rows whose ``due`` and ``retry`` rows whose ``next_try`` has come, oldest first; only
        those of ``channels`` when given. ``count_only``: how many per channel instead."""
        at = "CASE WHEN status = 'retry' THEN next_try ELSE due END"
        where = f"status IN ('queued', 'retry') AND {at} <= ?"
        params: list[Any] = [utc_naive(now)]
        if count_only:
            got = self.con.execute(
                f"SELECT channel, count(*) FROM {OUTBOX} WHERE {where} GROUP BY channel ORDER BY channel",
                params,
            ).fetchall()
            return {str(c): int(n) for c, n in got}
        if channels is not None:
            where += " AND list_contains(?, channel)"
            params.append(list(channels))
        sql = f"SELECT * FROM {OUTBOX} WHERE {where} ORDER BY {at}, {', '.join(KEY)}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return self.con.execute(sql, params).df()

    def deliver(
        self,
        adapters: Mapping[str, Adapter],
        compose: Compose,
        contacts: ContactBook,
        now_fn: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        max_tries: int,
        retry_after: timedelta,
        limit: int | None = None,
        on_sent: OnSent | None = None,
        recover: bool = True,
        pause_after: int = PAUSE_AFTER,
    ) -> DeliveryReport:
        """Send every due message once (see the module docstring); never raises for one bad message.

        ``adapters``: channel → adapter (a channel without one leaves its rows queued). ``compose(row,
        contact)`` builds the message (raise :class:`Suppressed` to drop it). ``on_sent(cursor, row,
        message)`` runs inside the transaction that records the send (e.g. to insert the message event).
        ``recover``: first turn rows left ``sending`` into ``in_doubt`` (only one delivery may run per store;
        pass False when the caller has just recovered). ``pause_after``: after that many transient errors in a
        row on one channel (the receiver is down), its other messages wait for the next run untouched, instead
        of each waiting out a timeout and spending a try. Works on its own cursor of the connection, so it can
        run in a thread beside the server's other work."""
        report = DeliveryReport()
        cur = self.con.cursor()
        run = _Run(cur, compose, contacts, now_fn, max_tries, retry_after, on_sent, report)
        try:
            if recover:
                report.in_doubt_recovered = Outbox(cur).recover(now_fn())
            at = utc_naive(now_fn())
            waiting = Outbox(cur).due(at, channels=None, count_only=True)
            for channel, n in waiting.items():
                if channel not in adapters:
                    report.skipped += n
                    report.no_adapter.append(channel)
            due = Outbox(cur).due(at, limit, channels=[c for c in waiting if c in adapters])
            failures_in_row: dict[str, int] = {}
            for rec in due.to_dict("records"):
                row = OutboxRow.from_record({str(k): v for k, v in rec.items()})
                if failures_in_row.get(row.channel, 0) >= pause_after:
                    report.deferred += 1
                    continue
                outcome = run.one(row, adapters[row.channel])
                if outcome in ("transient", "in_doubt"):  # no answer either way: the receiver is struggling
                    failures_in_row[row.channel] = failures_in_row.get(row.channel, 0) + 1
                    if failures_in_row[row.channel] == pause_after:
                        report.paused.append(row.channel)
                elif outcome in ("sent", "permanent"):  # the receiver answered
                    failures_in_row[row.channel] = 0
        finally:
            cur.close()
        return report

    def counts(self, flow: str | None = None) -> pd.DataFrame:
        """Messages per flow and status: one row per flow, one column per status (zeros included), plus
        ``total``."""
        where, params = ("WHERE flow = ?", [flow]) if flow is not None else ("", [])
        long = self.con.execute(
            f"SELECT flow, status, count(*) AS n FROM {OUTBOX} {where} GROUP BY ALL ORDER BY ALL", params
        ).df()
        wide = (
            long.pivot_table(index="flow", columns="status", values="n", aggfunc="sum", fill_value=0)
            if len(long)
            else pd.DataFrame(index=pd.Index([], name="flow"))
        )
        wide = wide.reindex(columns=list(STATUSES), fill_value=0).astype("int64")
        wide["total"] = wide.sum(axis=1).astype("int64")
        wide.columns.name = None
        return wide.reset_index()


@dataclass
class _Run:
    """One delivery run's settings and report; :meth:`one` delivers one due row."""

    cur: duckdb.DuckDBPyConnection
    compose: Compose
    contacts: ContactBook
    now_fn: Callable[[], datetime]
    max_tries: int
    retry_after: timedelta
    on_sent: OnSent | None
    report: DeliveryReport

    def one(self, row: OutboxRow, adapter: Adapter) -> str:
        """Deliver ``row``; its outcome: sent, transient, permanent (the adapter answered no), in_doubt (it
        may have left: never sent again), or settled (given up, suppressed or skipped before the adapter was
        called)."""
        cur, report = self.cur, self.report
        contact = self.contacts.get(row.customer_id)
        missing = self.contacts.missing(row.channel, contact)
        if missing:
            if _settle(cur, row, "gave_up", last_error=missing, pending=True):
                report.gave_up += 1
                report._error(missing)
            return "settled"
        assert contact is not None
        try:
            message = self.compose(row, contact)
            if message.key != row.key:
                raise ValueError(f"compose returned message {message.key!r} for outbox row {row.key!r}")
        except Suppressed as e:
            if _settle(cur, row, "suppressed", reason=e.reason, pending=True):
                report.suppressed += 1
            return "settled"
        except Exception as e:  # a template or lookup failure: retried like a transient error
            tries = _bump(cur, row)
            if tries is not None:
                self.failed(row, tries, f"compose failed: {_describe(e)}", permanent=False)
            return "settled"
        tries = _claim(cur, row)
        if tries is None:
            report.claimed_elsewhere += 1
            return "settled"
        try:
            provider_id = adapter.send(message, contact)
        except PermanentError as e:
            self.failed(row, tries, _describe(e), permanent=True)
            return "permanent"
        except InDoubt as e:  # it may have left: never sent again (at most once)
            error = _describe(e)
            report._error(error)
            if _settle(cur, row, "in_doubt", last_error=error, pending=False):
                report.in_doubt += 1
            return "in_doubt"
        except Exception as e:  # TransientError, and anything unexpected, counts as transient
            self.failed(row, tries, _describe(e), permanent=False)
            return "transient"
        self.record_sent(row, tries, provider_id, message)
        return "sent"

    def record_sent(self, row: OutboxRow, tries: int, provider_id: object, message: Message) -> None:
        """Mark ``row`` sent and run ``on_sent`` in one transaction; on failure it becomes ``in_doubt``."""
        cur, report = self.cur, self.report
        sent = replace(
            row,
            status="sent",
            tries=tries,
            sent_at=utc_naive(self.now_fn()),
            provider_id=str(provider_id) if provider_id is not None else None,
        )
        try:
            cur.begin()
            marked = cur.execute(
                f"UPDATE {OUTBOX} SET status = 'sent', sent_at = ?, provider_id = ?, last_error = NULL, "
                f"next_try = NULL WHERE {_where_key(row)} AND status = 'sending' RETURNING 1",
                [sent.sent_at, sent.provider_id, *_key(row)],
            ).fetchall()
            if not marked:  # a recover() ran meanwhile and made it in_doubt: leave it so
                cur.rollback()
                report.in_doubt += 1
                return
            if self.on_sent is not None:
                self.on_sent(cur, sent, message)
            cur.commit()
        except Exception as e:  # sent, but not recorded: never send it again
            _rollback(cur)
            error = f"sent, but its record failed: {_describe(e)}; not sent again"
            if _settle(cur, row, "in_doubt", last_error=error, pending=False):
                report.in_doubt += 1
            report._error(error)
            return
        report.sent += 1
        report.sent_by_flow[row.flow] = report.sent_by_flow.get(row.flow, 0) + 1

    def failed(self, row: OutboxRow, tries: int, error: str, *, permanent: bool) -> None:
        """Record a failed try: a retry after :func:`backoff`, or give up (permanent, or the last try)."""
        self.report._error(error)
        if permanent or tries >= self.max_tries:
            why = error if permanent else f"{error} (gave up after {tries} tries)"
            if _settle(self.cur, row, "gave_up", last_error=why, pending=False):
                self.report.gave_up += 1
            return
        next_try = utc_naive(self.now_fn()) + backoff(tries, self.retry_after)
        if _settle(self.cur, row, "retry", last_error=error, pending=False, next_try=next_try):
            self.report.retried += 1


def _as_arrow(rows: pd.DataFrame | pa.Table) -> pa.Table:
    """``rows`` as Arrow with time-zone-aware timestamps as naive UTC (the outbox's TIMESTAMP columns)."""
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(rows, preserve_index=False)
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp(f.type.unit)))
    return table


def _describe(e: BaseException) -> str:
    """One line for ``last_error``, logs and reports, with addresses and phone numbers removed (adapters keep
    contact data out of their errors; this also covers compose failures and unexpected errors)."""
    text = redact(str(e).strip().splitlines()[0][:300]) if str(e).strip() else ""
    return (
        text
        if isinstance(e, TransientError | PermanentError | InDoubt) and text
        else f"{type(e).__name__}: {text}".rstrip(": ")
    )


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # no transaction open (it failed to begin)
        cur.rollback()


def _claim(cur: duckdb.DuckDBPyConnection, row: OutboxRow) -> int | None:
    """Mark ``row`` ``sending`` (tries + 1) if it is still pending, committed; its tries, or None if another
    run claimed it first."""
    got = cur.execute(
        f"UPDATE {OUTBOX} SET status = 'sending', tries = tries + 1 "
        f"WHERE {_where_key(row)} AND status IN {PENDING} RETURNING tries",
        _key(row),
    ).fetchall()
    return int(got[0][0]) if got else None


def _bump(cur: duckdb.DuckDBPyConnection, row: OutboxRow) -> int | None:
    """Count a failed try that never reached the adapter (compose failed): tries + 1, status unchanged."""
    got = cur.execute(
        f"UPDATE {OUTBOX} SET tries = tries + 1 WHERE {_where_key(row)} AND status IN {PENDING} RETURNING tries",
        _key(row),
    ).fetchall()
    return int(got[0][0]) if got else None


def _settle(
    cur: duckdb.DuckDBPyConnection,
    row: OutboxRow,
    status: str,
    *,
    pending: bool,
    last_error: str | None = None,
    reason: str | None = None,
    next_try: datetime | None = None,
) -> bool:
    """Set a final or retry status on ``row`` (auto-committed): from a pending status when ``pending``, else
    from the ``sending`` claim this run holds (or the pending status a compose failure leaves). Whether it
    changed (False: another run got there first)."""
    assert status in STATUSES
    allowed = PENDING if pending else ("sending", *PENDING)
    got = cur.execute(
        f"UPDATE {OUTBOX} SET status = ?, last_error = coalesce(?, last_error), reason = coalesce(?, reason), "
        f"next_try = ? WHERE {_where_key(row)} AND status IN {allowed} RETURNING 1",
        [status, last_error, reason, next_try, *_key(row)],
    ).fetchall()
    return bool(got)
