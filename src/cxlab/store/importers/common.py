"""What every importer shares: the result type, the error type and small SQL helpers.

Importers read a shop's own export with DuckDB SQL (no row loops in Python) and return Arrow tables that
conform exactly to the canonical schemas in :mod:`cxlab.schema`.  Bad input raises :class:`ImporterError`
whose message names the file, the row and the field; nothing is returned half-converted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from cxlab.privacy.keys import hmac_sql, keyed
from cxlab.schema import TABLES
from cxlab.schema.checks import show_value, sql_literal
from cxlab.schema.tables import quote_ident

MAX_ERRORS = 20
"""Row errors listed in one :class:`ImporterError` message; the rest are counted."""

__all__ = [
    "MAX_ERRORS",
    "ImportResult",
    "ImporterError",
    "RowProblem",
    "connection",
    "derived_id",
    "derived_id_sql",
    "format_problems",
    "quote_ident",
    "sql_list",
    "sql_literal",
    "to_canonical",
]


class ImporterError(ValueError):
    """Input an importer can't convert: the message names the file and, for bad values, row and field."""


@dataclass
class ImportResult:
    """Canonical tables converted from one import, and notes about what was assumed or left out.

    ``tables`` maps a canonical table name (``orders``, ``customers``, ``events``) to an Arrow table with
    exactly that table's :attr:`~cxlab.schema.TableSpec.arrow_schema`.
    """

    tables: dict[str, pa.Table]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RowProblem:
    """One bad value: where it is and what is wrong with it."""

    row: int
    field: str
    problem: str
    value: object = None
    show: bool = True
    """Whether the value may appear in the message (never for contact details)."""
    file: str | None = None
    """The file, when an import reads several."""

    def message(self, file: str) -> str:
        """``file:row: field: problem: value`` (this problem's own file, when it has one)."""
        shown = f": {show_value(self.value)}" if self.show and self.value is not None else ""
        return f"{self.file or file}:{self.row}: {self.field}: {self.problem}{shown}"


def format_problems(what: str, problems: Sequence[RowProblem], total: int) -> str:
    """One message: ``what`` and the count, then up to :data:`MAX_ERRORS` problems, one a line."""
    head = f"{what}: {total} bad value{'s' if total != 1 else ''}"
    lines = [p.message(what) for p in problems[:MAX_ERRORS]]
    more = total - len(lines)
    tail = [f"... and {more} more"] if more > 0 else []
    return "\n".join([head, *(f"  {line}" for line in lines), *tail])


@contextmanager
def connection(con: duckdb.DuckDBPyConnection | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private connection for one import: a cursor of ``con`` (own temp tables) or a new in-memory DB."""
    cur = con.cursor() if con is not None else duckdb.connect()
    try:
        yield cur
    finally:
        cur.close()


def to_canonical(rel: duckdb.DuckDBPyRelation, table: str) -> pa.Table:
    """Fetch ``rel`` as Arrow, columns in canonical order, cast to the canonical schema of ``table``."""
    schema = TABLES[table].arrow_schema
    fetch = rel.to_arrow_table if hasattr(rel, "to_arrow_table") else rel.fetch_arrow_table  # duckdb < 1.5
    got = fetch()
    missing = [n for n in schema.names if n not in got.column_names]
    if missing:  # a programming error, not bad input
        raise RuntimeError(f"{table}: query lacks columns {missing}")
    got = got.select(schema.names)
    for f in schema:
        if not f.nullable and got.column(f.name).null_count:
            raise RuntimeError(f"{table}.{f.name}: null in a required column")
    return got.cast(schema)


def derived_id_sql(secret: bytes, prefix: str, email_expr: str) -> str:
    """SQL of the customer id derived from a normalised e-mail: ``prefix`` + 16 hex digits of the keyed hash
    of the id used before keyed hashing (``prefix`` + 16 hex digits of its SHA-256), so that a store made
    before can be re-keyed without the e-mails (:mod:`cxlab.privacy.migrate`)."""
    legacy = f"{sql_literal(prefix)} || left(sha256({email_expr}), 16)"
    return f"{sql_literal(prefix)} || left({hmac_sql(secret, legacy)}, 16)"


def derived_id(secret: bytes, legacy_id: str) -> str:
    """The keyed id of an id from before keyed hashing (``shopify_`` / ``email_`` + 16 hex digits)."""
    prefix = legacy_id[: legacy_id.index("_") + 1]
    return prefix + keyed(secret, legacy_id)[:16]


def sql_list(values: Iterable[str]) -> str:
    """``'a', 'b', ...`` for an ``IN (...)`` list."""
    return ", ".join(sql_literal(v) for v in values)
