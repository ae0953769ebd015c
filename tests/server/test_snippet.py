"""The browser snippet ``/v1/cx.js``: what it serves, CORS for the configured origins, and a real page in Chromium.

The browser test puts the one-tag snippet on a page of ANOTHER origin (a local http.server), lets it send a page
view, custom events and an identify to a real ``cxlab serve``, makes the collector fail (a 503 with Retry-After,
then the server stopped and restarted) and checks that everything arrives exactly once.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from cxlab.config import Config, ConfigError
from cxlab.server.app import create_app
from cxlab.store import init_project
from tests.server import live
from tests.server.conftest import add_keys

ALLOWED = "https://shop.example.com"
OTHER = "https://evil.example.net"


def allow_origins(db: Path, *origins: str) -> None:
    """Add ``[serve] cors_origins`` to the store's cxlab.toml."""
    cfg = db.parent / "cxlab.toml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8") + f"\n[serve]\ncors_origins = {json.dumps(list(origins))}\n"
    )


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    """An empty store served in-process, whose config allows the origin ``ALLOWED``."""
    db = init_project(tmp_path / "shop")
    allow_origins(db, ALLOWED)
    keys = add_keys(db)
    with TestClient(create_app(db)) as client:
        yield client, keys, db


def test_serves_the_script_with_the_stores_channels(shop: tuple[TestClient, dict[str, str], Path]) -> None:
    client, _, db = shop
    r = client.get("/v1/cx.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert "max-age=" in r.headers["cache-control"]
    config = Config.for_store(db)
    assert f"var CHANNELS = {json.dumps(config.channels.names, separators=(',', ':'))};" in r.text
    assert f"var SESSION_MINUTES = {config.journey.session_timeout_minutes};" in r.text
    again = client.get("/v1/cx.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    if shutil.which("node"):  # valid JavaScript as served
        checked = subprocess.run(["node", "--check", "-"], input=r.text, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_cors_only_for_configured_origins(shop: tuple[TestClient, dict[str, str], Path]) -> None:
    client, keys, _ = shop
    acao = "access-control-allow-origin"
    assert client.get("/v1/cx.js", headers={"Origin": ALLOWED}).headers[acao] == ALLOWED
    assert acao not in client.get("/v1/cx.js", headers={"Origin": OTHER}).headers

    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = client.options("/v1/events", headers={"Origin": ALLOWED, **preflight})
    assert ok.status_code == 200 and ok.headers[acao] == ALLOWED
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    assert "POST" in ok.headers["access-control-allow-methods"]
    refused = client.options("/v1/events", headers={"Origin": OTHER, **preflight})
    assert refused.status_code >= 400 and acao not in refused.headers

    event = {"event_id": str(uuid.uuid4()), "ts": "2026-01-02T03:04:05Z", "anonymous_id": "a", "event": "x"}
    sent = client.post(
        "/v1/events",
        json={"batch": [event]},
        headers={"Origin": ALLOWED, "Authorization": f"Bearer {keys['write']}"},
    )
    assert sent.status_code == 200 and sent.headers[acao] == ALLOWED
    assert "retry-after" in sent.headers["access-control-expose-headers"].lower()
    # not for the rest of the API: a shop's page may send events, not read keys or analyses
    listed = client.get("/v1/keys", headers={"Origin": ALLOWED, "Authorization": f"Bearer {keys['admin']}"})
    assert listed.status_code == 200 and acao not in listed.headers
    assert acao not in client.options("/v1/keys", headers={"Origin": ALLOWED, **preflight}).headers


def test_no_cors_without_configured_origins(empty_served: Any) -> None:
    r = empty_served.client.get("/v1/cx.js", headers={"Origin": ALLOWED})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_config_refuses_what_is_not_an_origin() -> None:
    base = Config.default()
    assert base.serve.cors_origins == []
    with pytest.raises(ConfigError, match=r"serve\.cors_origins.*not origins"):
        Config.parse_toml(
            Path(__file__).parents[2].joinpath("src/cxlab/default.toml").read_text(encoding="utf-8")
            + '\n[serve]\ncors_origins = ["https://shop.example.com/path"]\n'
        )


# -- a real page in Chromium ----------------------------------------------------------------------------------

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Shoes &amp; socks</title>
<script>window.cx = window.cx || []; cx.push(["track", "early_call", {"source": "stub"}]);</script>
<script src="{base}/v1/cx.js" data-key="{key}" data-touchpoint="product_page" async></script>
</head><body><h1>A shop</h1></body></html>
"""

DRAINED = """() => {
  const qs = Object.keys(localStorage).filter(k => /_(events|identify)$/.test(k));
  return qs.length > 0 && qs.every(k => JSON.parse(localStorage.getItem(k)).length === 0);
}"""


@contextmanager
def shop_site(page: str) -> Iterator[str]:
    """A web server on another origin serving ``page`` at /shop.html; yields its origin."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name
            body = page.encode()
            self.send_response(200 if self.path.startswith("/shop.html") else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def stored_events(db: Path) -> list[dict[str, Any]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM events ORDER BY ts")
        names = [c[0] for c in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_page_on_another_origin_sends_events_once(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    db = init_project(tmp_path / "shop")
    keys = add_keys(db)
    port = live.free_port()
    base = f"http://127.0.0.1:{port}"
    page_html = PAGE.replace("{base}", base).replace("{key}", keys["browser"])
    with shop_site(page_html) as site:
        allow_origins(db, site)
        server = live.start(db, port)
        try:
            with sync_api.sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=shutil.which("chromium"),
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update"],
                )  # fmt: skip
                page = browser.new_page()
                console: list[str] = []
                crashes: list[str] = []
                page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: crashes.append(str(e)))
                posted: list[list[str]] = []
                posted_at: list[float] = []

                def record(request: Any) -> None:
                    if request.method == "POST" and "/v1/events" in request.url:
                        posted.append([e["event_id"] for e in json.loads(request.post_data or "{}")["batch"]])
                        posted_at.append(time.monotonic())

                page.on("request", record)

                # 1. healthy: page view (with its campaign), a call queued before the script loaded, track, identify
                page.goto(f"{site}/shop.html?utm_source=newsletter&utm_medium=email&utm_campaign=spring")
                page.wait_for_function("() => window.cx && window.cx.loaded === true")
                page.evaluate("""() => {
                    cx.track("add_to_cart", {product_id: "sku-1", price: 19.5, note: "<b>hi</b>"});
                    cx.identify("cust-42");
                    cx.track("checkout_started");
                }""")  # fmt: skip
                page.wait_for_function(DRAINED, timeout=20_000)
                assert console == [] and crashes == []
                anonymous_id = page.evaluate(
                    "() => localStorage.getItem(Object.keys(localStorage).find(k => k.endsWith('_aid')))"
                )

                # 2. the collector stores a batch but the answer is lost (503, Retry-After): resent, same ids
                failed_once: list[bool] = []

                def busy_once(route: Any) -> None:
                    if failed_once or route.request.method != "POST":
                        route.continue_()
                        return
                    failed_once.append(True)
                    real = route.fetch()  # the server does store it ...
                    headers = {**real.headers, "retry-after": "3"}  # longer than the first backoff (<= 1 s)
                    route.fulfill(
                        status=503, headers=headers, body='{"detail": "busy"}'
                    )  # ... the page hears 503

                page.route(f"{base}/v1/events*", busy_once)
                sent_before = len(posted)
                page.evaluate('() => cx.track("retried", {attempt: "same ids"})')
                page.wait_for_function(DRAINED, timeout=20_000)
                page.unroute(f"{base}/v1/events*")
                assert failed_once and len(posted) - sent_before >= 2
                assert posted[-1] == posted[sent_before], "the retry must resend the same event ids"
                assert posted_at[sent_before + 1] - posted_at[sent_before] >= 2.5, "Retry-After not honoured"

                # 3. the server is down for a while, then back on the same port
                assert live.stop(server) == 0
                page.evaluate('() => cx.track("while_down")')
                page.wait_for_timeout(1500)  # at least one attempt fails
                server = live.start(db, port)
                page.wait_for_function(DRAINED, timeout=30_000)
                assert crashes == []
                assert all("Failed to load resource" in m for m in console), console

                # 4. leaving the page before the next flush: sendBeacon with ?key= hands the queue over
                # (fetches are blocked now and Playwright doesn't see beacons: "left_page" in the store came by beacon)
                page.route(f"{base}/v1/events*", lambda route: route.abort())
                page.evaluate('() => cx.track("left_page")')
                page.goto("about:blank")
                page.wait_for_timeout(2000)
                browser.close()
        finally:
            assert live.stop(server) == 0

    events = stored_events(db)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_name.setdefault(e["event"], []).append(e)
    for name in (
        "page_view",
        "early_call",
        "add_to_cart",
        "checkout_started",
        "retried",
        "while_down",
        "left_page",
    ):
        assert len(by_name.get(name, [])) == 1, (name, by_name.get(name))
    view = by_name["page_view"][0]
    props = json.loads(view["properties"])
    assert props["path"] == "/shop.html" and props["title"] == "Shoes & socks"
    assert props["utm_source"] == "newsletter" and props["url"].startswith(f"{site}/shop.html?utm_source=")
    assert view["campaign"] == "spring" and view["channel"] == "email"
    assert view["touchpoint"] == "product_page" and view["anonymous_id"] == anonymous_id
    assert view["customer_id"] is None
    assert json.loads(by_name["add_to_cart"][0]["properties"]) == {
        "utm_source": "newsletter", "utm_medium": "email", "product_id": "sku-1", "price": 19.5, "note": "<b>hi</b>"
    }  # fmt: skip
    assert by_name["checkout_started"][0]["customer_id"] == "cust-42"
    links = by_name.get("identify", [])
    assert [(e["anonymous_id"], e["customer_id"]) for e in links] == [(anonymous_id, "cust-42")]
    assert len({e["session_id"] for e in events if e["event"] != "identify"}) == 1
    assert len({e["event_id"] for e in events}) == len(events)


# -- the script's logic without a browser (node): fallbacks a Chromium page doesn't reach --------------------

HARNESS = r"""
const vm = require("vm");
const code = require("fs").readFileSync(0, "utf8");
function run(opts) {
  const sent = [], store = {}, cookies = {};
  const denied = () => { throw new Error("denied"); };
  const localStorage = opts.noStorage ? { getItem: denied, setItem: denied }
    : { getItem: k => (k in store ? store[k] : null), setItem: (k, v) => { store[k] = String(v); } };
  const attrs = { "data-key": "cxk_test_12345678", "data-channel": opts.channel || null };
  const script = { src: "https://cx.example.com/v1/cx.js", getAttribute: n => (n in attrs ? attrs[n] : null) };
  const document = {
    currentScript: script, referrer: opts.referrer || "", title: "T", visibilityState: "visible",
    addEventListener() {}, querySelector() { return null; },
    get cookie() { return Object.entries(cookies).map(([k, v]) => k + "=" + v).join("; "); },
    set cookie(c) { const kv = c.split(";")[0], i = kv.indexOf("="); cookies[kv.slice(0, i)] = kv.slice(i + 1); },
  };
  const crypto = opts.noUUID
    ? { getRandomValues: a => { for (let i = 0; i < a.length; i++) a[i] = Math.floor(Math.random() * 256); return a; } }
    : globalThis.crypto;
  const window = { localStorage, crypto, addEventListener() {}, cx: opts.stub };
  const fetch = (url, init) => {
    sent.push({ url, batch: JSON.parse(init.body).batch });
    return Promise.resolve({ ok: true, status: 200, headers: { get: () => null } });
  };
  vm.runInNewContext(code, {
    window, document, fetch, location: new URL(opts.url), URL, URLSearchParams,
    navigator: { userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile", sendBeacon: () => true },
    setTimeout: () => 0, clearTimeout() {},
  });
  return window.cx.flush().then(() => window.cx.flush()).then(() => ({ sent, store, cookies }));
}
Promise.all([
  run({ noUUID: true, noStorage: true, url: "https://shop.example.com/p?utm_medium=cpc&utm_source=google&utm_campaign=x",
        stub: { q: [["track", "early", { a: 1 }], ["identify", "c-1"]] } }),
  run({ channel: "carrier_pigeon", url: "https://shop.example.com/", referrer: "https://www.google.com/" }),
  run({ url: "https://shop.example.com/", referrer: "https://www.google.com/" }),
]).then(r => process.stdout.write(JSON.stringify(r)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_script_logic_fallbacks(shop: tuple[TestClient, dict[str, str], Path]) -> None:
    client, _, _ = shop
    script = client.get("/v1/cx.js").text
    done = subprocess.run(
        ["node", "-e", HARNESS], input=script, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    blocked, unlisted, organic = json.loads(done.stdout)

    # no crypto.randomUUID (an http:// page), no localStorage: v4 ids from getRandomValues, a cookie for the id
    assert [s["url"] for s in blocked["sent"]] == [
        "https://cx.example.com/v1/identify",
        "https://cx.example.com/v1/events",
    ]
    link = blocked["sent"][0]["batch"][0]
    events = blocked["sent"][1]["batch"]
    assert [e["event"] for e in events] == ["page_view", "early"]  # the queued identify ran before the view
    v4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert all(re.fullmatch(v4, e["event_id"]) for e in events)
    assert link["customer_id"] == "c-1" and all(e["customer_id"] == "c-1" for e in events)
    assert all(e["anonymous_id"] == link["anonymous_id"] for e in events)
    assert blocked["cookies"]["cx_12345678_aid"] == link["anonymous_id"] and blocked["store"] == {}
    view = events[0]
    assert view["channel"] == "paid_search" and view["campaign"] == "x" and view["device"] == "mobile"
    assert view["properties"]["utm_source"] == "google" and "_id" not in view
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", view["ts"])

    # a channel the store doesn't list is left out rather than refused by the collector
    assert all("channel" not in e for s in unlisted["sent"] for e in s["batch"])
    assert organic["sent"][0]["batch"][0]["channel"] == "organic_search"
    assert organic["store"]["cx_12345678_events"] == "[]"  # acknowledged: nothing left to resend
