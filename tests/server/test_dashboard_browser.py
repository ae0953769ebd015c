"""The dashboard in real Chromium against a real ``cxlab serve``: log in, open every page, use the funnel
builder and a filter; every figure renders (an svg in each plot div), no console errors, no failed requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cxlab.server.dashboard.pages import PAGES
from tests.browser import NEEDS_CHROMIUM, chromium
from tests.server.conftest import add_keys, copy_store
from tests.server.live import serving

pytestmark = NEEDS_CHROMIUM
PATHS = ["/" if p.slug == "overview" else f"/{p.slug}" for p in PAGES]


@dataclass
class Watched:
    """A Playwright page with every console error, failed request, HTTP error and dialog it saw."""

    page: Any
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextmanager
def browser_page(base: str) -> Iterator[Watched]:
    """A headless Chromium page that records problems (see :class:`Watched`)."""
    with chromium() as browser:
        page = browser.new_context(base_url=base).new_page()
        w = Watched(page)
        page.on(
            "console",
            lambda m: w.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: w.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: w.problems.append(f"request failed: {r.url} {r.failure}"))
        page.on(
            "response",
            lambda r: w.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
        )

        def dialog(d: Any) -> None:
            w.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        yield w


def log_in(w: Watched, key: str) -> None:
    w.page.goto("/")
    assert urlsplit(w.page.url).path == "/login"
    w.page.fill("#key", key)
    w.page.click("button[type=submit]")
    w.page.wait_for_url(lambda u: urlsplit(u).path == "/")


def check_figures(w: Watched) -> int:
    """Wait until every plot div holds Plotly's svg; returns how many plots the page has."""
    w.page.wait_for_load_state("load")
    plots = w.page.locator("div.plot")
    n = plots.count()
    for i in range(n):
        plots.nth(i).locator("svg.main-svg").first.wait_for(state="attached", timeout=15_000)
    return n


@pytest.fixture(scope="module")
def live(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    db = copy_store(demo_db, tmp_path_factory.mktemp("browser") / "store")
    keys = add_keys(db)
    with serving(db) as url:
        yield url, keys


@pytest.mark.slow
def test_every_page_in_chromium(live: tuple[str, dict[str, str]]) -> None:
    url, keys = live
    with browser_page(url) as w:
        log_in(w, keys["read"])
        for path in PATHS:
            w.page.goto(path)
            assert w.page.locator("h1").inner_text() != ""
            assert check_figures(w) >= 1, path
        assert w.problems == []
        assert w.dialogs == []


def test_funnel_builder_and_a_filter_in_chromium(live: tuple[str, dict[str, str]]) -> None:
    url, keys = live
    with browser_page(url) as w:
        log_in(w, keys["admin"])
        w.page.goto("/funnel")
        boxes = w.page.locator("select.step")
        for i, step in enumerate(("page_view", "add_to_cart", "purchase", "", "", "")):
            boxes.nth(i).select_option(step)
        w.page.fill("input[name=window]", "3d")
        w.page.select_option("select[name=by]", "device")
        w.page.click("#run-funnel")
        w.page.wait_for_url(lambda u: "steps=" in u)
        q = parse_qs(urlsplit(w.page.url).query)
        assert (
            q["steps"] == ["page_view,add_to_cart,purchase"]
            and q["window"] == ["3d"]
            and q["by"] == ["device"]
        )
        assert "step" not in q  # the address holds the query once, shareable
        assert check_figures(w) == 2
        assert "page_view → add_to_cart → purchase" in w.page.locator("#funnel h2").inner_text()

        # a filter keeps the builder's query and is kept across pages
        channel = w.page.locator("select[name=channel] option").nth(1).get_attribute("value")
        assert channel
        w.page.select_option("select[name=channel]", channel)
        w.page.click("#apply-filters")
        w.page.wait_for_url(lambda u: "channel=" in u)
        q = parse_qs(urlsplit(w.page.url).query)
        assert q["channel"] == [channel] and q["steps"] == ["page_view,add_to_cart,purchase"]
        check_figures(w)
        w.page.click("header nav a[href^='/journey']")
        w.page.wait_for_url(lambda u: urlsplit(u).path == "/journey")
        assert parse_qs(urlsplit(w.page.url).query)["channel"] == [channel]
        assert check_figures(w) >= 1

        # log out: the pages ask for the key again
        w.page.click("form.who button")
        w.page.wait_for_url(lambda u: urlsplit(u).path == "/login")
        w.page.goto("/voice")
        assert urlsplit(w.page.url).path == "/login"
        assert w.problems == []
