"""The canonical tables on Spark: same schema and rows as the DuckDB store; a lake missing tables or columns
still reads (empty tables, null columns)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb

from cxlab.schema.tables import TABLES
from cxlab.store import open_store
from tests.spark.conftest import Lake


def test_every_table_has_the_store_schema_and_rows(lake: Lake, duck: Any, spark: Any) -> None:
    d, s = duck.ibis(), spark.ibis()
    for table in TABLES:  # the same columns and types (Spark keeps no NOT NULL, nor a timestamp's scale)
        assert _kinds(s.table(table).schema()) == _kinds(d.table(table).schema()), table
    assert spark.counts() == duck.counts()
    assert spark.counts()["events"] > 10_000


def _kinds(schema: Any) -> dict[str, str]:
    return {n: str(t.copy(nullable=True)).replace("timestamp(6)", "timestamp") for n, t in schema.items()}


def test_a_lake_with_tables_and_columns_missing(lake: Lake, tmp_path: Path) -> None:
    part = tmp_path / "lake"
    shutil.copytree(lake.tables / "orders", part / "orders")
    (part / "events").mkdir()  # a folder without files yet
    src = next((lake.tables / "customers").glob("*.parquet"))
    (part / "customers").mkdir()
    duckdb.sql(  # an older export without the country column, with a column cxlab doesn't know
        f"COPY (SELECT * EXCLUDE (country), 1 AS loyalty_tier FROM read_parquet('{src}')) "
        f"TO '{part / 'customers' / 'part-0.parquet'}' (FORMAT parquet)"
    )
    with open_store(f"spark://local[2]?tables={part}") as s:
        con = s.ibis()
        counts = s.counts()
        customers = con.table("customers")
        assert "loyalty_tier" not in customers.columns
        assert customers.country.notnull().sum().execute() == 0
    with open_store(lake.db) as d:
        expected = d.counts()
    assert counts["orders"] == expected["orders"] and counts["customers"] == expected["customers"]
    assert counts["events"] == counts["feedback"] == 0
