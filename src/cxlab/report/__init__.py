"""Static, self-contained HTML reports (one file, Plotly packed inside, works offline).

:mod:`cxlab.report.sections` runs the analyses; it is not imported here, so that capability packages can
import :class:`Section` without a cycle.
"""

from cxlab.report.html import render_report
from cxlab.report.section import Section

__all__ = ["Section", "render_report"]
