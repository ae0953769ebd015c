"""A report section: the display parts one analysis contributes to the HTML report."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

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
