"""The report is one self-contained file; customer text is escaped; it renders in a real browser."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest

from cxlab.pipeline import build_report
from cxlab.store import Store

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
        return build_report(s, tmp_path / "report.html", subtitle=HOSTILE)


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
    assert "Plotly" in html and html.count('class="js-plotly-plot"') + html.count("Plotly.newPlot") >= 2


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
        page.wait_for_selector(".js-plotly-plot .main-svg")
        plots = page.locator(".js-plotly-plot").count()
        png = tmp_path / "report.png"
        page.screenshot(path=str(png), full_page=True)
        browser.close()
    assert errors == [] and plots >= 2 and png.stat().st_size > 10_000
