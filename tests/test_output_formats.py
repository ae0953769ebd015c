"""Strict JSON, formula-safe CSV and the one number format per kind."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from cxlab import display
from cxlab.jsonable import dumps, jsonable
from cxlab.spreadsheet import safe_text_sql, write_csv

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd", "-2+3", "\tx", "fine", "a=b"]


def _strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_json_has_no_nan_or_infinity() -> None:
    doc = {
        "a": float("nan"),
        "b": [np.float64("inf"), np.int64(3), 1.5],
        "c": pd.Timestamp("2024-01-01"),
        "d": None,
    }
    out = _strict(dumps(doc))
    assert out == {"a": None, "b": [None, 3, 1.5], "c": "2024-01-01T00:00:00", "d": None}
    assert jsonable({"x": np.bool_(True), "y": pd.NaT}) == {"x": True, "y": None}


def test_csv_cells_cannot_run_as_formulas(tmp_path: Path) -> None:
    path = write_csv(pd.DataFrame({"text": HOSTILE, "n": range(-3, len(HOSTILE) - 3)}), tmp_path / "out.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    texts = [r["text"] for r in rows]
    assert all(not t.startswith(("=", "+", "-", "@", "\t")) for t in texts)
    assert texts[-2:] == ["fine", "a=b"]  # harmless text unchanged
    assert [r["n"] for r in rows][:3] == ["-3", "-2", "-1"]  # numbers stay numbers


def test_safe_text_sql_matches_python() -> None:
    got = duckdb.sql(f"SELECT {safe_text_sql('x')} FROM unnest(?) t(x)", params=[HOSTILE]).fetchall()
    assert [g[0] for g in got] == ["'" + h if h[0] in "=+-@\t" else h for h in HOSTILE]


@pytest.mark.parametrize(
    ("fn", "x", "want"),
    [
        (display.p_value, 1.02e-32, "< 0.001"),
        (display.p_value, 0.0312, "0.031"),
        (display.pct, 0.4361, "43.6%"),
        (display.pct, math.nan, "–"),
        (display.points, -0.012, "-1.2 points"),
        (display.number, 1234567.8, "1,234,568"),
        (display.interval, (0.1234, 0.25), "12.3% – 25.0%"),
        (display.interval, (math.nan, 0.25), "–"),
    ],
)
def test_one_format_per_kind(fn: object, x: object, want: str) -> None:
    assert (fn(*x) if isinstance(x, tuple) else fn(x)) == want  # type: ignore[operator]


def test_money_never_shows_a_missing_amount_as_zero() -> None:
    assert display.money(float("nan"), "EUR") == "–"
    assert display.money(None, "EUR") == "–"
    assert display.money(2566336.4, "EUR") == "EUR 2,566,336"
