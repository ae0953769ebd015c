"""Static, self-contained HTML reports (Plotly inlined, works offline)."""

from cxlab.report.html import render_report
from cxlab.report.section import Section
from cxlab.report.sections import build_sections

__all__ = ["Section", "build_sections", "render_report"]
