"""Comparing what DuckDB and Spark return: exact for counts and labels, 1e-9 relative for estimates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def same(a: Any, b: Any, where: str = "result") -> None:
    """``a`` equals ``b``, all the way down (dicts, lists, data frames, arrays); floats to 1e-9 relative
    (engines may sum in another order); None and NaN both mean missing."""
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame), f"{where}: {type(b).__name__} is not a DataFrame"
        assert list(a.columns) == list(b.columns), f"{where}: columns {list(a.columns)} != {list(b.columns)}"
        same(a.to_dict("list"), b.to_dict("list"), where)
    elif isinstance(a, pd.Series | np.ndarray):
        same(list(a), list(b), where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (
            f"{where}: keys {list(a)} != {list(b) if isinstance(b, dict) else b}"
        )
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif _missing(a) or _missing(b):
        assert _missing(a) and _missing(b), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, float | np.floating) or isinstance(b, float | np.floating):
        assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _missing(v: Any) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float | np.floating) and math.isnan(v))
