"""Figures for the HTML shells: which have data, how they fit their card, and their JSON for a ``<script>``.

The analyses build figures for one size; here each is made to fit whatever card it lands in (no fixed width,
axes that make room for their own labels instead of fixed wide margins), and is written as JSON that is safe
inside a ``<script type="application/json">`` element (the page draws it once Plotly has loaded).
"""

from __future__ import annotations

import json
import re
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
    for trace in out.data:
        months = _month_starts(getattr(trace, "x", None))
        if months is not None:  # periods as dates, "Jan 2024", never "2024-01-01T00:00:00"
            axis = getattr(trace, "xaxis", None) or "x"
            out.layout[axis.replace("x", "xaxis", 1)].update(
                type="date", **({"tickformat": "%b %Y"} if months else {})
            )
    return out


_MIDNIGHT = re.compile(r"^\d{4}-\d{2}-(\d{2})(?:[T ]00:00:00(?:\.0+)?)?$")


def _month_starts(values: Any) -> bool | None:
    """For x values that are all dates at midnight (ISO text, timestamps or datetime64): whether they are all
    the first of a month; None for any other x."""
    if values is None or isinstance(values, str) or not _filled(values):
        return None
    texts = [v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values]
    found = [_MIDNIGHT.match(t) for t in texts]
    if not all(found):
        return None
    return all(m is not None and m.group(1) == "01" for m in found)


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
