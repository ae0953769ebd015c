"""A section's table as the HTML shells show it: every cell as text, each column aligned by what it holds.

A column whose cells all read as figures (numbers, money, percentages, points, intervals, "< 0.001") is
right-aligned; any other column is text, left-aligned. Cells keep their column's name (``data-label``) so a
narrow screen can show each row as a stack of "label: value" lines. Escaping is left to the template
(autoescape), so every cell and header is escaped exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from cxlab.display import DASH, cell

_FIGURE = re.compile(
    r"""^(?:[<>≤≥~≈]\s*)?            # a bound: "< 0.001"
    (?:[A-Z]{3}\s)?                  # a currency: "EUR 1,234"
    [−+\-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?  # the number: "1,234.5", "-3", "0.25"
    \s?(?:%|‰|×|x|pt|pts|pp|points?|days?|hours?|h|min|s|weeks?|months?)?$  # a unit
    """,
    re.VERBOSE,
)
_RANGE = re.compile(r"\s+(?:–|to)\s+")


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool
    """Right-aligned: every cell reads as a figure."""
    ranges: bool = False
    """Some cells are intervals (``1.2% – 3.4%``), which may wrap between their bounds."""


@dataclass(frozen=True)
class Table:
    """A table ready for the template: column labels with their alignment, and rows of cell texts."""

    columns: list[Column]
    rows: list[list[str]]


def looks_numeric(text: str) -> bool | None:
    """True when ``text`` reads as a figure, False when it is words, None when it says nothing (empty, –)."""
    t = text.strip()
    if t in ("", DASH, "-"):
        return None
    parts = _RANGE.split(t)
    return all(_FIGURE.match(p) is not None for p in parts)


def numeric_column(values: list[str]) -> bool:
    """A column is right-aligned when it holds at least one figure and nothing but figures (and dashes)."""
    seen = [v for v in (looks_numeric(x) for x in values) if v is not None]
    return bool(seen) and all(seen)


def table(df: pd.DataFrame) -> Table:
    """``df`` (its index left out) as cell texts with each column's alignment."""
    rows = [[cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    columns = []
    for i, name in enumerate(df.columns):
        values = [r[i] for r in rows]
        numeric = numeric_column(values)
        columns.append(Column(str(name), numeric, numeric and any(_RANGE.search(v) for v in values)))
    return Table(columns, rows)
