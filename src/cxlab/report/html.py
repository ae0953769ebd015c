"""Render report sections to one self-contained HTML file that works offline, from ``file://`` too.

Plotly's library (4.8 MB of JavaScript) travels gzip-compressed and base64-encoded inside the file (2 MB);
the page unpacks it with the browser's own ``DecompressionStream``, then draws each figure from its JSON
(``<script type="application/json">``, escaped so customer text can't end the block). The figures' shared
Plotly templates are written once. Tables are rendered here (not by pandas): text left, figures right, every
cell escaped by the template, each cell labelled for the stacked layout of narrow screens.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import plotly.offline
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from cxlab.report.figures import figure_dict, has_data, responsive, script_json
from cxlab.report.section import Section
from cxlab.report.tables import Table, table

EMPTY = "Nothing to show: this analysis found no results in the store's data."
"""Said in a section that returned neither a summary, a table nor a figure (never a blank card)."""
NO_SUMMARY = "The table and chart below show what this analysis found."
"""Said above a section's table or chart when the analysis gave no summary of its own."""

_env = Environment(
    loader=PackageLoader("cxlab.report", "templates"), autoescape=select_autoescape(["html", "j2"])
)


@dataclass(frozen=True)
class Part:
    """One section as the template shows it."""

    id: str
    title: str
    summary: str
    details: str
    figures: list[tuple[Markup, int]] = field(default_factory=list)
    """Each figure's JSON (its template left out) and the index of its template."""
    table: Table | None = None


@cache
def packed_plotly() -> str:
    """Plotly's JavaScript, gzip-compressed and base64-encoded (computed once per process)."""
    js = plotly.offline.get_plotlyjs().encode("utf-8")
    return base64.b64encode(gzip.compress(js, compresslevel=9, mtime=0)).decode("ascii")


class _Templates:
    """Plotly layout templates, each kept once (most figures share one)."""

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        self.items: list[Any] = []

    def index(self, template: Any) -> int:
        key = json.dumps(template, sort_keys=True)
        if key not in self.keys:
            self.keys[key] = len(self.items)
            self.items.append(template)
        return self.keys[key]


def _part(s: Section, templates: _Templates) -> Part:
    figures = []
    for f in s.figures:
        if not has_data(f):
            continue
        doc = figure_dict(responsive(f))
        tpl = templates.index(doc["layout"].pop("template", None))
        figures.append((script_json(doc), tpl))
    shown = table(s.table) if s.table is not None and len(s.table) and len(s.table.columns) else None
    summary = s.summary.strip()
    if not summary:
        summary = EMPTY if not figures and shown is None else NO_SUMMARY
    return Part(s.id, s.title, summary, s.details.strip(), figures, shown)


def render_report(
    sections: list[Section], path: str | Path, title: str = "cxlab report", subtitle: str = ""
) -> Path:
    """Write ``sections`` to ``path`` as one HTML file; every text is escaped, figures fit their card."""
    templates = _Templates()
    parts = [_part(s, templates) for s in sections]
    html = _env.get_template("report.html.j2").render(
        title=title,
        subtitle=subtitle,
        sections=parts,
        templates=script_json(templates.items),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        plotly_gz=packed_plotly() if any(p.figures for p in parts) else "",
        with_details=any(p.details for p in parts),
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
