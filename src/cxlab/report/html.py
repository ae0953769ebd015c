"""Render report sections to one self-contained HTML file (Plotly's JS inlined from the package)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import plotly.offline
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from cxlab.report.section import Section

_env = Environment(
    loader=PackageLoader("cxlab.report", "templates"), autoescape=select_autoescape(["html", "j2"])
)


def render_report(
    sections: list[Section], path: str | Path, title: str = "cxlab report", subtitle: str = ""
) -> Path:
    """Write ``sections`` to ``path``; every text is escaped, figures are Plotly divs."""
    parts = []
    for s in sections:
        figures = [
            Markup(f.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))
            for f in s.figures
        ]
        table = (
            Markup(s.table.to_html(index=False, escape=True, border=0, classes="data"))
            if s.table is not None
            else None
        )
        parts.append({"id": s.id, "title": s.title, "summary": s.summary, "details": s.details, "figures": figures, "table": table})
    html = _env.get_template("report.html.j2").render(
        title=title,
        subtitle=subtitle,
        sections=parts,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        plotly_js=Markup(plotly.offline.get_plotlyjs()),
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
