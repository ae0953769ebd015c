"""Figures for the HTML shells: which have data, how they fit their card, and their JSON for a ``<script>``.

The analyses build figures for one size; here each is made to fit whatever card it lands in (no fixed width,
axes that make room for their own labels instead of fixed wide margins), and is written as JSON that is safe
inside a ``<script type="application/json">`` element (the page draws it once Plotly has loaded).
"""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup

DATA_ATTRS = ("x", "y", "z", "values", "labels", "r", "lat", "lon")
"""Trace attributes that hold data points: a trace with none of them filled plots nothing."""
MIN_HEIGHT, DEFAULT_HEIGHT, MAX_HEIGHT = 240, 420, 1400
MARGIN = {"l": 10, "r": 10, "t": 50, "b": 10}
"""Small fixed margins: the axes' ``automargin`` widens them just as much as their labels need."""


def _filled(v: Any) -> bool:
    try:
        return v is not None and len(v) > 0
    except TypeError:  # a scalar
        return v is not None


def has_data(fig: go.Figure) -> bool:
    """Whether the figure plots any data point (an empty store must not draw empty charts)."""
    for trace in fig.data:
        if isinstance(trace, go.Sankey):
            if _filled(trace.link.value) or _filled(trace.node.label):
                return True
        elif any(_filled(getattr(trace, a, None)) for a in DATA_ATTRS):
            return True
    return False


def responsive(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` that takes its card's width: no fixed width, automatic margins on every axis, a
    height within bounds."""
    out = go.Figure(fig)
    height = out.layout.height or DEFAULT_HEIGHT
    out.update_layout(
        width=None, autosize=True, height=min(max(height, MIN_HEIGHT), MAX_HEIGHT), margin=MARGIN
    )
    out.update_xaxes(automargin=True)
    out.update_yaxes(automargin=True)
    return out


def figure_dict(fig: go.Figure) -> dict[str, Any]:
    """The figure as plain JSON data (``data``, ``layout``), as Plotly's own serialiser writes it."""
    return dict(json.loads(pio.to_json(fig, validate=False, engine="json")))


def figure_json(fig: go.Figure) -> Markup:
    """The figure as JSON that is safe inside a ``<script>`` element."""
    return script_json(figure_dict(fig))


def script_json(value: Any) -> Markup:
    """Any JSON-able value as text that is safe inside a ``<script>`` element."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, esc)
    return Markup(text)
