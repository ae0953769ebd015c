"""Read the CSV inputs of ``cxlab customers clv fit``: a per-customer summary or a transaction log.

Checked as the rest of cxlab checks input: a bad file gets one error naming the file, the row (the header
is row 1) and the field. Parsing is columnar (Arrow); no row is looped over in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cxlab.customers.fitting import FloatArray

SUMMARY_COLUMNS = ("frequency", "recency", "T")
ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class SummaryInput:
    """Columns of a summary CSV as float arrays (``monetary_value`` when the file has it)."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray | None


def _read(path: Path, types: dict[str, pa.DataType] | None = None) -> pa.Table:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types or {}))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise ValueError(f"{path}: not a readable CSV file: {' '.join(str(e).split())}") from None


def _bad(path: Path, field: str, mask: np.ndarray, what: str, values: np.ndarray | None = None) -> None:
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        shown = "" if values is None else f" ({values[i]!r})"
        more = f" (and {int(mask.sum()) - 1:,} more rows)" if mask.sum() > 1 else ""
        raise ValueError(f"{path}:{i + 2}: {field}: {what}{shown}{more}")


NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _numbers(path: Path, table: pa.Table, name: str) -> FloatArray:
    col = table.column(name).combine_chunks()
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        text = pc.utf8_trim_whitespace(col)
        missing = np.asarray(pc.is_null(text)) | (np.asarray(pc.utf8_length(text).fill_null(0)) == 0)
        _bad(path, name, missing, "missing value")
        ok = np.asarray(pc.match_substring_regex(text, NUMBER).fill_null(False))
        _bad(path, name, ~ok, "not a number", np.asarray(col.to_pylist(), dtype=object))
        values = np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_null(col.type):
        values = np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
        _bad(path, name, np.isnan(values), "missing value")
    else:
        raise ValueError(f"{path}: {name}: expected numbers, found {col.type}")
    _bad(path, name, ~np.isfinite(values), "not a finite number", values)
    return values


def read_summary_csv(path: str | Path) -> SummaryInput:
    """``frequency, recency, T`` [``monetary_value``] per customer, one row each (other columns ignored)."""
    p = Path(path)
    table = _read(p)
    missing = [c for c in SUMMARY_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(
            f"{p}: missing column(s) {', '.join(missing)} (a summary has frequency, recency, T and optionally "
            f"monetary_value; found {', '.join(table.column_names)})"
        )
    if table.num_rows == 0:
        raise ValueError(f"{p}: no rows")
    x, t, tt = (_numbers(p, table, c) for c in SUMMARY_COLUMNS)
    _bad(p, "frequency", (x < 0) | (x != np.round(x)), "must be a whole number >= 0", x)
    _bad(p, "recency", t < 0, "must be >= 0", t)
    _bad(p, "T", tt <= 0, "must be > 0", tt)
    _bad(p, "recency", t > tt, "is greater than T", t)
    m = None
    if "monetary_value" in table.column_names:
        m = _numbers(p, table, "monetary_value")
        _bad(p, "monetary_value", m < 0, "must be >= 0", m)
    return SummaryInput(x, t, tt, m)


def _timestamps(path: Path, col: pa.ChunkedArray, name: str, fmt: str | None) -> pa.Array:
    arr = pc.utf8_trim_whitespace(col.combine_chunks())
    _bad(
        path,
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
    _bad(path, name, np.asarray(pc.is_null(out)), f"not a date in {hint}", raw)
    return out


def read_transactions_csv(
    path: str | Path,
    customer_col: str,
    date_col: str,
    value_col: str | None = None,
    date_format: str | None = None,
) -> pa.Table:
    """A transaction log as an Arrow table ``customer_id, ts`` [``value``], checked."""
    p = Path(path)
    types: dict[str, pa.DataType] = {customer_col: pa.string(), date_col: pa.string()}
    head = _read(p, types)
    wanted = [customer_col, date_col, *([value_col] if value_col else [])]
    missing = [c for c in wanted if c not in head.column_names]
    if missing:
        raise ValueError(
            f"{p}: missing column(s) {', '.join(missing)} (found {', '.join(head.column_names)})"
        )
    if head.num_rows == 0:
        raise ValueError(f"{p}: no rows")
    cust = head.column(customer_col).combine_chunks()
    empty = np.asarray(pc.is_null(cust)) | (np.asarray(pc.utf8_length(cust).fill_null(0)) == 0)
    _bad(p, customer_col, empty, "missing value")
    cols = {"customer_id": cust, "ts": _timestamps(p, head.column(date_col), date_col, date_format)}
    if value_col:
        v = _numbers(p, head, value_col)
        _bad(p, value_col, v < 0, "must be >= 0", v)
        cols["value"] = pa.array(v)
    return pa.table(cols)
