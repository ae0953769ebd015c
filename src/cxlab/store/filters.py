"""The global filters (period, channel, country) every shell applies the same way: as temporary views named
like the canonical tables on one cursor, so any analysis run on that cursor sees only the filtered rows (the
server's read API and dashboard, and the report's key figures for a period)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from cxlab.schema.checks import sql_literal
from cxlab.schema.tables import quote_ident


@dataclass(frozen=True)
class Filters:
    """Global filters of the read API and the dashboard; ``end`` is inclusive (whole days, UTC)."""

    start: dt.date | None = None
    end: dt.date | None = None
    channel: str | None = None
    country: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.start, self.end, self.channel, self.country))

    def _time(self, col: str) -> list[str]:
        conds = []
        if self.start is not None:
            conds.append(f"{col} >= {sql_literal(self.start.isoformat())}::DATE")
        if self.end is not None:
            conds.append(f"{col} < {sql_literal(self.end.isoformat())}::DATE + 1")
        return conds

    def _of_country(self, db: str) -> list[str]:
        if self.country is None:
            return []
        return [
            f"customer_id IN (SELECT customer_id FROM {db}.main.customers "
            f"WHERE country = {sql_literal(self.country)})"
        ]

    def views(self, db: str) -> dict[str, str]:
        """Canonical table → the WHERE clause of its filtered view (only tables a filter touches)."""
        channel = [f"channel = {sql_literal(self.channel)}"] if self.channel is not None else []
        country = [f"country = {sql_literal(self.country)}"] if self.country is not None else []
        conds = {
            "events": [*self._time("ts"), *channel, *self._of_country(db)],
            "orders": [*self._time("ts"), *channel, *country],
            "feedback": [*self._time("ts"), *self._of_country(db)],
            "exposures": [*self._time("ts"), *self._of_country(db)],
            "customers": country,
            "spend": [*self._time("date"), *channel],
        }
        return {t: " AND ".join(c) for t, c in conds.items() if c}


def restrict(cur: duckdb.DuckDBPyConnection, filters: Filters, database: str) -> None:
    """Make the canonical tables of ``database`` seen through ``cur`` hold only the rows within ``filters``
    (temporary views of the same names; UTC)."""
    cur.execute("SET TimeZone = 'UTC'")
    db = quote_ident(database)
    for table, where in filters.views(db).items():
        cur.execute(
            f"CREATE OR REPLACE TEMP VIEW {quote_ident(table)} AS "
            f"SELECT * FROM {db}.main.{quote_ident(table)} WHERE {where}"
        )
