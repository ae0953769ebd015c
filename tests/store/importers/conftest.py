"""Shared helpers for the importer tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from cxlab.config import Config
from cxlab.schema import TABLES

FIXTURES = Path(__file__).parent / "fixtures"


def all_strings(table: pa.Table) -> Iterator[str]:
    """Every string value in a table, nested values (lists, structs) included."""

    def walk(v: object) -> Iterator[str]:
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            for x in v.values():
                yield from walk(x)
        elif isinstance(v, list):
            for x in v:
                yield from walk(x)

    for row in table.to_pylist():
        yield from walk(row)


def assert_canonical(table: pa.Table, name: str) -> None:
    """The table has exactly the canonical schema and every value meets its column's rules (required,
    allowed values, pattern, minimum, JSON) and the table's key is unique."""
    spec = TABLES[name]
    assert table.schema.equals(spec.arrow_schema, check_metadata=True), (table.schema, spec.arrow_schema)
    cfg = Config.default()
    rows = table.to_pylist()
    for col in spec.columns:
        allowed = col.enum or (cfg.enum_values(col.enum_from) if col.enum_from else None)
        for i, row in enumerate(rows):
            v = row[col.name]
            where = f"{name}[{i}].{col.name} = {v!r}"
            if v is None:
                assert not col.required, where
                continue
            if allowed is not None:
                assert v in allowed, where
            if col.pattern is not None:
                assert re.fullmatch(col.pattern, v), where
            if col.min is not None:
                assert v >= col.min, where
            if col.json:
                assert isinstance(json.loads(v), dict), where
    keys = [tuple(r[k] for k in spec.key) for r in rows]
    assert len(keys) == len(set(keys)), f"{name}: duplicate keys"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(name="all_strings")
def _all_strings() -> object:
    return all_strings


@pytest.fixture(name="assert_canonical")
def _assert_canonical() -> object:
    return assert_canonical
