"""Row checks of a canonical table, compiled to one DuckDB ``SELECT`` over a raw source.

The staging query turns raw columns (text from CSV and JSON, typed from Parquet and Arrow) into the
canonical types with ``TRY_CAST`` and sets one bit of ``_err`` per failed check, so a whole file is typed
and checked in a single vectorised scan; the error path then decodes the bits into messages. The same
compiled checks serve ingest and :func:`cxlab.schema.validate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from cxlab.schema.tables import Column, TableSpec, duckdb_type, quote_ident

RAW_PREFIX = "__raw_"
MAX_CHECKS = 62
YEARS = (1900, 2200)
"""Timestamps and dates outside these years (inclusive) are refused as typos or placeholders (year
10000, 0001-01-01): no shop's data reaches them, and Python's datetime can't even hold year 10000."""
MAX_AMOUNT = 1e12
"""Money amounts above this are refused as implausible (a misplaced exponent, an id in a price column)."""


@dataclass(frozen=True)
class Check:
    """One check: the field it is about, a SQL predicate TRUE for a bad row, and a message template."""

    field: str
    code: str
    bad_sql: str
    message: str
    """Message; ``{value}`` is replaced by the offending raw value, shown escaped."""


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def show_value(value: object, limit: int = 60) -> str:
    """A raw value as it appears in an error message: quoted, control characters escaped, truncated."""
    text = repr(value) if isinstance(value, str) else repr(str(value)) if value is not None else "null"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _raw(c: Column) -> str:
    return quote_ident(RAW_PREFIX + c.name)


def _parse_time(raw: str, target: str, date_format: str | None) -> str:
    """SQL parsing text ``raw`` as a TIMESTAMP or DATE: with ``date_format`` first, else ISO 8601."""
    if target == "DATE":
        iso = f"TRY_CAST({raw} AS DATE)"
    else:
        # Only text with a UTC offset needs the (slower) time-zone-aware parse; a plain TIMESTAMP
        # cast would silently drop the offset. "+0100" is normalised to "+01:00" first.
        iso = (
            f"(CASE WHEN length({raw}) > 19 AND regexp_matches(substr({raw}, 11), '[+-]\\d\\d(:?\\d\\d)?$') "
            f"THEN TRY_CAST(regexp_replace({raw}, ' ?([+-]\\d\\d):?(\\d\\d)?$', '\\1:\\2') AS TIMESTAMPTZ) "
            f"AT TIME ZONE 'UTC' ELSE TRY_CAST({raw} AS TIMESTAMP) END)"
        )
    if date_format is None:
        return iso
    return f"coalesce(CAST(try_strptime({raw}, {sql_literal(date_format)}) AS {target}), {iso})"


def typed_expr(c: Column, source_type: str | None, date_format: str | None = None) -> str:
    """SQL that converts the raw column (of DuckDB type ``source_type``; None: absent) to its canonical type.

    ``date_format``: a strptime format tried before ISO 8601 on text timestamps and dates."""
    target = duckdb_type(c.type)
    if source_type is None:
        return f"CAST(NULL AS {target})"
    raw = _raw(c)
    st = source_type.upper()
    if st == target:
        return f"nullif({raw}, '')" if target == "VARCHAR" else raw
    if pa.types.is_timestamp(c.type) or pa.types.is_date(c.type):
        if st == "TIMESTAMP WITH TIME ZONE":
            return f"CAST({raw} AT TIME ZONE 'UTC' AS {target})"
        if st in ("VARCHAR", "JSON"):
            return _parse_time(raw, target, date_format)
        return f"TRY_CAST({raw} AS {target})"
    if pa.types.is_list(c.type) and st in ("VARCHAR", "JSON"):
        return f"TRY_CAST(TRY_CAST({raw} AS JSON) AS {target})"
    if target == "VARCHAR":
        return f"nullif(CAST({raw} AS VARCHAR), '')"
    return f"TRY_CAST({raw} AS {target})"


_KIND = {
    "DOUBLE": "a number",
    "INTEGER": "an integer",
    "BIGINT": "an integer",
    "BOOLEAN": "true or false",
}


def column_checks(
    c: Column,
    source_type: str | None,
    enums: Mapping[str, tuple[str, ...]],
    date_format: str | None = None,
) -> list[Check]:
    """The checks of one column, given the raw column's type in the source (None: absent)."""
    col, raw = quote_ident(c.name), _raw(c)
    if source_type is None:  # an absent required column is a file-level error, found before staging
        return []
    checks: list[Check] = []
    if c.required:
        empty = f" OR {raw} = ''" if source_type.upper() == "VARCHAR" else ""
        checks.append(Check(c.name, "missing", f"{raw} IS NULL{empty}", "missing required value"))
    target = duckdb_type(c.type)
    if target != "VARCHAR" and source_type.upper() != target:
        bad = f"{raw} IS NOT NULL AND {col} IS NULL"
        if source_type.upper() == "VARCHAR":
            bad = f"{raw} IS NOT NULL AND {raw} <> '' AND {col} IS NULL"
        if pa.types.is_timestamp(c.type) or pa.types.is_date(c.type):
            fmt = f"{date_format} or " if date_format else ""
            example = "2024-05-01T13:45:00Z" if pa.types.is_timestamp(c.type) else "2024-05-01"
            msg = f"unparseable {'timestamp' if pa.types.is_timestamp(c.type) else 'date'} {{value}} "
            msg += f"(expected {fmt}ISO 8601, e.g. {example}; see --date-format)"
        elif pa.types.is_list(c.type):
            msg = "wrong type: expected a JSON list of {product_id, quantity, price}, got {value}"
        else:
            msg = f"wrong type: expected {_KIND.get(target, target)}, got {{value}}"
        checks.append(Check(c.name, "type", bad, msg))
    if pa.types.is_list(c.type):
        checks.append(
            Check(
                c.name,
                "items",
                f"list_bool_or(list_transform({col}, x -> x.product_id IS NULL OR x.quantity IS NULL "
                f"OR x.quantity < 0 OR x.price < 0 OR NOT isfinite(x.price) OR x.price > {MAX_AMOUNT!r}))",
                "bad item in {value}: each item needs a product_id, a quantity ≥ 0 and a finite price "
                f"from 0 to {MAX_AMOUNT:.0e}",
            )
        )
    if pa.types.is_list(c.type) and source_type.upper() in ("VARCHAR", "JSON"):
        # typing the JSON rounds 1.5 to 2 and turns 3e9 into null: a quantity must be checked as written
        q = "TRY_CAST(q AS DOUBLE)"
        checks.append(
            Check(
                c.name,
                "quantity",
                f"list_bool_or(list_transform(json_extract(TRY_CAST({raw} AS JSON), '$[*].quantity'), "
                f"q -> {q} IS NOT NULL AND ({q} <> floor({q}) OR abs({q}) > 2147483647)))",
                "item quantity is not a whole number from 0 to 2,147,483,647 in {value}",
            )
        )
    if pa.types.is_timestamp(c.type) or pa.types.is_date(c.type):
        lo, hi = YEARS
        checks.append(
            Check(
                c.name,
                "range",
                f"year({col}) < {lo} OR year({col}) > {hi}",
                f"{{value}} is out of range (years {lo} to {hi} are accepted)",
            )
        )
    if pa.types.is_floating(c.type):
        checks.append(Check(c.name, "finite", f"NOT isfinite({col})", "not a finite number: {value}"))
    if c.min is not None:
        checks.append(
            Check(
                c.name,
                "min",
                f"{col} < {c.min!r}",
                f"negative {c.name}: {{value}}"
                if c.min == 0
                else f"{c.name} must be ≥ {c.min}, got {{value}}",
            )
        )
    if c.money:
        checks.append(
            Check(
                c.name,
                "implausible",
                f"isfinite({col}) AND {col} > {MAX_AMOUNT!r}",
                f"implausible amount {{value}} (more than {MAX_AMOUNT:.0e})",
            )
        )
    allowed = c.enum if c.enum is not None else enums.get(c.enum_from) if c.enum_from else None
    if allowed is not None:
        shown = ", ".join(allowed[:12]) + (", …" if len(allowed) > 12 else "")
        values = ", ".join(sql_literal(v) for v in allowed)
        checks.append(
            Check(
                c.name,
                "enum",
                f"{col} NOT IN ({values})",
                f"unknown value {{value}} (expected one of {shown})",
            )
        )
    if c.pattern is not None:
        checks.append(
            Check(
                c.name,
                "pattern",
                f"NOT regexp_full_match({col}, {sql_literal(c.pattern)})",
                f"{{value}} is not {c.pattern_doc}",
            )
        )
    if c.json:
        checks.append(Check(c.name, "json", f"NOT json_valid({col})", "not valid JSON: {value}"))
    return checks


def table_checks(
    spec: TableSpec,
    source_types: Mapping[str, str],
    enums: Mapping[str, tuple[str, ...]],
    date_format: str | None = None,
) -> list[Check]:
    """All checks of a table for a source whose raw columns have ``source_types`` (name → DuckDB type)."""
    checks = [
        ck for c in spec.columns for ck in column_checks(c, source_types.get(c.name), enums, date_format)
    ]
    checks += [Check(r.field, "rule", f"coalesce({r.bad_sql}, FALSE)", r.message) for r in spec.rules]
    if len(checks) > MAX_CHECKS:
        raise ValueError(f"{spec.name}: {len(checks)} checks exceed the {MAX_CHECKS}-bit error mask")
    return checks


def _typed_inner(
    spec: TableSpec,
    source_sql: str,
    source_types: Mapping[str, str],
    keep_raw: bool,
    date_format: str | None,
) -> str:
    present = [c for c in spec.columns if c.name in source_types]
    raw_cols = ", ".join(f"{quote_ident(c.name)} AS {_raw(c)}" for c in present) or "1 AS __none"
    typed = ", ".join(
        f"{typed_expr(c, source_types.get(c.name), date_format)} AS {quote_ident(c.name)}"
        for c in spec.columns
    )
    raws = "".join(f", {_raw(c)}" for c in present) if keep_raw else ""
    return f"SELECT {typed}{raws} FROM (SELECT {raw_cols} FROM {source_sql})"


def typed_select(
    spec: TableSpec, source_sql: str, source_types: Mapping[str, str], date_format: str | None = None
) -> str:
    """``SELECT`` of the canonical columns converted from the raw ones, unchecked (for rows known good)."""
    return _typed_inner(spec, source_sql, source_types, keep_raw=False, date_format=date_format)


def checked_select(
    spec: TableSpec,
    source_sql: str,
    source_types: Mapping[str, str],
    checks: list[Check],
    date_format: str | None = None,
) -> str:
    """``SELECT`` that yields the canonical columns, ``_err`` (a bit per failed check) and, for bad rows
    only, the raw values as ``__raw_<col>`` text (for messages and the rejects file)."""
    present = [c for c in spec.columns if c.name in source_types]
    inner = _typed_inner(spec, source_sql, source_types, keep_raw=True, date_format=date_format)
    mask = (
        " | ".join(
            f"(CASE WHEN coalesce({ck.bad_sql}, FALSE) THEN {1 << i} ELSE 0 END)::BIGINT"
            for i, ck in enumerate(checks)
        )
        or "0::BIGINT"
    )
    cols = ", ".join(quote_ident(c.name) for c in spec.columns)
    raws = "".join(f", CASE WHEN _err <> 0 THEN CAST({_raw(c)} AS VARCHAR) END AS {_raw(c)}" for c in present)
    return f"SELECT {cols}, _err{raws} FROM (SELECT *, {mask} AS _err FROM ({inner}))"
