"""A lakehouse filled by ``ingest`` (DuckDB writing Parquet, no Spark) reads back on Spark as the store that
ingested the same files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cxlab.config import CONFIG_NAME
from cxlab.schema.tables import TABLES, quote_ident
from cxlab.store import SparkStore, Store, open_store
from cxlab.store.engine import canonical_frame, spark_session
from tests.spark.conftest import Lake
from tests.spark.parity import same


def test_ingested_lake_reads_back_on_spark_as_the_store(lake: Lake, duck: Store, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    out = tmp_path / "ingested"
    out.mkdir()
    shutil.copy(lake.tables / CONFIG_NAME, out / CONFIG_NAME)  # the demo shop's channels, as its store has
    data = lake.db.parent / "data"
    url = f"spark://local[2]?tables={out}"
    with open_store(url, read_only=False) as writer:
        for table in TABLES:  # the order the demo store was filled in
            for f in sorted((data / table).glob("*.parquet")):
                assert writer.ingest(table, f).rejected == 0
        again = writer.ingest("events", sorted((data / "events").glob("*.parquet"))[0])
    assert again.stored == 0 and again.duplicate == again.rows_read > 0
    with open_store(url) as reader:
        assert isinstance(reader, SparkStore)
        # read each table as the store's views do, without replacing the views other tests registered
        session = spark_session(reader.target)
        for table, spec in TABLES.items():
            key = list(spec.key)
            on_spark = canonical_frame(session, reader.target, table).toPandas()
            on_spark = on_spark.sort_values(key, ignore_index=True)
            cols = ", ".join(quote_ident(c) for c in spec.column_names)
            keys = ", ".join(quote_ident(k) for k in key)
            in_duck = (
                duck.con.execute(f"SELECT {cols} FROM {quote_ident(table)} ORDER BY {keys}")
                .fetch_arrow_table()
                .to_pandas()
            )
            same(on_spark, in_duck, table)
        log = reader.ingest_log(1000)
    assert log[0][4] == 0 and log[0][5] == log[0][3]  # the newest: the re-ingest, all duplicates
    ingested = {t for t in TABLES if t != "consent" and any((data / t).glob("*.parquet"))}
    assert sum(r[4] for r in log if r[1] in ingested) == sum(duck.counts()[t] for t in ingested)
