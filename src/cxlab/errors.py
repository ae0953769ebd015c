"""Errors every analysis shares, so each shell (CLI, report, server) can tell "this store lacks what the
analysis needs" from a failure: the CLI exits 2 with the message, the report lists it under what could not
run, and the rest still runs."""

from __future__ import annotations

from collections.abc import Iterable

from ibis.backends import BaseBackend


class MissingData(ValueError):
    """The store lacks a table, a column or enough rows for an analysis; the message says what and how to
    get it (e.g. "needs orders: none stored; load them with `cxlab ingest orders FILE`")."""


def require_rows(con: BaseBackend, table: str, purpose: str, columns: Iterable[str] = ()) -> int:
    """Rows of ``table`` (non-null in every one of ``columns``); raises :class:`MissingData` when there are
    none. ``purpose`` names the analysis in the message, e.g. ``"RFM segments"``."""
    if table not in con.list_tables():
        raise MissingData(f"{purpose} needs {table}: this store has no {table} table")
    t = con.table(table)
    cols = list(columns)
    for c in cols:
        if c not in t.columns:
            raise MissingData(f"{purpose} needs {table}.{c}: the column is missing")
    if cols:
        t = t.filter([t[c].notnull() for c in cols])
    n = int(t.count().execute())
    if n == 0:
        what = f"{table} with {', '.join(cols)}" if cols else table
        raise MissingData(f"{purpose} needs {what}: none stored (load them with `cxlab ingest {table} FILE`)")
    return n
