"""Read the inputs of ``cxlab customers clv fit``: a per-customer summary or a transaction log.

Files are opened with :func:`cxlab.store.sources.open_source`, the reader ``cxlab ingest`` uses (CSV in
UTF-8, UTF-16 or cp1252, JSON Lines, Parquet; optionally gzipped), and checked as the rest of cxlab checks
input: a bad file gets one error naming the file, the row (the header is row 1) and the field. Checks are
columnar (Arrow); no row is looped over in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlab.customers.fitting import FloatArray
from cxlab.store.sources import open_source

SUMMARY_COLUMNS = ("frequency", "recency", "T")
ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class SummaryInput:
    """Columns of a summary CSV as float arrays (``monetary_value`` when the file has it)."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray | None


@dataclass(frozen=True)
class Input:
    """A file's raw columns and how to name its rows in messages."""

    name: str
    table: pa.Table
    row: Callable[[int], int]
    """Row number (as the file counts them, header = 1) of the record at a 0-based position."""

    def bad(self, field: str, mask: np.ndarray, what: str, values: np.ndarray | None = None) -> None:
        """Raise one error naming the file, the first row where ``mask`` holds, and the field."""
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            shown = "" if values is None else f" ({values[i]!r})"
            more = f" (and {int(mask.sum()) - 1:,} more rows)" if mask.sum() > 1 else ""
            raise ValueError(f"{self.name}:{self.row(i)}: {field}: {what}{shown}{more}")


def read_input(path: str | Path) -> Input:
    """The raw columns of a file (text columns of a CSV as text), refusing malformed rows."""
    con = duckdb.connect()
    try:
        with open_source(con, Path(path)) as src:
            table = con.execute(f"SELECT * FROM {src.sql}").fetch_arrow_table()
            src.scanned()
            if src.dropped:
                d = src.dropped[0]
                more = f" (and {len(src.dropped) - 1:,} more rows)" if len(src.dropped) > 1 else ""
                raise ValueError(f"{src.name}:{d.row}: {d.message}{more}")
            return Input(src.name, table, src.row_number)
    finally:
        con.close()


NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _numbers(src: Input, name: str) -> FloatArray:
    col = src.table.column(name).combine_chunks()
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        text = pc.utf8_trim_whitespace(col)
        missing = np.asarray(pc.is_null(text)) | (np.asarray(pc.utf8_length(text).fill_null(0)) == 0)
        src.bad(name, missing, "missing value")
        ok = np.asarray(pc.match_substring_regex(text, NUMBER).fill_null(False))
        src.bad(name, ~ok, "not a number", np.asarray(col.to_pylist(), dtype=object))
        values = np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_null(col.type):
        values = np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
        src.bad(name, np.isnan(values), "missing value")
    else:
        raise ValueError(f"{src.name}: {name}: expected numbers, found {col.type}")
    src.bad(name, ~np.isfinite(values), "not a finite number", values)
    return values


def read_summary_csv(path: str | Path) -> SummaryInput:
    """``frequency, recency, T`` [``monetary_value``] per customer, one row each (other columns ignored)."""
    src = read_input(path)
    names = src.table.column_names
    missing = [c for c in SUMMARY_COLUMNS if c not in names]
    if missing:
        raise ValueError(
            f"{src.name}: missing column(s) {', '.join(missing)} (a summary has frequency, recency, T and "
            f"optionally monetary_value; found {', '.join(names)})"
        )
    if src.table.num_rows == 0:
        raise ValueError(f"{src.name}: no rows")
    x, t, tt = (_numbers(src, c) for c in SUMMARY_COLUMNS)
    src.bad("frequency", (x < 0) | (x != np.round(x)), "must be a whole number >= 0", x)
    src.bad("recency", t < 0, "must be >= 0", t)
    src.bad("T", tt < 0, "must be >= 0", tt)
    src.bad("recency", t > tt, "is greater than T", t)
    src.bad(
        "frequency", (tt == 0) & (x > 0), "repeat purchases with T = 0 (repeats follow the first purchase)", x
    )
    m = None
    if "monetary_value" in names:
        m = _numbers(src, "monetary_value")
        src.bad("monetary_value", m < 0, "must be >= 0", m)
    return SummaryInput(x, t, tt, m)


def parse_timestamps(src: Input, name: str, fmt: str | None) -> pa.Array:
    col = src.table.column(name).combine_chunks()
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        src.bad(name, np.asarray(pc.is_null(col)), "missing value")
        return pc.cast(col, pa.timestamp("us"))
    arr = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
    src.bad(
        name,
        np.asarray(pc.is_null(arr)) | (np.asarray(pc.utf8_length(arr).fill_null(0)) == 0),
        "missing value",
    )
    if fmt is None:
        try:  # ISO 8601, with or without an offset (converted to UTC)
            return pc.cast(pc.cast(arr, pa.timestamp("us", tz="UTC")), pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            formats: tuple[str, ...] = ISO_FORMATS
    else:
        formats = (fmt,)
    parsed = [pc.strptime(arr, format=f, unit="us", error_is_null=True) for f in formats]
    out = pc.coalesce(*parsed)
    raw = np.asarray(arr.to_pylist(), dtype=object)
    hint = f"format {fmt!r}" if fmt else "an ISO date such as 2024-05-01 (or give --date-format)"
    src.bad(name, np.asarray(pc.is_null(out)), f"not a date in {hint}", raw)
    return out


def read_transactions_csv(
    path: str | Path,
    customer_col: str,
    date_col: str,
    value_col: str | None = None,
    date_format: str | None = None,
) -> pa.Table:
    """A transaction log as an Arrow table ``customer_id, ts`` [``value``], checked."""
    src = read_input(path)
    names = src.table.column_names
    wanted = [customer_col, date_col, *([value_col] if value_col else [])]
    missing = [c for c in wanted if c not in names]
    if missing:
        raise ValueError(f"{src.name}: missing column(s) {', '.join(missing)} (found {', '.join(names)})")
    if src.table.num_rows == 0:
        raise ValueError(f"{src.name}: no rows")
    cust = pc.cast(src.table.column(customer_col).combine_chunks(), pa.string())
    empty = np.asarray(pc.is_null(cust)) | (np.asarray(pc.utf8_length(cust).fill_null(0)) == 0)
    src.bad(customer_col, empty, "missing value")
    cols = {"customer_id": cust, "ts": parse_timestamps(src, date_col, date_format)}
    if value_col:
        v = _numbers(src, value_col)
        src.bad(value_col, v < 0, "must be >= 0", v)
        cols["value"] = pa.array(v)
    return pa.table(cols)
