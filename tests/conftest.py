"""Shared fixtures: a fresh store in a temp folder, and helpers to write input files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cxlab.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "cxlab.duckdb") as s:
        yield s


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
