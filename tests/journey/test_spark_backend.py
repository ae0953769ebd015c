"""Scale-out: funnels, paths and retention on the PySpark Ibis backend give the same results as on DuckDB.

A small demo store is built in DuckDB, its tables are copied into a local SparkSession (temporary views), and
every analysis runs on both connections; the results (``to_dict()``: every count, rate, interval, quantile
and label) must agree. One Spark session for the module (starting one costs seconds) and one test item with
a subtest per analysis, so that ``pytest -n 2`` starts one session, not two. Skipped without pyspark or Java;
marked ``slow`` and ``spark`` (deselect with ``-m "not spark"``). No Python UDFs may run on Spark: the
workers are not told which Python to use, so an expression that needs one fails here.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("pyspark")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("PySpark needs Java (none on PATH, no JAVA_HOME)", allow_module_level=True)

from pyspark.sql import SparkSession

from cxlab.config import Config
from cxlab.journey import Exclusion, Step, funnel, paths, retention
from cxlab.store import Store, connect
from tests.journey.conftest import build_demo_store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),  # pyspark 4.0 on pandas 3
]

Engines = tuple[Any, Any, Config]
CASES: dict[str, Callable[[Any, Config], Any]] = {
    "funnel ordered, by channel": lambda c, cfg: funnel(
        c, cfg, ["page_view", "add_to_cart", "purchase"], "7d", by="channel"
    ),
    "funnel ordered, sessions, touchpoint and event steps": lambda c, cfg: funnel(
        c, cfg, ["touchpoint:product_page", "add_to_cart|quantity=1", "purchase"], "2d", unit="sessions"
    ),
    "funnel strict, sessions": lambda c, cfg: funnel(
        c, cfg, ["page_view", "view_item", "add_to_cart"], "1h", order="strict", unit="sessions"
    ),
    "funnel any order": lambda c, cfg: funnel(
        c, cfg, ["add_to_cart", "checkout", "purchase"], "2d", order="any"
    ),
    "funnel touchpoints, properties, exclusion": lambda c, cfg: funnel(
        c,
        cfg,
        [
            "touchpoint:product_page",
            "add_to_cart|quantity=1",
            "checkout|checkout_version=one_page",
            "purchase",
        ],
        "7d",
        exclusions=[Exclusion(Step("page_view"), after=2)],
    ),
    "paths from a touchpoint": lambda c, cfg: paths(c, cfg, start="site", depth=4),
    "paths to an event, sessions, loops kept": lambda c, cfg: paths(
        c, cfg, end="purchase", node="event", depth=3, collapse_loops=False, unit="sessions"
    ),
    "retention by month": lambda c, cfg: retention(c, cfg, period="month"),
    "retention by week and channel": lambda c, cfg: retention(c, cfg, period="week", by="channel"),
}


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    out = tmp_path_factory.mktemp("spark_store")
    db, _ = build_demo_store(out, customers=300, seed=5)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("cxlab-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.warehouse.dir", str(out / "spark-warehouse"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        with Store(db, read_only=True) as s:
            duck = s.ibis()
            for name in duck.list_tables():
                if not name.startswith("_"):
                    spark.createDataFrame(duck.table(name).to_pyarrow()).createOrReplaceTempView(name)
            yield duck, connect(spark), s.config
    finally:
        spark.stop()


def same(a: Any, b: Any, where: str = "result") -> None:
    """``a`` equals ``b``, all the way down; floats to 1e-9 relative (engines may sum in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys {list(a)} != {b}"
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        missing_a = a is None or (isinstance(a, float) and math.isnan(a))
        missing_b = b is None or (isinstance(b, float) and math.isnan(b))
        assert missing_a == missing_b, f"{where}: {a!r} != {b!r}"
        if not missing_a:
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_spark_gives_the_same_results_as_duckdb(engines: Engines, subtests: pytest.Subtests) -> None:
    duck, spark, cfg = engines
    for name, run in CASES.items():
        with subtests.test(name):
            expected = run(duck, cfg).to_dict()
            same(expected, run(spark, cfg).to_dict(), name)
    # the cases are not trivial: every funnel has people at its last step, every path list has paths
    d = CASES["funnel touchpoints, properties, exclusion"](duck, cfg).to_dict()
    assert 0 < d["steps"][-1]["customers"] < d["steps"][0]["customers"]
    assert d["steps"][1]["customers"] > 0 and d["steps"][2]["customers"] > 0  # the property filters match
    assert len(CASES["paths from a touchpoint"](duck, cfg).to_dict()["paths"]) > 3


def test_same_compares_all_the_way_down() -> None:
    same({"a": [1, 2.0, None, "x"]}, {"a": [1, 2.0 + 1e-13, float("nan"), "x"]})
    for other in ({"a": [1, 2.1, None, "x"]}, {"a": [1, 2.0, 0.0, "x"]}, {"a": [1, 2.0, None]}, {"b": []}):
        with pytest.raises(AssertionError):
            same({"a": [1, 2.0, None, "x"]}, other)
