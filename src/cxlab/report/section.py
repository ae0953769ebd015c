"""A report section: the display parts one analysis contributes to the HTML report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go

from cxlab.errors import MissingData
from cxlab.store import SparkStore, Store

NOT_RUN = "Not run"
"""How the summary of a section that could not run begins: ``Not run (missing data): why``."""


@dataclass
class Section:
    """One part of the report: a title, a plain-language summary, figures and a table.

    ``summary`` says what was found in plain words (no test names, no p-values); ``details`` holds the method,
    intervals and n, shown folded ("How this was measured") so they are one click away, not gone.
    """

    id: str
    title: str
    summary: str
    figures: list[go.Figure] = field(default_factory=list)
    table: pd.DataFrame | None = None
    details: str = ""


F = TypeVar("F", bound=Callable[..., Any])


def titled(title: str) -> Callable[[F], F]:
    """Give a report section's function the title its section shows, so a "not run" note about it is titled
    the same (``Strengths and weaknesses``, not ``Journey swot``)."""

    def mark(make: F) -> F:
        make.title = title  # type: ignore[attr-defined]
        return make

    return mark


def duckdb_only(store: Store, why: str) -> None:
    """Raise :class:`MissingData` (``not available on Spark: why``) when ``store`` runs on Spark, for a section
    whose data only a DuckDB store has (cxlab's own tables; Spark reads just the canonical ones), so it says so
    in one line and the rest of the report runs."""
    if isinstance(store, SparkStore):
        raise MissingData(f"not available on Spark: {why}")
