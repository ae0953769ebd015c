"""``cxlab export parquet``: every canonical table under OUT/<table>/, events by date, read back unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.schema.tables import TABLES
from cxlab.store import Store, open_store
from cxlab.store.lake import PARTITIONED, TMP_PREFIX, export_tables, parquet_glob

EVENTS = """event_id,ts,customer_id,anonymous_id,session_id,event,channel,touchpoint,revenue
e1,2026-03-01T10:00:00Z,c1,a1,s1,page_view,organic_search,site,
e2,2026-03-01T23:59:59Z,c1,a1,s1,purchase,organic_search,checkout,19.5
e3,2026-03-02T00:00:00Z,,a2,s2,page_view,paid_search,site,
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    db = tmp_path / "shop" / "cxlab.duckdb"
    db.parent.mkdir()
    (tmp_path / "events.csv").write_text(EVENTS, encoding="utf-8")
    with Store(db) as s:
        s.ingest("events", tmp_path / "events.csv")
    return db


def test_every_table_is_written_and_reads_back_the_same(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "lake"
    res = CliRunner().invoke(app, ["export", "parquet", "--db", str(shop), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["tables"]["events"] == 3 and set(doc["tables"]) == set(TABLES)
    # no temporary folder left; the tombstones of erased customers travel with the tables
    assert {p.name for p in out.iterdir()} == {*TABLES, "cxlab.toml", "_cxlab_tombstones"}
    # events by UTC date, hive style; an event at 23:59:59 stays on its day
    days = sorted(p.name for p in (out / "events").iterdir())
    assert days == ["date=2026-03-01", "date=2026-03-02"]
    assert PARTITIONED == {"events": "ts"}
    con = duckdb.connect()
    with Store(shop, read_only=True) as s:
        for table in TABLES:
            cols = ", ".join(f'"{c}"' for c in TABLES[table].column_names)
            key = ", ".join(f'"{k}"' for k in TABLES[table].key)
            mine = s.con.execute(f'SELECT {cols} FROM "{table}" ORDER BY {key}').fetchall()
            back = con.execute(f"SELECT {cols} FROM {parquet_glob(out, table)} ORDER BY {key}").fetchall()
            assert back == mine, table


def test_export_again_replaces_and_config_travels(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "lake"
    (shop.parent / "cxlab.toml").write_text(
        (Path(__file__).parents[2] / "src/cxlab/default.toml")
        .read_text(encoding="utf-8")
        .replace('name = "My shop"', 'name = "Lakeside"'),
        encoding="utf-8",
    )
    (shop.parent / "flows").mkdir()
    (shop.parent / "flows" / "winback.toml").write_text('id = "winback"\n', encoding="utf-8")
    with Store(shop, read_only=True) as s:
        export_tables(s.con, out, (shop.parent / "cxlab.toml").read_text(encoding="utf-8"), shop.parent)
        first = sorted(p.name for p in (out / "events").rglob("*.parquet"))
        export_tables(s.con, out, (shop.parent / "cxlab.toml").read_text(encoding="utf-8"), shop.parent)
    again = sorted(p.name for p in (out / "events").rglob("*.parquet"))
    assert len(again) == len(first) == 2 and set(again).isdisjoint(first)  # replaced, not appended
    assert 'name = "Lakeside"' in (out / "cxlab.toml").read_text(encoding="utf-8")
    assert (out / "flows" / "winback.toml").read_text(encoding="utf-8") == 'id = "winback"\n'  # flows travel
    with open_store(f"spark://local[2]?tables={out}") as lake:  # and are found there (no Spark started)
        assert lake.project_dir == out and lake.config.shop.name == "Lakeside"
    assert not [p for p in out.iterdir() if p.name.startswith(TMP_PREFIX)]
    assert all(re.fullmatch(r"part-[0-9a-f-]+\.parquet", n) for n in again)


def test_bad_targets_say_what_is_wrong(shop: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["export", "parquet", "--db", str(tmp_path / "none.duckdb"), "--out", "x"])
    assert res.exit_code == 2 and "no such store" in res.output
    (tmp_path / "file").write_text("x")
    res = runner.invoke(app, ["export", "parquet", "--db", str(shop), "--out", str(tmp_path / "file")])
    assert res.exit_code == 2 and "not a folder" in res.output


def test_export_refuses_a_folder_that_is_no_lake_and_sweeps_what_a_killed_writer_left(
    shop: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "project"
    (mine / "orders").mkdir(parents=True)
    (mine / "orders" / "raw.csv").write_text("order_id\n1\n", encoding="utf-8")
    with Store(shop, read_only=True) as s:
        with pytest.raises(FileExistsError, match="not a lake cxlab wrote"):
            export_tables(s.con, mine, "")
        assert (mine / "orders" / "raw.csv").exists()  # untouched
        out = tmp_path / "lake"
        export_tables(s.con, out, "")
        (out / f"{TMP_PREFIX}killed").mkdir()
        (out / f"{TMP_PREFIX}killed" / "stage.duckdb").write_bytes(b"rows of a killed ingest")
        export_tables(s.con, out, "")
    assert not [p for p in out.iterdir() if p.name.startswith(TMP_PREFIX)]
