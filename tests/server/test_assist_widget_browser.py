"""The chat widget in real Chromium, on a shop page of another origin against a real ``cxlab serve``: open it
with the keyboard, ask in Dutch, rate the answer, ask something hostile (shown as text, never run), and no
console errors, failed requests or dialogs along the way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.browser import NEEDS_CHROMIUM, chromium
from tests.server import live
from tests.server.conftest import add_keys, copy_store
from tests.server.test_assist_api import shop  # noqa: F401 - the store with the small index (a fixture)
from tests.server.test_snippet import allow_origins, shop_site

pytestmark = [*NEEDS_CHROMIUM, pytest.mark.slow]
PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Schoenen</title>
<script src="{base}/v1/assist.js" data-key="{key}" async></script>
</head><body><h1>Een winkel</h1></body></html>
"""
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"
ROOT = "document.querySelector('[data-cx-assist]').shadowRoot"


def stored(db: Path) -> list[tuple[str, dict[str, Any]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT event, properties FROM events WHERE touchpoint = 'assistant' ORDER BY ts, "
            "CASE event WHEN 'assist_question' THEN 0 WHEN 'assist_feedback' THEN 2 ELSE 1 END"
        ).fetchall()
    finally:
        con.close()
    return [(str(e), json.loads(p)) for e, p in rows]


def test_widget_on_a_shop_page(shop: Path, tmp_path: Path) -> None:  # noqa: F811 - the fixture imported
    db = copy_store(shop, tmp_path / "store")
    key = add_keys(db)["browser"]
    port = live.free_port()
    base = f"http://127.0.0.1:{port}"
    problems: list[str] = []
    dialogs: list[str] = []
    with shop_site(PAGE.replace("{base}", base).replace("{key}", key)) as site:
        allow_origins(db, site)
        server = live.start(db, port)
        try:
            with chromium() as browser:
                page = browser.new_page()
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
                page.on(
                    "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
                )

                def dialog(d: Any) -> None:
                    dialogs.append(d.message)
                    d.dismiss()

                page.on("dialog", dialog)
                page.goto(f"{site}/shop.html")
                page.wait_for_function("() => window.cxAssist !== undefined")

                # open with the keyboard: the labels follow the page's language, focus goes to the input
                button = page.locator("button[aria-label='Chat met ons']")
                button.focus()
                page.keyboard.press("Enter")
                assert button.get_attribute("aria-expanded") == "true"
                assert page.evaluate(f"{ROOT}.activeElement.tagName") == "INPUT"

                # ask with Enter; the answer is in the question's language, with thumbs under it
                page.keyboard.type("Hoe lang duurt de verzending van mijn bestelling?")
                page.keyboard.press("Enter")
                answer = page.locator(".m.a").first
                answer.wait_for()
                assert answer.text_content().startswith("Bestellingen van voor 22:00")
                conversation = page.evaluate("sessionStorage.getItem('cxa_conversation')")
                assert conversation
                page.locator("button[aria-label='Nuttig']").click()
                page.get_by_text("Bedankt!").wait_for()

                # something hostile is shown as the text it is; the hand-over is said
                page.locator("input").fill(HOSTILE)
                page.keyboard.press("Enter")
                page.get_by_text("Een collega neemt het over").wait_for()
                questions = page.locator(".m.q").all_text_contents()
                assert questions[-1] == HOSTILE
                assert page.evaluate(f"{ROOT}.querySelectorAll('.l img, .l script').length") == 0
                assert page.evaluate("sessionStorage.getItem('cxa_conversation')") == conversation

                # Escape closes the panel and gives the focus back to the button
                page.keyboard.press("Escape")
                assert button.get_attribute("aria-expanded") == "false"
                assert page.evaluate(f"{ROOT}.activeElement.getAttribute('aria-label')") == "Chat met ons"
        finally:
            live.stop(server)
    assert not problems and not dialogs, problems + dialogs
    events = stored(db)
    assert [e for e, _ in events] == [
        "assist_question", "assist_answer", "assist_feedback", "assist_question", "assist_handoff",
    ]  # fmt: skip
    assert {p["conversation"] for _, p in events} == {conversation}
    assert events[2][1]["helpful"] is True and events[3][1]["text"] == HOSTILE
