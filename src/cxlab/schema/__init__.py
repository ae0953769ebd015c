"""Canonical tables (Arrow schemas, DuckDB DDL) and the validation of their rows."""

from cxlab.schema.tables import (
    CHANGES,
    CUSTOMERS,
    EVENTS,
    EXPOSURES,
    FEEDBACK,
    ORDERS,
    SPEND,
    TABLES,
    Column,
    RowRule,
    TableSpec,
    table_spec,
)

__all__ = [
    "CHANGES",
    "CUSTOMERS",
    "EVENTS",
    "EXPOSURES",
    "FEEDBACK",
    "ORDERS",
    "SPEND",
    "TABLES",
    "Column",
    "RowRule",
    "TableSpec",
    "table_spec",
]
