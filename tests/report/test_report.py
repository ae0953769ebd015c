"""The report is one self-contained file; customer text is escaped; it renders in a real browser."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest

from cxlab.pipeline import build_report
from cxlab.report import render_report
from cxlab.report.sections import build_sections
from cxlab.store import Store
from cxlab.voice.analysis import analyze_feedback

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def report(tmp_path: Path) -> Path:
    with Store(tmp_path / "cxlab.duckdb") as s:
        s.ingest(
            "events",
            pa.table(
                {
                    "event_id": ["1", "2"],
                    "ts": ["2024-05-01", "2024-05-02"],
                    "anonymous_id": ["a", "a"],
                    "event": ["ad_click", "purchase"],
                    "channel": ["email", None],
                    "touchpoint": ["search_ad", "checkout"],
                }
            ),
        )
        return build_report(s, tmp_path / "report.html", subtitle=HOSTILE).path


class Tags(HTMLParser):
    """Collects the attributes of every tag (script bodies are CDATA, so plotly.js text is not parsed)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_self_contained_and_escaped(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    parser = Tags()
    parser.feed(html)
    assert not [a for t, a in parser.tags if t in ("script", "link", "img") and ("src" in a or "href" in a)]
    assert 'id="cx-plotly"' in html and html.count('class="cx-figure"') >= 2  # Plotly packed, figures as data


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_renders_offline_in_chromium(report: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=args)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("http*://**", lambda route: route.abort())  # prove it needs no network
        page.goto(report.as_uri())
        page.wait_for_function("document.documentElement.dataset.figures", timeout=60_000)
        state = page.evaluate("document.documentElement.dataset.figures")
        plots = page.locator(".js-plotly-plot .main-svg").count()
        png = tmp_path / "report.png"
        page.screenshot(path=str(png), full_page=True)
        browser.close()
    assert state == "drawn" and errors == [] and plots >= 2 and png.stat().st_size > 10_000


SCRIPT = "<script>alert(1)</script>"


def _strings(doc: object) -> list[str]:
    """Every string inside a figure's JSON."""
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list | tuple):
        return [s for v in doc for s in _strings(v)]
    return []


def test_customer_text_is_escaped_in_cells_and_hover_texts(tmp_path: Path) -> None:
    """Hostile names in events and hostile review texts reach table cells, summaries and figure labels: the
    HTML has no element from the data, and every figure string holds it escaped (Plotly renders HTML)."""
    n = 40
    people = [f"c{i}" for i in range(n)]
    events = pa.table(
        {
            "event_id": [f"e{i}-{k}" for i in range(n) for k in range(3)],
            "ts": [f"2024-05-01 10:0{k}" for _ in range(n) for k in range(3)],
            "customer_id": [p for p in people for _ in range(3)],
            "event": ["page_view", "add_to_cart", "page_view"] * n,
            "channel": ["email"] * (3 * n),
            "touchpoint": ["site", "cart", HOSTILE] * n,
        }
    )
    reviews = ["The parcel arrived late and damaged " + SCRIPT, "Lovely product, fast delivery " + HOSTILE]
    feedback = pa.table(
        {
            "feedback_id": [f"f{i}" for i in range(n)],
            "customer_id": people,
            "ts": ["2024-05-02"] * n,
            "source": ["review"] * n,
            "touchpoint": ["delivery" if i % 2 else HOSTILE for i in range(n)],
            "score": [1.0 if i % 2 else 5.0 for i in range(n)],
            "text": [f"{reviews[i % 2]} {i}" for i in range(n)],
        }
    )
    with Store(tmp_path / "cxlab.duckdb") as s:
        s.ingest("events", events)
        s.ingest("feedback", feedback)
        analyze_feedback(s)
        built = build_sections(s)
    html = render_report(built.sections, tmp_path / "report.html").read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t == "img"]
    assert not [a for _, a in parser.tags if any(k.startswith("on") for k in a)]
    assert SCRIPT not in html and HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the data is shown, escaped
    by_id = {sec.id: sec for sec in built.sections}
    paths = by_id["paths"].table
    assert paths is not None
    paths_cells = " ".join(paths["path"])
    assert HOSTILE in paths_cells  # raw in the table: escaped once, when rendered
    texts = [t for sec in built.sections for f in sec.figures for t in _strings(f.to_plotly_json())]
    assert not [t for t in texts if "<img" in t or "<script" in t]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in t for t in texts)
