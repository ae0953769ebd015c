"""Open an input (CSV, JSON Lines, Parquet, optionally gzipped; or in-memory Arrow/pandas/Polars data)
as a DuckDB relation of raw columns, with the row numbering needed for error messages.

Text inputs (CSV, JSON Lines) that are not UTF-8 are transcoded first (see :mod:`cxlab.store.encoding`).
CSV is read as text with its header and dialect found here, not by DuckDB's sniffer: the delimiter is the
header's most frequent of ``, ; TAB |`` and the quote is always ``"``, so an unterminated quote is a
malformed row at the line where it opens, never a silently different dialect. Every type error is ours to
report with its row and field; DuckDB's own reject tables supply malformed rows. JSON Lines are read line
by line as text so that a malformed line is one bad row, not a failed file.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from cxlab.schema.checks import sql_literal
from cxlab.schema.tables import quote_ident
from cxlab.store.encoding import EncodingError, utf8_path

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class SourceError(ValueError):
    """The input as a whole can't be read (missing, empty, unknown format, unreadable)."""


@dataclass(frozen=True)
class DroppedRow:
    """A row the reader could not turn into columns (malformed CSV row, invalid JSON line)."""

    row: int
    field: str
    message: str
    raw: str


@dataclass
class Source:
    """Raw columns of an input, ready for the staging query."""

    name: str
    """How messages name the input (its path)."""
    sql: str
    """A FROM-clause item yielding the raw columns."""
    types: dict[str, str]
    """Raw column name → DuckDB type."""
    first_row: int
    """Row number of the first record (2 for CSV with its header on row 1)."""
    header_row: int
    """Row number that names the columns (for unknown/missing column errors)."""
    dropped: list[DroppedRow] = field(default_factory=list)
    skipped_rows: list[int] = field(default_factory=list)
    """Rows absent from the relation without being errors (blank JSON lines)."""
    collect_dropped: Callable[[], list[DroppedRow]] | None = None
    """Reads the dropped rows once the relation has been scanned (CSV rejects are known only then)."""
    encoding: str | None = None
    """The encoding a text file was read in (``cp1252`` for a Windows Excel export); None: not text."""

    def scanned(self) -> None:
        """Call after the relation has been scanned once: fills :attr:`dropped`."""
        if self.collect_dropped is not None:
            self.dropped = self.collect_dropped()

    def _gaps(self) -> list[int]:
        """For the k-th absent row (sorted), how many records come before it."""
        absent = sorted([d.row for d in self.dropped] + self.skipped_rows)
        return [r - self.first_row - k for k, r in enumerate(absent)]

    def row_number(self, index: int) -> int:
        """Row number of the record at 0-based position ``index`` of the relation."""
        return self.first_row + index + bisect.bisect_right(self._gaps(), index)

    def row_number_sql(self, index_sql: str) -> str:
        """SQL for :meth:`row_number` of an index expression (used to number rejects in bulk)."""
        gaps = self._gaps()
        if not gaps:
            return f"({index_sql} + {self.first_row})"
        return f"({index_sql} + {self.first_row} + len(list_filter({gaps}, g -> g <= {index_sql})))"


def _format_of(path: Path) -> tuple[str, bool]:
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise SourceError(
            f"{path}: unknown file type (expected .csv, .jsonl/.ndjson/.json or .parquet, optionally .gz)"
        )
    return fmt, gz


def _describe(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()
    return {r[0]: r[1] for r in rows}


@contextmanager
def open_source(
    con: duckdb.DuckDBPyConnection, data: Any, name: str | None = None, *, encoding: str | None = None
) -> Iterator[Source]:
    """Open a file path or in-memory table as a :class:`Source` on ``con``; cleans up on exit.

    ``encoding`` of a text file: None detects it (UTF-8, else UTF-16 with a BOM, else cp1252/Latin-1)."""
    if not isinstance(data, str | Path):
        try:
            yield _in_memory(con, data, name or "<data>")
        finally:
            _cleanup(con)
        return
    path = Path(data)
    label = name or str(path)
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a file")
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: file is empty")
    fmt, gz = _format_of(path)
    with ExitStack() as stack:
        try:
            if fmt == "parquet" and gz:  # DuckDB reads gzipped text but not gzipped Parquet
                tmp = stack.enter_context(tempfile.TemporaryDirectory())
                plain = Path(tmp) / path.with_suffix("").name
                with gzip.open(path, "rb") as fin, plain.open("wb") as fout:
                    shutil.copyfileobj(fin, fout)
                path = plain
            enc = None
            if fmt != "parquet":
                path, enc = stack.enter_context(utf8_path(path, encoding))
        except EncodingError as e:
            raise SourceError(f"{label}: {e}") from e
        except (OSError, EOFError) as e:
            raise SourceError(f"{label}: cannot read: {getattr(e, 'strerror', None) or e}") from e
        opener = {"csv": _csv, "jsonl": _jsonl, "parquet": _parquet}[fmt]
        try:
            src = opener(con, path, label)
            src.encoding = enc
            yield src
        finally:
            _cleanup(con)


def _cleanup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "DROP VIEW IF EXISTS __jsonl_text; DROP TABLE IF EXISTS __jsonl_lines;"
        "DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans"
    )
    con.unregister("__mem")


def _read_error(name: str, e: duckdb.Error) -> SourceError:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return SourceError(f"{name}: cannot read: {first}")


MAX_LINE = 1 << 24
"""Longest CSV record accepted (16 MiB, DuckDB's default is 2 MB); a longer one is a malformed row with its
line and size. The reader's buffer must be larger; twice the line keeps clean files as fast as the default."""
DELIMITERS = ",;\t|"


def _csv_header(path: Path, name: str) -> tuple[list[str], str]:
    """(column names, delimiter) from the header line of a UTF-8 CSV file."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
        line = f.readline(MAX_LINE)
    delim = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else max(DELIMITERS, key=line.count)
    names = [n.strip() for n in next(csv.reader([line.rstrip("\r\n")], delimiter=delim), [])]
    if not any(names):
        raise SourceError(f"{name}:1: no column names in the header row")
    for i, n in enumerate(names):
        if not n:
            raise SourceError(f"{name}:1: column {i + 1} of the header row has no name")
        if n in names[:i]:
            raise SourceError(f"{name}:1: column {n!r} appears twice in the header row")
    return names, delim


CSV_ERRORS = {
    "UNQUOTED VALUE": 'unterminated quote: a value opens a " here that is never closed '
    "(it would swallow the rows after it)",
}
"""Plain words for DuckDB's CSV reject types where its own message misleads."""


def _csv(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> Source:
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    names, delim = _csv_header(path, name)
    columns = "{" + ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in names) + "}"
    reader = (
        f"read_csv({sql_literal(str(path))}, header = true, auto_detect = false, columns = {columns}, "
        f"delim = {sql_literal(delim)}, quote = '\"', escape = '\"', max_line_size = {MAX_LINE}, buffer_size = {2 * MAX_LINE}, "
        "store_rejects = true)"
    )
    try:
        types = _describe(con, reader)
    except duckdb.Error as e:
        raise _read_error(name, e) from e

    def rejects() -> list[DroppedRow]:
        rows = con.execute(
            "SELECT line, column_name, error_type, error_message, csv_line FROM reject_errors ORDER BY line"
        ).fetchall()
        by_line: dict[int, DroppedRow] = {}
        for line, _col, kind, msg, raw in rows:  # one row may fail several ways; report it once
            text = CSV_ERRORS.get(kind, f"{kind.lower()}: {msg}")
            prev = by_line.get(int(line))
            by_line[int(line)] = DroppedRow(
                int(line),
                "(row)",
                f"{prev.message}; {text}" if prev else f"malformed CSV row: {text}",
                raw or "",
            )
        return list(by_line.values())

    return Source(name, reader, types, first_row=2, header_row=1, collect_dropped=rejects)


_IS_OBJECT = "CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE FALSE END"
"""SQL: the text ``line`` is one JSON object (anything else is a bad row, not a failed input)."""


def _jsonl(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> Source:
    # Valid JSON can't hold a raw U+001F, so splitting on it yields whole lines.
    reader = (
        f"read_csv({sql_literal(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, "
        f"delim = chr(31), quote = '', escape = '', auto_detect = false, "
        f"max_line_size = {MAX_LINE}, buffer_size = {2 * MAX_LINE})"
    )
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __jsonl_lines AS SELECT __n, line, "
            f"{_IS_OBJECT} AS __ok FROM (SELECT row_number() OVER () AS __n, line FROM {reader})"
        )
    except duckdb.Error as e:
        raise _read_error(name, e) from e
    return _jsonl_source(con, name)


def _lines_array(lines: Sequence[bytes]) -> pa.Array:
    """Encoded lines as one Arrow string array, built from a single buffer (no per-line objects)."""
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lines], out=offsets[1:])
    return pa.LargeStringArray.from_buffers(len(lines), pa.py_buffer(offsets), pa.py_buffer(b"".join(lines)))


@contextmanager
def jsonl_lines(
    con: duckdb.DuckDBPyConnection, lines: Sequence[bytes], name: str, keys: Sequence[str] | None = None
) -> Iterator[Source]:
    """In-memory JSON Lines (one UTF-8 encoded JSON text per item, no line breaks) as a :class:`Source`.

    The same reader as a ``.jsonl`` file, so the collector checks its items exactly like ``cxlab ingest``;
    record ``i`` (0-based) is row ``i + 1``. ``keys``: the keys of all objects among the lines, when the caller
    knows them (saves a pass)."""
    table = pa.table({"__n": pa.array(range(1, len(lines) + 1), pa.int64()), "line": _lines_array(lines)})
    con.register("__mem", table)
    try:
        try:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE __jsonl_lines AS SELECT __n, line, "
                f"{_IS_OBJECT} AS __ok FROM (SELECT __n, line::VARCHAR AS line FROM __mem)"
            )
        except duckdb.Error as e:
            raise _read_error(name, e) from e
        yield _jsonl_source(con, name, keys)
    finally:
        _cleanup(con)


def _jsonl_source(con: duckdb.DuckDBPyConnection, name: str, keys: Sequence[str] | None = None) -> Source:
    """The Source of temp table ``__jsonl_lines(__n, line, __ok)``: one text column per key of any object."""
    try:
        bad = con.execute(
            "SELECT __n, line FROM __jsonl_lines WHERE line IS NOT NULL AND NOT __ok ORDER BY __n"
        ).fetchall()
        blank = [
            r[0]
            for r in con.execute("SELECT __n FROM __jsonl_lines WHERE line IS NULL ORDER BY __n").fetchall()
        ]
        if keys is None:
            keys = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT unnest(json_keys(line)) AS k FROM __jsonl_lines WHERE __ok ORDER BY k"
                ).fetchall()
            ]
    except duckdb.Error as e:
        raise _read_error(name, e) from e
    # One parse per line. A JSON string becomes its text; numbers, booleans, objects and lists keep their
    # JSON text; null is NULL.
    # A key a JSON path can't spell (a quote, a backslash) is never a column name: it stays NULL, and the
    # input is refused for its unknown column before any value is read.
    usable = [k for k in keys if '"' not in k and "\\" not in k]
    paths = ", ".join(sql_literal("$." + quote_ident(k)) for k in usable)
    text_cols = (
        ", ".join(
            f"__v[{usable.index(k) + 1}] AS {quote_ident(k)}"
            if k in usable
            else f"NULL::VARCHAR AS {quote_ident(k)}"
            for k in keys
        )
        or "NULL AS __none"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW __jsonl_text AS SELECT {text_cols} FROM (SELECT "
        f"{f'json_extract_string(line, [{paths}])' if usable else 'NULL'} AS __v "
        "FROM __jsonl_lines WHERE __ok ORDER BY __n)"
    )
    dropped = [DroppedRow(int(n), "(row)", "not a JSON object", line) for n, line in bad]
    return Source(
        name,
        "__jsonl_text",
        dict.fromkeys(keys, "VARCHAR"),
        first_row=1,
        header_row=1,
        dropped=dropped,
        skipped_rows=[int(b) for b in blank],
    )


def _parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> Source:
    reader = f"read_parquet({sql_literal(str(path))})"
    try:
        types = _describe(con, reader)
    except duckdb.Error as e:
        raise _read_error(name, e) from e
    return Source(name, reader, types, first_row=1, header_row=1)


def _in_memory(con: duckdb.DuckDBPyConnection, data: Any, name: str) -> Source:
    if not isinstance(data, pa.Table):
        try:
            import pandas as pd

            if isinstance(data, pd.DataFrame):
                data = pa.Table.from_pandas(data, preserve_index=False)
        except ImportError:  # pragma: no cover - pandas is a dependency
            pass
    if not isinstance(data, pa.Table) and hasattr(data, "to_arrow"):
        data = data.to_arrow()  # Polars and friends
    if not isinstance(data, pa.Table):
        raise SourceError(
            f"{name}: expected a file path or an Arrow/pandas/Polars table, got {type(data).__name__}"
        )
    con.register("__mem", data)
    return Source(name, "__mem", _describe(con, "__mem"), first_row=1, header_row=1)
