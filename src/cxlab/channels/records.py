"""Data frames as JSON-ready records: plain Python numbers, ``None`` for missing, ISO text for times."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd


def plain(v: Any) -> Any:
    """One cell as a JSON-ready value."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NaT or v is None:
        return None
    if isinstance(v, pd.Timestamp | datetime | date):
        return v.isoformat()
    return v


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``table`` as dictionaries of JSON-ready values."""
    return [{str(k): plain(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
