"""Read a ChannelAttribution-style paths file, so its users can switch without reshaping data.

Columns: ``path`` (channels joined by ``>``, spaces around it optional), ``total_conversions``, and
optionally ``total_conversion_value`` and ``total_null`` (a missing count is 0). CSV (any delimiter
DuckDB detects, e.g. the ``;`` of ChannelAttribution's sample data), JSON Lines or Parquet, optionally
gzipped, or a data frame. Rows may be unique paths with counts or one row per journey.

The store's one reader (:func:`cxlab.store.sources.open_source`) reads the input into Arrow. When the rows repeat paths a lot
(one row per journey), equal path strings are first summed by Arrow's hash kernel (``dictionary_encode``)
and ``bincount``, so only the distinct strings are split; rows of unique paths are split as they are,
which saves hashing every string twice. Whether rows repeat is judged on an evenly spaced sample of
4,096 rows; either way the result is the same. The strings are split into channels on their raw bytes
(:mod:`cxlab.channels.parse`), and paths that differ only in spacing are merged exactly
(:meth:`Paths.unique`). Everything is vectorised and runs in a fixed order, so the same input gives
bit-identical paths and sums every time. A bad row is reported as ``file:row: field: what is wrong``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from cxlab.channels.paths import EmptyPathError, Paths
from cxlab.schema.tables import quote_ident
from cxlab.store.sources import open_source

PATH, CONVERSIONS, VALUE, NULLS = "path", "total_conversions", "total_conversion_value", "total_null"

_db: duckdb.DuckDBPyConnection | None = None
_db_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A fresh connection to one private in-memory database (opening a new one costs ~20 ms)."""
    global _db
    with _db_lock:
        if _db is None:
            _db = duckdb.connect()
        return _db.cursor()


def _load(source: Any, columns: list[str]) -> tuple[pa.Table, str, Callable[[int], int]]:
    """The input as Arrow (its columns as read), its name for messages, and the row number of a record.

    Read by :func:`cxlab.store.sources.open_source` (CSV as text, so every bad value is ours to report); a
    row the CSV reader could not split (an unterminated quote, too many fields) is an error naming it."""
    name = "<data frame>" if isinstance(source, pd.DataFrame) else str(source)
    if not isinstance(source, pd.DataFrame) and not Path(source).is_file():
        raise FileNotFoundError(f"{source}: no such file")
    con = _cursor()
    try:
        with open_source(con, source if isinstance(source, pd.DataFrame) else Path(source), name) as src:
            cols = list(src.types)
            missing = [c for c in columns[:2] if c not in cols]
            if missing:
                raise ValueError(
                    f"{name}: missing required column {', '.join(map(repr, missing))} "
                    f"(columns are: {', '.join(cols)})"
                )
            select = ", ".join(quote_ident(c) for c in columns if c in cols)
            try:
                table = con.execute(f"SELECT {select} FROM {src.sql}").to_arrow_table()
            except duckdb.Error as e:
                raise ValueError(f"{name}: cannot read: {str(e).strip().splitlines()[0]}") from e
            src.scanned()
            if src.dropped:
                d = src.dropped[0]
                raise ValueError(f"{name}:{d.row}: {d.field}: {d.message}")
            return table, name, src.row_number
    finally:
        con.close()


def read_paths(
    source: str | Path | pd.DataFrame,
    *,
    sep: str = ">",
    path: str = PATH,
    conversions: str = CONVERSIONS,
    value: str = VALUE,
    nulls: str = NULLS,
) -> Paths:
    """Load paths from a file or data frame into :class:`Paths` (equal paths summed)."""
    if not sep.strip():
        raise ValueError("the path separator must not be blank")
    table, name, row_number = _load(source, [path, conversions, value, nulls])
    if table.num_rows == 0:
        raise ValueError(f"{name}: no paths")

    def bad_row(index: int, fld: str, message: str) -> ValueError:
        return ValueError(f"{name}:{row_number(index)}: {fld}: {message}")

    paths_col = table.column(path)
    if not pa.types.is_string(paths_col.type) and not pa.types.is_large_string(paths_col.type):
        paths_col = pc.cast(paths_col, pa.string())
    if paths_col.null_count:
        i = int(np.flatnonzero(np.asarray(paths_col.is_null()))[0])
        raise bad_row(i, path, "missing value: a journey needs a path")
    counts = [_numbers(table, c, bad_row) for c in (conversions, value, nulls)]
    strings: pa.Array | pa.ChunkedArray = paths_col
    row_of: NDArray[np.int64] | None = None  # the distinct string of each row, when summed first
    if _repeats(paths_col):
        enc = pc.dictionary_encode(paths_col).combine_chunks()
        strings, row_of = enc.dictionary, np.asarray(enc.indices, dtype=np.int64)
        k = len(strings)
        counts = [np.bincount(row_of, weights=c, minlength=k).astype(np.float64) for c in counts]
    try:
        paths = Paths.from_strings(strings, *counts, sep=sep.strip(), source=name)
    except EmptyPathError as e:  # say which row of the input
        row = e.index if row_of is None else int(np.flatnonzero(row_of == e.index)[0])
        raise bad_row(row, path, "no channel in the path") from e
    return paths.unique()


SAMPLE = 4096


def _repeats(paths: pa.ChunkedArray) -> bool:
    """Whether fewer than half of an evenly spaced sample of the rows are distinct paths."""
    step = max(1, len(paths) // SAMPLE)
    sample = paths.take(pa.array(np.arange(0, len(paths), step)))
    return 2 * len(pc.unique(sample)) < len(sample)


NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$|^\s*[-+]?(inf|infinity|nan)\s*$"


def _numbers(
    table: pa.Table, column: str, bad_row: Callable[[int, str, str], ValueError]
) -> NDArray[np.float64]:
    """A count column as floats (0 where missing or absent); raise on the first bad value."""
    if column not in table.column_names:
        return np.zeros(table.num_rows)
    col = table.column(column)
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_decimal(col.type)):
        text = pc.cast(col, pa.string())
        ok = pc.or_kleene(pc.match_substring_regex(text, NUMBER, ignore_case=True), pc.is_null(text))
        not_ok = np.flatnonzero(~np.asarray(pc.fill_null(ok, True), dtype=bool))
        if not_ok.size:
            i = int(not_ok[0])
            raise bad_row(i, column, f"not a number: {text[i].as_py()!r}")
        col = pc.cast(pc.utf8_trim_whitespace(text), pa.float64())
    x = np.asarray(pc.fill_null(pc.cast(col, pa.float64()), 0.0), dtype=np.float64)
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise bad_row(
            i, column, f"must be a finite number >= 0, got {str(table.column(column)[i].as_py())!r}"
        )
    return x
