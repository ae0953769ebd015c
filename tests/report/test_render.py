"""How the report shows a section: aligned and escaped tables, figures that fit, details folded, no blank card,
Plotly packed once and intact."""

from __future__ import annotations

import base64
import gzip
import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.offline
import pytest

import cxlab.report.sections as report_sections
from cxlab.report.figures import has_data, responsive
from cxlab.report.html import EMPTY, render_report
from cxlab.report.section import Section
from cxlab.report.tables import cell, looks_numeric, table
from cxlab.store import Store


class Cells(HTMLParser):
    """The class of every ``th``/``td`` with its text, and the body of every ``script``."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str, str]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("th", "td", "script"):
            self._open, self._text = (tag, dict(attrs)), ""

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == self._open[0]:
            attrs = self._open[1]
            if tag == "script":
                self.scripts.append((attrs, self._text))
            else:
                self.cells.append((tag, attrs.get("class") or "", self._text))
            self._open = None


def render(tmp_path: Path, *sections: Section) -> str:
    return render_report(list(sections), tmp_path / "r.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "numeric"),
    [("EUR 1,234", True), ("12.3%", True), ("-0.6 points", True), ("< 0.001", True), ("1.2% – 3.4%", True),
     ("4,968", True), ("3.2×", True), ("–", None), ("", None), ("organic_search", False), ("2024-06-01", False),
     ("12 orders", False), ("C001", False), ("EUR", False)],
)  # fmt: skip
def test_what_reads_as_a_figure(text: str, numeric: bool | None) -> None:
    assert looks_numeric(text) is numeric


def test_columns_align_by_what_they_hold_and_cells_read_plainly() -> None:
    df = pd.DataFrame(
        {
            "channel": ["email", "social_ads"],
            "revenue": ["EUR 1,234", "–"],
            "ci": ["1.0% – 2.0%", "3.0% – 4.0%"],
            "orders": [1234, 5],
            "share": [0.123456, float("nan")],
            "month": [pd.Timestamp("2024-01-01"), pd.NaT],
            "id": ["C001", "42"],
        }
    )
    t = table(df)
    assert [(c.label, c.numeric, c.ranges) for c in t.columns] == [
        ("channel", False, False), ("revenue", True, False), ("ci", True, True), ("orders", True, False),
        ("share", True, False), ("month", False, False), ("id", False, False),
    ]  # fmt: skip
    assert t.rows[0][3:6] == ["1,234", "0.1235", "2024-01-01"]
    assert t.rows[1][4:6] == ["–", "–"]
    assert cell(True) == "yes" and cell(None) == "–"


def test_tables_are_ours_escaped_aligned_and_labelled(tmp_path: Path) -> None:
    hostile = "<b onmouseover=alert(1)>x</b>"
    df = pd.DataFrame({"name": [hostile, "plain"], "revenue": ["EUR 5", "EUR 7"]})
    html = render(tmp_path, Section("s", "S", "summary", table=df))
    assert hostile not in html and "&lt;b onmouseover=alert(1)&gt;x&lt;/b&gt;" in html
    assert 'class="dataframe' not in html  # not pandas' to_html
    p = Cells()
    p.feed(html)
    assert [(tag, cls) for tag, cls, _ in p.cells[:2]] == [("th", ""), ("th", "num")]
    tds = [(cls, text) for tag, cls, text in p.cells if tag == "td"]
    assert tds == [("", hostile), ("num", "EUR 5"), ("", "plain"), ("num", "EUR 7")]  # the parser unescapes
    assert html.count('data-label="revenue"') == 2 and html.count('data-label="name"') == 2


def test_figures_fit_their_card() -> None:
    fig = go.Figure(go.Bar(x=[1, 2], y=["a", "b"], orientation="h"))
    fig.update_layout(width=900, height=5000, margin={"l": 320, "r": 30, "t": 50, "b": 40})
    fit = responsive(fig)
    assert fit.layout.width is None and fit.layout.autosize is True
    assert fit.layout.margin.l < 50 and fit.layout.yaxis.automargin is True and fit.layout.xaxis.automargin
    assert 240 <= fit.layout.height <= 1400
    assert fig.layout.width == 900  # the section's own figure is left as it was


def test_a_figure_without_data_points_is_not_drawn(tmp_path: Path) -> None:
    empty, sankey = (
        go.Figure(go.Bar(x=[], y=[])),
        go.Figure(go.Sankey(node={"label": []}, link={"value": []})),
    )
    full = go.Figure(go.Scatter(x=[1], y=[2]))
    assert not has_data(empty) and not has_data(sankey) and not has_data(go.Figure()) and has_data(full)
    html = render(tmp_path, Section("a", "A", "one chart", figures=[empty, full, sankey]))
    assert html.count('class="cx-figure"') == 1


def test_no_card_is_blank_and_details_are_folded(tmp_path: Path) -> None:
    html = render(
        tmp_path,
        Section("blank", "Blank", ""),
        Section("untold", "Untold", "", table=pd.DataFrame({"a": ["x"]})),
        Section("told", "Told", "Plain words.", details="Welch t-test, n = 40."),
    )
    found = re.findall(r'<section id="([^"]+)">\s*<h2>.*?</h2>\s*<p class="summary">(.*?)</p>', html, re.S)
    summaries = {ident: unescape(text) for ident, text in found}
    assert summaries["blank"] == EMPTY and summaries["untold"] and summaries["told"] == "Plain words."
    folded = re.findall(
        r"<details class=\"method\"><summary>How this was measured</summary><p>(.*?)</p>", html
    )
    assert folded == ["Welch t-test, n = 40."]
    assert 'under "How this was measured"' in unescape(html.split("<footer>")[1])


def test_plotly_is_packed_once_and_unpacks_to_the_library(tmp_path: Path) -> None:
    figs = [go.Figure(go.Bar(x=[1], y=[i])) for i in range(3)]
    html = render(
        tmp_path, Section("a", "A", "charts", figures=figs), Section("b", "B", "more", figures=figs)
    )
    p = Cells()
    p.feed(html)
    packed = [body for attrs, body in p.scripts if attrs.get("id") == "cx-plotly"]
    assert len(packed) == 1
    assert gzip.decompress(base64.b64decode(packed[0])).decode("utf-8") == plotly.offline.get_plotlyjs()
    assert len(html) < 0.5 * len(plotly.offline.get_plotlyjs())
    templates = json.loads(next(body for attrs, body in p.scripts if attrs.get("id") == "cx-templates"))
    figures = [json.loads(body) for attrs, body in p.scripts if attrs.get("class") == "cx-figure"]
    assert len(figures) == 6 and len(templates) == 1  # the shared template is written once
    assert all("template" not in f["layout"] for f in figures)
    assert not [a for a, _ in p.scripts if a.get("src")]


def test_a_report_without_figures_carries_no_plotly(tmp_path: Path) -> None:
    html = render(tmp_path, Section("a", "A", "words only"))
    assert 'id="cx-plotly"' not in html and len(html) < 50_000


def test_sections_report_progress_and_keep_their_order(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []

    def one(_: Store) -> Section:
        return Section("one", "One", "1")

    def two(_: Store) -> Section:
        raise ValueError("broken")

    with Store(tmp_path / "cxlab.duckdb") as s:
        built = report_sections.run_sections(s, [one, two], progress=lambda *a: seen.append(a))
    assert seen == [("report sections", 0, 2), ("report sections", 1, 2), ("report sections", 2, 2)]
    assert [x.id for x in built.sections] == ["one", "two", "not-run"]


def test_key_figures_lead_and_an_area_put_first_comes_before_them(monkeypatch: pytest.MonkeyPatch) -> None:
    makers = report_sections.registered()
    assert [m.__name__ for m in makers[:2]] == ["next_section", "overview_section"]  # what to do, then KPIs
    first = type("Area", (), {"SECTIONS": [lambda store: Section("next", "What to do next", "")]})
    monkeypatch.setattr(report_sections, "AREAS", (first, *report_sections.AREAS))
    assert (
        report_sections.registered()[1] is makers[0] and len(report_sections.registered()) == len(makers) + 1
    )
