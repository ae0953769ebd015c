"""Turn a result's ``to_dict()`` into strict JSON: non-finite floats become null, NumPy and pandas scalars
plain Python, dates ISO 8601. Every ``--json`` output and API response goes through :func:`jsonable`, so no
document ever holds a literal ``NaN`` or ``Infinity`` (which standard JSON parsers reject)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def jsonable(doc: Any) -> Any:
    """A copy of ``doc`` made only of dict, list, str, int, float (finite), bool and None."""
    if doc is None or isinstance(doc, bool | str):
        return doc
    if isinstance(doc, int | np.integer):
        return int(doc)
    if isinstance(doc, float | np.floating):
        v = float(doc)
        return v if math.isfinite(v) else None
    if isinstance(doc, np.bool_):
        return bool(doc)
    if isinstance(doc, Mapping):
        return {str(k): jsonable(v) for k, v in doc.items()}
    if isinstance(doc, list | tuple | set | frozenset):
        return [jsonable(v) for v in doc]
    if isinstance(doc, np.ndarray):
        return [jsonable(v) for v in doc.tolist()]
    if isinstance(doc, pd.Timestamp | dt.datetime | dt.date):
        return None if pd.isna(doc) else doc.isoformat()
    if isinstance(doc, Path):
        return str(doc)
    if doc is pd.NaT or doc is pd.NA:
        return None
    return str(doc)


def dumps(doc: Any, indent: int | None = 2) -> str:
    """Strict JSON text of ``doc`` (see :func:`jsonable`)."""
    return json.dumps(jsonable(doc), indent=indent, allow_nan=False, ensure_ascii=False)
