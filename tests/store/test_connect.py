"""cxlab.connect: an Ibis connection to the store, by path or by backend URL."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import cxlab
from cxlab.store import init_project


def test_connect_by_path_and_url(tmp_path: Path) -> None:
    db = init_project(tmp_path / "shop")
    with cxlab.Store(db) as s:
        s.ingest(
            "changes",
            pa.table(
                {
                    "change_id": ["c1"],
                    "ts": ["2024-05-01"],
                    "touchpoint": ["checkout"],
                    "description": ["one-page"],
                }
            ),
        )
    con = cxlab.connect(db)
    assert set(con.list_tables()) >= {"events", "customers", "orders", "feedback", "exposures", "changes"}
    assert con.table("changes").description.execute().tolist() == ["one-page"]
    con.disconnect()
    by_url = cxlab.connect(f"duckdb://{db}")
    assert by_url.table("changes").count().execute() == 1


def test_connect_refuses_a_missing_store(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such store"):
        cxlab.connect(tmp_path / "nope.duckdb")
