"""The report's layout in real Chromium, offline from ``file://``, at desktop (1280 px) and phone (390 px) width:
Plotly unpacks and draws every figure, no table or figure sticks out of its card, the page never scrolls
sideways, and every card says something (a table or figure, or a one-line reason). Run on a small demo shop
(with a deliberately awkward extra section: many columns, long unbroken words) and on an empty store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pytest

from cxlab.pipeline import build_report
from cxlab.report.html import render_report
from cxlab.report.section import Section
from cxlab.report.sections import build_sections
from cxlab.store import Store, init_project
from tests.browser import NEEDS_CHROMIUM, chromium
from tests.journey.conftest import build_demo_store

pytestmark = NEEDS_CHROMIUM

WIDTHS = (1280, 390)
DEMO_CUSTOMERS = 1500
ONE_LINE = 300
"""A card without a table or figure says why in one sentence: one paragraph, at most this many characters."""

LAYOUT = """() => {
  const px = (r) => Math.round(r * 10) / 10;
  const cards = [];
  for (const card of document.querySelectorAll("main section")) {
    const edge = card.getBoundingClientRect();
    const over = [];
    for (const el of card.querySelectorAll("table, .js-plotly-plot")) {
      const r = el.getBoundingClientRect();
      if (r.right > edge.right + 1 || r.left < edge.left - 1) over.push([el.tagName, px(r.right - edge.right)]);
      if (el.scrollWidth > el.clientWidth + 1) over.push([el.tagName, el.scrollWidth - el.clientWidth]);  // cells
    }
    cards.push({
      id: card.id,
      summary: card.querySelector("p.summary").innerText,
      tables: card.querySelectorAll("table").length,
      figures: card.querySelectorAll(".figure").length,
      drawn: [...card.querySelectorAll(".figure")].filter((f) => f.querySelector(".js-plotly-plot svg.main-svg")).length,
      over: over,
    });
  }
  const page = document.documentElement;
  return {state: page.dataset.figures, scroll: page.scrollWidth - page.clientWidth, cards: cards};
}"""


def awkward() -> Section:
    """A card that tries to break the layout: 14 columns, long unbroken words, long text, money and intervals."""
    n = 6
    table = pd.DataFrame(
        {
            "touchpoint": ["shipping_confirmation_email_with_tracking_link_v2"] * n,
            "url": ["https://shop.example/" + "a" * 90] * n,
            "description": ["A long description of a change, repeated so that it needs to wrap. " * 4] * n,
            **{f"revenue {i}": [f"EUR {1234567 + i:,}"] * n for i in range(8)},
            "95% CI": ["-100.0% – +868.9%"] * n,
            "p-value": ["< 0.001"] * n,
            "customers": ["1,234,567"] * n,
        }
    )
    fig = go.Figure(
        go.Bar(x=[5, 3], y=["a touchpoint with a very long name indeed", "another"], orientation="h")
    )
    fig.update_layout(width=1400, margin={"l": 400})
    return Section("awkward", "Awkward", "A section made to overflow.", figures=[fig], table=table)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo shop's report (plus the awkward card) and an empty store's report."""
    out = tmp_path_factory.mktemp("layout")
    db, _ = build_demo_store(out / "demo", DEMO_CUSTOMERS, seed=7)
    with Store(db, read_only=True) as s:
        built = build_sections(s)
    demo = render_report([*built.sections, awkward()], out / "demo.html", title="Demo shop")
    empty_db = init_project(out / "empty")
    with Store(empty_db) as s:
        empty = build_report(s, out / "empty.html").path
    return {"demo": demo, "empty": empty}


def layout(browser: Any, report: Path, width: int) -> tuple[dict[str, Any], list[str]]:
    """Open ``report`` offline at ``width`` px, wait until its figures are drawn, and measure every card."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.route("http*://**", lambda route: route.abort())  # the report needs no network
    page.goto(report.as_uri())
    page.wait_for_function("document.documentElement.dataset.figures", timeout=90_000)
    found: dict[str, Any] = page.evaluate(LAYOUT)
    page.close()
    return found, errors


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("which", ["demo", "empty"])
def test_every_card_fits_and_says_something(reports: dict[str, Path], which: str, width: int) -> None:
    with chromium() as browser:
        found, errors = layout(browser, reports[which], width)
    assert errors == []
    assert found["state"] == "drawn"  # Plotly unpacked from the file itself and every figure was drawn
    assert found["scroll"] <= 0, "the page scrolls sideways"
    cards = found["cards"]
    assert [c["id"] for c in cards if c["over"]] == []
    for c in cards:
        assert c["summary"].strip(), c["id"]
        assert c["drawn"] == c["figures"], c["id"]  # an svg in each figure div
        if not c["tables"] and not c["figures"]:
            assert "\n" not in c["summary"].strip() and len(c["summary"]) <= ONE_LINE, c["id"]
    if which == "demo":
        assert sum(c["figures"] for c in cards) >= 15 and [c["id"] for c in cards[:2]] == ["next", "overview"]
        awkward_card = next(c for c in cards if c["id"] == "awkward")
        assert awkward_card["tables"] == 1 and awkward_card["drawn"] == 1
    else:
        assert all(c["figures"] == 0 for c in cards) and cards[-1]["id"] == "not-run"


def test_the_demo_report_is_one_small_file(reports: dict[str, Path]) -> None:
    """Plotly (4.8 MB of JavaScript) travels compressed: the whole demo report stays under 3 MB (5.1 MB when
    the library was inlined as text), the empty store's report without charts has no library at all."""
    assert reports["demo"].stat().st_size < 3_000_000
    assert reports["empty"].stat().st_size < 100_000
