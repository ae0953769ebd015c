"""One demo store, its lakehouse export, and one Spark session for every parity test in this folder.

Every test here is marked ``spark`` and ``slow``; ``make unit`` runs this folder in a pytest process of its
own (one Spark session: starting one costs seconds) beside the rest of the suite on two xdist workers.
Skipped without pyspark or Java. No Python UDFs may run on Spark: the workers are not told which Python to
use, so an expression that needs one fails here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SPARK_OK = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.spark)
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"))
            if not SPARK_OK:
                item.add_marker(pytest.mark.skip(reason="Spark needs Java (none on PATH, no JAVA_HOME)"))


@dataclass(frozen=True)
class Lake:
    """The demo store (DuckDB) and the same tables exported as Parquet (``cxlab export parquet``)."""

    db: Path
    tables: Path

    @property
    def spark_url(self) -> str:
        return f"spark://local[2]?tables={self.tables}"


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A 300-customer demo store and its export; built once per worker."""
    from cxlab.store import Store
    from cxlab.store.lake import export_tables
    from tests.journey.conftest import build_demo_store

    out = tmp_path_factory.mktemp("spark_lake")
    db, _ = build_demo_store(out / "store", customers=300, seed=5)
    with Store(db, read_only=True) as s:
        export_tables(s.con, out / "lake", (db.parent / "cxlab.toml").read_text(encoding="utf-8")
                      if (db.parent / "cxlab.toml").exists() else _default(), db.parent)  # fmt: skip
    return Lake(db=db, tables=out / "lake")


def _default() -> str:
    from cxlab.config import default_toml

    return default_toml()


@pytest.fixture(scope="session")
def duck(lake: Lake) -> Iterator[object]:
    """The demo store opened read-only (:class:`cxlab.store.Store`)."""
    from cxlab.store import Store

    with Store(lake.db, read_only=True) as s:
        yield s


@pytest.fixture(scope="session")
def spark(lake: Lake) -> Iterator[object]:
    """The same tables on an in-process Spark session (:class:`cxlab.store.SparkStore`, ``local[2]``)."""
    pytest.importorskip("pyspark")
    from cxlab.store import open_store

    with open_store(lake.spark_url) as s:
        yield s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server on a free local port (pyspark's ``SparkConnectServer``, ``local[2]``), for as
    long as the tests run; its ``sc://127.0.0.1:PORT`` address."""
    pyspark = pytest.importorskip("pyspark")
    home = Path(pyspark.__file__).parent
    jars = sorted((home / "jars").glob("spark-connect_*.jar"))
    if not jars:
        pytest.skip("this pyspark has no Spark Connect server jar")
    port = _free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--master", "local[2]", "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.session.timeZone=UTC",
             "--conf", "spark.sql.shuffle.partitions=4", "--jars", str(jars[0])],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the Spark Connect server stopped: {log.read_text(errors='replace')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Spark Connect server did not start within 120 s")
        yield f"sc://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
