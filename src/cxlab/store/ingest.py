"""Ingest a file or in-memory table into a canonical table of the DuckDB store.

One pass types and checks every row in the engine (see :mod:`cxlab.schema.checks`); then, in one
transaction, rows whose key is already stored are skipped and the rest inserted. A file with bad rows
stores nothing unless ``skip_bad`` is set, in which case its bad rows go to a rejects file. A failure
leaves the store as it was.

The ingest log (``_cxlab_ingests``) and the data must agree also when the process is killed while DuckDB
commits. DuckDB does not guarantee that: killed at the instant of commit, a large insert (written to the
file ahead of the commit) can come back on reopen without the log row of the same transaction. So the
log row is committed first, as ``pending`` with the table's row count before the load; the load sets it
to ``done`` in its own transaction. :func:`reconcile_ingests` (run whenever the store is opened for
writing) settles any ``pending`` row left by a killed process: the table has more rows than before →
``recovered`` with the rows that arrived; as many → ``interrupted``, nothing stored.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from cxlab.config import Config
from cxlab.privacy.keys import hmac_sql
from cxlab.privacy.scrub import scrub_json_sql
from cxlab.privacy.tables import TOMBSTONES
from cxlab.schema.checks import (
    RAW_PREFIX,
    Check,
    checked_select,
    show_value,
    sql_literal,
    table_checks,
    typed_select,
)
from cxlab.schema.tables import TABLES, TableSpec, quote_ident, table_spec
from cxlab.spreadsheet import safe_text_sql
from cxlab.store.sources import Source, SourceError, open_source

ProgressCallback = Callable[[str, float], None]
"""Called with (phase, percent done) while a long statement runs."""

DUPLICATE = "duplicate"


@dataclass(frozen=True)
class RowError:
    """One problem in one row: ``file:row: field: message``."""

    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        if self.row == 0:  # about the input as a whole
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.row}: {self.field}: {self.message}"


@dataclass
class IngestReport:
    """What happened to one input."""

    file: str
    table: str
    rows_read: int = 0
    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    erased: int = 0
    """Rows of erased customers (their keyed id or contact key has a tombstone): refused, not stored."""
    rejects_file: str | None = None
    encoding: str | None = None
    """The encoding a text file was read in (None for Parquet and in-memory tables)."""
    errors: list[RowError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["errors"] = [str(e) for e in self.errors]
        return d


class IngestError(ValueError):
    """An input that was refused; nothing from it was stored."""

    def __init__(self, report: IngestReport, errors: list[RowError]):
        self.report = report
        self.errors = errors
        more = report.rejected - len(errors[:1])
        tail = f" (and {more} more bad row{'s' if more != 1 else ''})" if more > 0 else ""
        super().__init__(f"{errors[0]}{tail}" if errors else f"{report.file}: refused")


def file_error(file: str, row: int, fld: str, message: str, table: str) -> IngestError:
    """An error about the input as a whole (a column, the format)."""
    err = RowError(file, row, fld, message)
    return IngestError(IngestReport(file=file, table=table, errors=[err]), [err])


def ingest(
    con: duckdb.DuckDBPyConnection,
    table: str,
    data: Any,
    config: Config,
    *,
    skip_bad: bool = False,
    rejects_path: str | Path | None = None,
    error_limit: int = 100,
    name: str | None = None,
    progress: ProgressCallback | None = None,
    dry_run: bool = False,
    encoding: str | None = None,
    date_format: str | None = None,
    secret: bytes | None = None,
) -> IngestReport:
    """Load ``data`` (a path or an Arrow/pandas/Polars table) into canonical table ``table``.

    With ``dry_run`` everything is checked and counted as for a real load, then rolled back.
    ``encoding`` of a text file: None detects it (see :mod:`cxlab.store.encoding`). ``date_format``: a
    strptime format (``%m/%d/%Y %H:%M``) tried before ISO 8601 for text timestamps and dates.
    ``secret``: the store's secret (see :mod:`cxlab.privacy.keys`), needed once the store has erased
    customers, whose rows are then refused and counted as ``erased``.

    JSON properties are scrubbed of personal data (:mod:`cxlab.privacy.scrub`); ``customers`` rows with
    consent flags append to the ``consent`` ledger where they change a customer's current state.

    Returns the counts; raises :class:`IngestError` (nothing stored) when the input has bad rows and
    ``skip_bad`` is false, or when the input as a whole is unusable (unknown or missing columns).
    """
    spec = table_spec(table)
    label = name or (str(data) if isinstance(data, str | Path) else "<data>")
    if date_format is not None:
        _check_date_format(con, date_format, label, table)
    try:
        with open_source(con, data, label, encoding=encoding) as src:
            return _ingest_source(
                con,
                spec,
                src,
                config,
                skip_bad,
                rejects_path,
                error_limit,
                progress,
                dry_run,
                date_format,
                _erased_sql(con, spec, secret, label),
            )
    except SourceError as e:
        raise file_error(label, 0, "(file)", str(e).removeprefix(f"{label}: "), table) from e


def _check_date_format(con: duckdb.DuckDBPyConnection, date_format: str, file: str, table: str) -> None:
    try:
        con.execute(f"SELECT try_strptime('', {sql_literal(date_format)})").fetchall()
    except duckdb.Error as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise file_error(file, 0, "(file)", f"invalid --date-format {date_format!r}: {reason}", table) from e


def column_problem(spec: TableSpec, names: Iterable[str]) -> tuple[str, str] | None:
    """(field, message) about an input's columns ``names`` (in input order): unknown or missing required."""
    present = list(names)
    unknown = [c for c in present if c not in spec.column_names]
    if unknown:
        return unknown[0], (
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(show_value, unknown))} "
            f"({spec.name} columns are: {', '.join(spec.column_names)})"
        )
    missing = [c.name for c in spec.columns if c.required and c.name not in present]
    if missing:
        return missing[0], f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
    return None


def _check_columns(spec: TableSpec, src: Source) -> None:
    problem = column_problem(spec, src.types)
    if problem is not None:
        raise file_error(src.name, src.header_row, problem[0], problem[1], spec.name)


def _checks(spec: TableSpec, src: Source, config: Config, date_format: str | None) -> list[Check]:
    """The row checks of ``spec`` for ``src`` (types, required values, enums, ranges, rules)."""
    return table_checks(spec, src.types, {"channels": config.enum_values("channels")}, date_format)


def stage_checked(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, src: Source, config: Config, error_limit: int
) -> list[RowError]:
    """Type and check every row of ``src`` into temp table ``__stage`` (rowid = 0-based record index,
    ``_err`` = 0 for a good row), as ``cxlab ingest`` does; returns the errors of bad and dropped rows in row
    order, with the same messages. Repeated keys are not errors here (the collector counts them as duplicates).
    Raises :class:`IngestError` for unknown or missing columns."""
    _check_columns(spec, src)
    checks = _checks(spec, src, config, None)
    _stage(con, checked_select(spec, src.sql, src.types, checks), None)
    src.scanned()
    (n_bad,) = con.execute("SELECT count(*) FROM __stage WHERE _err <> 0").fetchone() or (0,)
    return _errors(con, src, checks, error_limit) if n_bad or src.dropped else []


def _ingest_source(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    src: Source,
    config: Config,
    skip_bad: bool,
    rejects_path: str | Path | None,
    error_limit: int,
    progress: ProgressCallback | None,
    dry_run: bool,
    date_format: str | None,
    erased_sql: str | None,
) -> IngestReport:
    _check_columns(spec, src)
    checks = [
        *_checks(spec, src, config, date_format),
        Check(",".join(spec.key), DUPLICATE, "FALSE", "duplicate key {value} within the file"),
    ]
    report = IngestReport(file=src.name, table=spec.name, encoding=src.encoding)
    # Clean inputs (the common case) are read twice: once to check and count, once to insert, which is
    # cheaper than materialising them. Only an input with problems is staged, to find and number its rows.
    checked = checked_select(spec, src.sql, src.types, checks[:-1], date_format)
    with _watch(con, "checking", progress):
        n, n_bad, n_keys = _tally(con, spec, f"({checked})")
    src.scanned()
    rows = f"({typed_select(spec, src.sql, src.types, date_format)})"
    if n_bad or n_keys != n or src.dropped:
        rows = _stage(con, checked, progress)
    if n_keys != n:
        _mark_duplicates(con, spec, src, 1 << (len(checks) - 1))
        n, n_bad, n_keys = _tally(con, spec, rows)
    report.rows_read = n + len(src.dropped)
    report.rejected = n_bad + len(src.dropped)
    try:
        if report.rejected:
            report.errors = _errors(con, src, checks, error_limit)
            if not skip_bad:
                raise IngestError(report, report.errors)
        log_id = None if dry_run else _log_pending(con, spec, report)
        con.execute("BEGIN TRANSACTION")
        committed = False
        try:
            if erased_sql is not None:
                report.erased = _count_erased(con, rows, erased_sql)
            report.stored = _insert(con, spec, rows, config, erased_sql, progress)
            report.duplicate = report.rows_read - report.rejected - report.stored - report.erased
            if spec.name == "customers":
                _feed_consent(con, rows, erased_sql)
            if log_id is None:  # dry run: counted, rolled back
                return report
            if report.rejected:
                report.rejects_file = str(_write_rejects(con, spec, src, checks, rejects_path))
            con.execute(
                "UPDATE _cxlab_ingests SET status = 'done', stored = ?, duplicate = ? WHERE id = ?",
                [report.stored, report.duplicate, log_id],
            )
            con.execute("COMMIT")
            committed = True
        finally:
            if not committed:
                # Don't let a store that broke mid-load hide why: a pending row left behind is settled
                # (as interrupted) when the store is next opened for writing.
                with suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                    if log_id is not None:
                        con.execute("DELETE FROM _cxlab_ingests WHERE id = ?", [log_id])
    finally:
        con.execute("DROP TABLE IF EXISTS __stage")
    return report


def _good(rows: str, erased_sql: str | None) -> str:
    """``WHERE`` clause of the rows to store: checked good, not of an erased customer."""
    conds = (["s._err = 0"] if rows == "__stage" else []) + ([f"NOT {erased_sql}"] if erased_sql else [])
    return f" WHERE {' AND '.join(conds)}" if conds else ""


def _insert(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    rows: str,
    config: Config,
    erased_sql: str | None,
    progress: ProgressCallback | None,
    *,
    anti_join: bool = True,
) -> int:
    """Insert the good rows whose key is not stored yet, JSON properties scrubbed; returns how many.

    ``anti_join=False``: ``rows`` are known new (the collector found them so, as the store's one writer)."""
    target = quote_ident(spec.name)
    key_match = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in spec.key)
    cols = ", ".join(quote_ident(c) for c in spec.column_names)
    values = ", ".join(
        scrub_json_sql(
            f"s.{quote_ident(c.name)}", config.privacy.url_params, config.privacy.personal_properties
        )
        if c.json
        else f"s.{quote_ident(c.name)}"
        for c in spec.columns
    )
    with _watch(con, "storing", progress):
        row = con.execute(
            f"INSERT INTO {target} ({cols}) SELECT {values} "
            f"FROM {rows} s{f' ANTI JOIN {target} t ON {key_match}' if anti_join else ''}{_good(rows, erased_sql)}"
        ).fetchone()
    return int(row[0]) if row else 0


_TOMBSTONED = {"customer_id": "customer_id", "anonymous_id": "anonymous_id", "order_id": "order_id"}
"""Id columns whose keyed hash (``HMAC(secret, id)``) a tombstone of the same kind holds."""
_TOMBSTONED_KEYS = {"email_hash": "email", "phone_hash": "phone"}
"""Contact-key columns a tombstone holds as stored."""


def _erased_sql(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, secret: bytes | None, file: str
) -> str | None:
    """SQL true for a row ``s`` of an erased customer; None when the store has no tombstones (no cost)."""
    cols = [c for c in spec.column_names if c in _TOMBSTONED or c in _TOMBSTONED_KEYS]
    if not cols or not con.execute(f"SELECT 1 FROM {TOMBSTONES} LIMIT 1").fetchall():
        return None
    if secret is None and any(c in _TOMBSTONED for c in cols):
        raise file_error(
            file,
            0,
            "(file)",
            "the store has erased customers: its secret is needed to refuse them",
            spec.name,
        )
    conds = []
    for c in cols:
        kind = _TOMBSTONED.get(c) or _TOMBSTONED_KEYS[c]
        value = (
            hmac_sql(secret, f"s.{quote_ident(c)}") if c in _TOMBSTONED and secret else f"s.{quote_ident(c)}"
        )
        conds.append(f"{value} IN (SELECT key FROM {TOMBSTONES} WHERE kind = {sql_literal(kind)})")
    return f"coalesce({' OR '.join(conds)}, FALSE)"


def _count_erased(con: duckdb.DuckDBPyConnection, rows: str, erased_sql: str) -> int:
    good = " AND s._err = 0" if rows == "__stage" else ""
    (row,) = con.execute(f"SELECT count(*) FROM {rows} s WHERE {erased_sql}{good}").fetchall()
    return int(row[0])


CONSENT_SOURCE = "customers import"


def _feed_consent(con: duckdb.DuckDBPyConnection, rows: str, erased_sql: str | None) -> None:
    """Append ``consent`` ledger rows where an ingested customer's flag differs from their current state.

    A customer without a ledger entry for the channel gets one dated ``first_seen``; a change, now. A
    withdrawal recorded elsewhere (preference centre, collector, ``cxlab privacy consent``) is not granted
    again by a customers file, which may be older than it; the file can withdraw, and re-grant what it
    withdrew itself. On a tie in ``ts`` the withdrawal is the current state."""
    con.execute(f"""
        INSERT INTO consent (customer_id, channel, granted, ts, source)
        WITH n AS (
            SELECT s.customer_id, s.first_seen, unnest([
                {{'channel': 'email', 'granted': s.consent_email}},
                {{'channel': 'sms', 'granted': s.consent_sms}}], recursive := true)
            FROM {rows} s{_good(rows, erased_sql)}
        ), cur AS (
            SELECT customer_id, channel, arg_max({{'granted': granted, 'source': source}}, (ts, NOT granted)) AS last
            FROM consent GROUP BY ALL
        )
        SELECT n.customer_id, n.channel, n.granted,
            CASE WHEN cur.last IS NULL THEN coalesce(n.first_seen, now()::TIMESTAMP) ELSE now()::TIMESTAMP END,
            {sql_literal(CONSENT_SOURCE)}
        FROM n LEFT JOIN cur USING (customer_id, channel)
        WHERE n.granted IS NOT NULL AND cur.last.granted IS DISTINCT FROM n.granted
            AND NOT coalesce(n.granted AND NOT cur.last.granted
                             AND cur.last.source IS DISTINCT FROM {sql_literal(CONSENT_SOURCE)}, FALSE)""")


def _log_pending(con: duckdb.DuckDBPyConnection, spec: TableSpec, report: IngestReport) -> str:
    """Commit the log row of a load about to start, as ``pending``; returns its id."""
    log_id = str(uuid.uuid4())
    con.execute(
        'INSERT INTO _cxlab_ingests (ts, "table", file, rows_read, rejected, id, status, rows_before, pid) '
        f"SELECT now(), ?, ?, ?, ?, ?, 'pending', count(*), ? FROM {quote_ident(spec.name)}",
        [spec.name, report.file, report.rows_read, report.rejected, log_id, os.getpid()],
    )
    return log_id


def reconcile_ingests(con: duckdb.DuckDBPyConnection) -> None:
    """Settle the ``pending`` log rows of killed processes against the rows their tables now hold."""
    pending = con.execute(
        'SELECT id, "table", rows_before, rows_read, rejected FROM _cxlab_ingests '
        "WHERE status = 'pending' AND pid IS DISTINCT FROM ?",
        [os.getpid()],
    ).fetchall()
    for log_id, table, before, rows_read, rejected in pending:
        if table not in TABLES:
            continue
        (now,) = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall()[0]
        stored = int(now) - int(before)
        con.execute(
            "UPDATE _cxlab_ingests SET status = ?, stored = ?, duplicate = ? WHERE id = ?",
            [
                "recovered" if stored else "interrupted",
                stored,
                int(rows_read) - int(rejected) - stored if stored else 0,
                log_id,
            ],
        )


def _stage(con: duckdb.DuckDBPyConnection, select: str, progress: ProgressCallback | None) -> str:
    """Materialise the typed, checked rows as temp table ``__stage`` (rowid = 0-based record index).

    Done outside the store's transaction, so that rowids start at 0; it is only a temp table."""
    with _watch(con, "finding bad rows", progress):
        con.execute(f"CREATE OR REPLACE TEMP TABLE __stage AS {select}")
    return "__stage"


def _tally(con: duckdb.DuckDBPyConnection, spec: TableSpec, rows: str) -> tuple[int, int, int]:
    """(rows, bad rows, rows with a key seen for the first time) in one scan."""
    keys = ", ".join(quote_ident(k) for k in spec.key)
    distinct = f"({keys})" if len(spec.key) > 1 else keys
    not_null = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in spec.key)
    # fetchall, not fetchone: the CSV reader fills its reject table only when the query is finished.
    (row,) = con.execute(
        f"SELECT count(*), count(*) FILTER (_err <> 0), "
        f"count(DISTINCT {distinct}) FILTER ({not_null}) + count(*) FILTER (NOT ({not_null})) FROM {rows}"
    ).fetchall()
    return int(row[0]), int(row[1]), int(row[2])


def _mark_duplicates(con: duckdb.DuckDBPyConnection, spec: TableSpec, src: Source, bit: int) -> None:
    """Flag every repeat of a key already seen earlier in the same input."""
    keys = ", ".join(quote_ident(k) for k in spec.key)
    not_null = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in spec.key)
    key_text = " || '/' || ".join(f"CAST({quote_ident(k)} AS VARCHAR)" for k in spec.key)
    raws = "".join(
        f", {quote_ident(RAW_PREFIX + c.name)} = coalesce({quote_ident(RAW_PREFIX + c.name)}, "
        f"CAST({quote_ident(c.name)} AS VARCHAR))"
        for c in spec.columns
        if c.name in src.types
    )
    con.execute(
        f"ALTER TABLE __stage ADD COLUMN __dup_key VARCHAR; ALTER TABLE __stage ADD COLUMN __dup_first BIGINT; "
        f"UPDATE __stage SET _err = _err | {bit}, __dup_key = d.k, "
        f"__dup_first = {src.row_number_sql('d.first')}{raws} "
        f"FROM (SELECT rowid AS rid, {key_text} AS k, min(rowid) OVER (PARTITION BY {keys}) AS first "
        f"FROM __stage WHERE {not_null} QUALIFY rowid > first) d WHERE __stage.rowid = d.rid"
    )


def _errors(con: duckdb.DuckDBPyConnection, src: Source, checks: list[Check], limit: int) -> list[RowError]:
    """Decode the first ``limit`` failed checks into messages, with dropped rows, in row order."""
    errors = [RowError(src.name, d.row, d.field, d.message) for d in src.dropped]
    for i, ck in enumerate(checks):
        if ck.code == DUPLICATE:
            value = "__dup_key, __dup_first" if _has_column(con, "__stage", "__dup_key") else None
        else:
            value = quote_ident(RAW_PREFIX + ck.field) + ", NULL" if ck.field in src.types else "NULL, NULL"
        if value is None:
            continue
        rows = con.execute(
            f"SELECT rowid, {value} FROM __stage WHERE _err & {1 << i} <> 0 ORDER BY rowid LIMIT {limit}"
        ).fetchall()
        for rowid, raw, first in rows:
            message = ck.message.replace("{value}", show_value(raw))
            if first is not None:
                message += f" (first at row {first})"
            errors.append(RowError(src.name, src.row_number(int(rowid)), ck.field, message))
    errors.sort(key=lambda e: e.row)
    return errors[:limit]


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return any(r[0] == column for r in con.execute(f"DESCRIBE {table}").fetchall())


def _write_rejects(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    src: Source,
    checks: list[Check],
    path: str | Path | None,
) -> Path:
    """Write bad rows (their raw values and what is wrong) as CSV; returns its path."""
    out = Path(path) if path else _default_rejects_path(src.name, spec.name)
    present = [c for c in spec.columns if c.name in src.types]
    has_dup = _has_column(con, "__stage", "__dup_key")
    reasons = ", ".join(
        f"CASE WHEN _err & {1 << i} <> 0 THEN {_reason_sql(ck, src)} END"
        for i, ck in enumerate(checks)
        if ck.code != DUPLICATE or has_dup
    )
    raw_cols = ", ".join(f"{quote_ident(RAW_PREFIX + c.name)} AS {quote_ident(c.name)}" for c in present)
    dropped_sql = " UNION ALL ".join(
        f"SELECT {d.row} AS _row, {sql_literal(d.field + ': ' + d.message)} AS _errors, "
        f"{sql_literal(d.raw)} AS _raw_record" + "".join(f", NULL AS {quote_ident(c.name)}" for c in present)
        for d in src.dropped
    )
    staged = (
        f"SELECT {src.row_number_sql('rowid')} AS _row, concat_ws('; ', {reasons}) AS _errors, "
        f"NULL AS _raw_record{', ' if raw_cols else ''}{raw_cols} FROM __stage WHERE _err <> 0"
    )
    query = f"{staged} UNION ALL {dropped_sql}" if dropped_sql else staged
    # Customer text is written so that a spreadsheet shows it and never runs it as a formula.
    safe = ", ".join(
        f"{safe_text_sql(quote_ident(c))} AS {quote_ident(c)}"
        for c in ["_errors", "_raw_record", *(c.name for c in present)]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"COPY (SELECT _row, {safe} FROM ({query}) ORDER BY _row) TO {sql_literal(str(out))} (HEADER, DELIMITER ',')"
    )
    return out


def _reason_sql(ck: Check, src: Source) -> str:
    """SQL text of one failed check for the rejects file, with the offending value filled in."""
    if ck.code == DUPLICATE:
        return (
            f"{sql_literal(ck.field + ': duplicate key ')} || '''' || __dup_key || '''' || "
            f"' within the file (first at row ' || __dup_first || ')'"
        )
    value = (
        f"coalesce('''' || {quote_ident(RAW_PREFIX + ck.field)} || '''', 'null')"
        if ck.field in src.types
        else "'null'"
    )
    return f"replace({sql_literal(ck.field + ': ' + ck.message)}, '{{value}}', {value})"


def _default_rejects_path(name: str, table: str) -> Path:
    p = Path(name)
    base = p.name.split(".")[0] if p.name and not name.startswith("<") else table
    return (p.parent if not name.startswith("<") else Path.cwd()) / f"{base}.rejects.csv"


@contextmanager
def _watch(con: duckdb.DuckDBPyConnection, phase: str, progress: ProgressCallback | None) -> Iterator[None]:
    """Report DuckDB's progress on the running statement from a helper thread."""
    if progress is None:
        yield
        return
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            pct = con.query_progress()
            if pct >= 0:
                progress(phase, float(pct))

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()
        t.join()
        progress(phase, 100.0)
