"""CSV files people open in a spreadsheet (rejects files, ``--out`` exports), safe from formula injection.

A cell of text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (``=HYPERLINK(…)``, ``+cmd|…``). Following OWASP's advice, such text is
written with a leading apostrophe, which spreadsheets show as plain text; numbers are written as they are.
Every CSV cxlab writes for people goes through :func:`write_csv` or, inside DuckDB, :func:`safe_text_sql`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> Any:
    """``value`` with a leading apostrophe when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_text_sql(expr: str) -> str:
    """DuckDB SQL for :func:`safe_text` of a text expression."""
    return f"(CASE WHEN regexp_matches({expr}, '^[=+\\-@\\t\\r]') THEN '''' || {expr} ELSE {expr} END)"


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as UTF-8 CSV with every text cell made safe; creates the folder; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            safe[col] = safe[col].map(safe_text)
    safe.columns = [safe_text(str(c)) for c in safe.columns]
    safe.to_csv(out, index=False)
    return out
