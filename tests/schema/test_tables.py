"""The canonical tables: Arrow schemas, DuckDB DDL and config agree."""

import duckdb
import pyarrow as pa
import pytest

from cxlab.config import Config, ConfigError
from cxlab.schema import TABLES, table_spec


@pytest.mark.parametrize("name", list(TABLES))
def test_ddl_round_trips_to_the_arrow_schema(name: str) -> None:
    spec = TABLES[name]
    con = duckdb.connect()
    con.execute(spec.ddl())
    got = con.execute(f'SELECT * FROM "{name}"').to_arrow_table().schema
    assert got.names == spec.arrow_schema.names
    for f in spec.arrow_schema:
        assert got.field(f.name).type == f.type, f.name


def test_keys_are_columns_and_required() -> None:
    for spec in TABLES.values():
        for k in spec.key:
            assert spec.column(k).required, (spec.name, k)


def test_unknown_table_names_the_choices() -> None:
    with pytest.raises(KeyError, match="expected one of events, customers"):
        table_spec("evnts")


def test_items_are_a_list_of_structs() -> None:
    t = TABLES["orders"].arrow_schema.field("items").type
    assert pa.types.is_list(t) and [f.name for f in t.value_type] == ["product_id", "quantity", "price"]


def test_default_config_maps_every_touchpoint_to_a_stage() -> None:
    cfg = Config.default()
    assert cfg.journey.stages[0] == "awareness"
    assert all(s in cfg.journey.stages for s in cfg.journey.touchpoints.values())
    assert "social_ads" in cfg.channels.names and set(cfg.channels.paid) <= set(cfg.channels.names)


def test_config_errors_name_file_and_field() -> None:
    bad = """
[journey]
stages = ["see", "think"]
[journey.touchpoints]
site = "do"
[channels]
names = ["email"]
"""
    with pytest.raises(ConfigError, match=r"^my\.toml: journey: .*unknown stages \['do'\]"):
        Config.parse_toml(bad, source="my.toml")
    with pytest.raises(ConfigError, match=r"^x\.toml: not valid TOML"):
        Config.parse_toml("[journey", source="x.toml")
    renamed = Config.parse_toml(bad.replace('"do"', '"think"'))
    assert renamed.stage_of("site") == "think"
