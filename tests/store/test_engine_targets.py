"""``--db`` as a Spark target: parsing the URL, ``[engine]`` in cxlab.toml, and the errors (no Spark started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlab.config import ConfigError, default_toml
from cxlab.store import SparkStore, Store, open_store
from cxlab.store.engine import is_engine_url, parse_target


def test_urls_name_the_session_and_the_tables(tmp_path: Path) -> None:
    t = parse_target(f"spark://local[2]?tables={tmp_path}")
    assert (t.kind, t.master, t.tables, t.format) == ("local", "local[2]", str(tmp_path), "parquet")
    assert parse_target(f"spark://local[*]?tables={tmp_path}").master == "local[*]"
    assert parse_target(f"spark://yarn?tables={tmp_path}").master == "yarn"
    assert parse_target("spark://10.0.0.5:7077?database=shop").master == "spark://10.0.0.5:7077"
    c = parse_target("sc://127.0.0.1:15002?tables=s3a://lake/shop&format=delta")
    assert (c.kind, c.master, c.tables, c.format) == (
        "connect",
        "sc://127.0.0.1:15002",
        "s3a://lake/shop",
        "delta",
    )
    assert c.location("events") == "s3a://lake/shop/events"
    assert is_engine_url("sc://h:1?tables=x") and is_engine_url("SPARK://local?tables=x")
    assert not is_engine_url("cxlab.duckdb") and not is_engine_url("duckdb://x.db")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("spark://local[2]", "say where the tables are"),
        ("spark://?tables=x", "no master"),
        ("sc://?tables=x", "no host:port"),
        ("spark://local[2]?tables=x&colour=red", "unknown parameter 'colour'"),
        ("spark://local[2]?tables=/no/such/lake", "no such folder"),
        ("sc://h:1?tables=x&format=csv", "format must be parquet or delta"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises((ValueError, FileNotFoundError), match=says):
        parse_target(url)


def test_engine_section_of_cxlab_toml(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "cxlab.toml").write_text(default_toml().replace('"My shop"', '"From the lake"'))
    cfg = tmp_path / "cxlab.toml"
    cfg.write_text(
        default_toml()
        + '\n[engine]\nurl = "spark://local[4]"\ntables = "lake"\n[engine.paths]\nevents = "/data/ev"\n'
        + '[engine.conf]\n"spark.driver.memory" = "8g"\n'
    )
    store = open_store(cfg)  # the project's cxlab.toml with [engine]: Spark
    assert isinstance(store, SparkStore)
    t = store.target
    assert (t.master, t.tables, t.conf) == ("local[4]", str(tmp_path / "lake"), {"spark.driver.memory": "8g"})
    assert t.location("events") == "/data/ev" and t.location("orders") == str(tmp_path / "lake" / "orders")
    assert store.config.shop.name == "My shop"  # the project's cxlab.toml, not the lake's copy
    store.close()
    Store(tmp_path / "cxlab.duckdb").close()
    with open_store(tmp_path / "cxlab.duckdb") as duck:  # a DuckDB file is always that file
        assert type(duck) is Store


def test_engine_section_errors_and_plain_stores(tmp_path: Path) -> None:
    cfg = tmp_path / "cxlab.toml"
    cfg.write_text(default_toml() + '\n[engine]\nurl = "spark://local[2]"\n')
    with pytest.raises(ConfigError, match="say where the tables are"):
        open_store(cfg)
    cfg.write_text(default_toml() + '\n[engine]\nurl = "http://x"\ntables = "t"\n')
    with pytest.raises(ConfigError, match=r"engine\.url"):
        open_store(cfg)
    cfg.write_text(default_toml())
    with pytest.raises(ValueError, match="no \\[engine\\] url"):
        open_store(cfg)
    Store(tmp_path / "cxlab.duckdb").close()
    with open_store(tmp_path / "cxlab.duckdb") as s:
        assert type(s) is Store and s.read_only


def test_a_lake_with_its_own_config(tmp_path: Path) -> None:
    (tmp_path / "cxlab.toml").write_text(default_toml().replace('"My shop"', '"From the lake"'))
    with open_store(f"spark://local[2]?tables={tmp_path}") as s:
        assert s.config.shop.name == "From the lake"
    with open_store(f"spark://local[2]?tables={tmp_path}&config={tmp_path / 'cxlab.toml'}") as s:
        assert s.config.shop.name == "From the lake"


def test_one_kind_of_spark_session_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    from cxlab.store import engine

    monkeypatch.setattr(engine, "_sessions", {("local[2]", ()): object()})
    with pytest.raises(ValueError, match="already runs a local Spark session"):
        engine.spark_session(parse_target("sc://127.0.0.1:15002?tables=s3a://x"))
    monkeypatch.setattr(engine, "_sessions", {("sc://h:1", ()): object()})
    with pytest.raises(ValueError, match="already runs a Spark Connect session"):
        engine.spark_session(parse_target("spark://local[4]?database=shop"))


def test_paths_keep_their_plus_signs_and_decode_escapes(tmp_path: Path) -> None:
    lake = tmp_path / "lake+2024 q1"
    lake.mkdir()
    assert parse_target(f"spark://local[2]?tables={tmp_path}/lake+2024%20q1").tables == str(lake)
