"""Sections to template parts: escaped text, tables as escaped HTML, figures as JSON safe inside ``<script>``.

Figures travel as ``<script type="application/json">`` blocks written by :func:`plotly.io.to_json`, which
escapes ``<``, ``>`` and ``/`` (so ``</script>`` in customer text can't end the block); the page's own script
(served from ``/static``, no inline script) parses them and calls ``Plotly.newPlot``. The analyses already
escape customer text inside figures (Plotly renders some strings as HTML), as they do for the static report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup

from cxlab.report.figures import figure_json, has_data
from cxlab.report.section import Section
from cxlab.report.sections import NOT_RUN


@dataclass(frozen=True)
class Part:
    """One rendered section: text to escape, figures as safe JSON, the table as escaped HTML."""

    id: str
    title: str
    summary: str
    figures: list[Markup] = field(default_factory=list)
    table: Markup | None = None
    not_run: bool = False
    details: str = ""
    """The method, intervals and n, shown folded ("How this was measured")."""


CLI_ANALYZE = re.compile(r"run `cxlab voice analyze`( first)?")
SERVED_ANALYZE = "the server analyses new feedback texts in the background: reload in a few minutes"


def served_advice(text: str) -> str:
    """The report's advice as it applies to a served store: the server runs ``voice analyze`` itself (the CLI
    can't open a store the server holds)."""
    return CLI_ANALYZE.sub(SERVED_ANALYZE, text)


def part(s: Section) -> Part:
    """A section as a template part; a "not run" note keeps its title and reason."""
    table = (
        Markup(s.table.to_html(index=False, escape=True, border=0, classes="data"))
        if s.table is not None and len(s.table)
        else None
    )
    return Part(
        s.id,
        s.title,
        served_advice(s.summary),
        [figure_json(f) for f in s.figures if has_data(f)],
        table,
        s.summary.startswith(NOT_RUN),
        s.details,
    )


def parts(sections: list[Section]) -> list[Part]:
    return [part(s) for s in sections]
