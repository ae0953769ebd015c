"""A report section: the display parts one analysis contributes to the HTML report."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go


@dataclass
class Section:
    """One part of the report: a title, a sentence on method and n, figures and a table."""

    id: str
    title: str
    summary: str
    figures: list[go.Figure] = field(default_factory=list)
    table: pd.DataFrame | None = None
