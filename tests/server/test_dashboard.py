"""The dashboard through the in-process client: login and sessions, CSRF, every page, filters, the funnel
builder's shareable URL, an empty store, logout and revocation."""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from cxlab.journey.funnels import funnel
from cxlab.server import dashboard
from cxlab.server.auth import SESSION_COOKIE
from cxlab.server.dashboard import LOGIN_CSRF_COOKIE
from cxlab.server.dashboard.pages import PAGES
from cxlab.store import Store
from tests.server.conftest import Served


@pytest.fixture(autouse=True)
def no_warming(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests time and count their own requests: no background warming after login (tested on its own)."""
    monkeypatch.setattr(dashboard, "WARM_ON_LOGIN", False)


PATHS = ["/" if p.slug == "overview" else f"/{p.slug}" for p in PAGES]


def login_csrf(client: TestClient, next_: str = "/") -> str:
    r = client.get("/login", params={"next": next_})
    assert r.status_code == 200
    m = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert m is not None
    return m.group(1)


def login(client: TestClient, key: str, next_: str = "/") -> httpx.Response:
    """Post the login form (with its CSRF token) and return the response, not following the redirect."""
    csrf = login_csrf(client, next_)
    return client.post("/login", data={"key": key, "csrf": csrf, "next": next_}, follow_redirects=False)


def page_csrf(text: str) -> str:
    m = re.search(r'action="/logout"[^>]*>.*?name="csrf" value="([^"]+)"', text, re.S)
    assert m is not None
    return m.group(1)


def figures(text: str) -> int:
    return text.count('class="cx-fig"')


def test_pages_need_a_session(served: Served) -> None:
    c = served.client
    for path in [*PATHS, "/funnel?steps=a,b"]:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")
        assert parse_qs(urlsplit(r.headers["location"]).query)["next"] == [path]
    # an API key header is not a dashboard session
    assert c.get("/", headers=served.auth("read"), follow_redirects=False).status_code == 303


def test_wrong_and_write_keys_are_refused(served: Served) -> None:
    c = served.client
    r = login(c, "cxk_nonsense")
    assert r.status_code == 401
    assert "not valid" in r.text
    r = login(c, served.keys["write"])
    assert r.status_code == 403
    assert "write key can only send data" in r.text
    assert SESSION_COOKIE not in c.cookies
    assert c.get("/", follow_redirects=False).status_code == 303


def test_login_sets_a_strict_httponly_cookie_and_goes_where_asked(served: Served) -> None:
    r = login(served.client, served.keys["read"], "/voice?channel=email")
    assert r.status_code == 303
    assert r.headers["location"] == "/voice?channel=email"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    attrs = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")}
    assert "httponly" in attrs
    assert attrs["samesite"].lower().endswith("strict")
    assert attrs["path"].strip() == "Path=/"
    assert "secure" not in attrs  # plain http here; https would add Secure
    assert served.client.get("/voice").status_code == 200


def test_login_goes_only_to_local_paths(served: Served) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = login(served.client, served.keys["admin"], target)
        assert r.status_code == 303
        assert r.headers["location"] == "/"


def test_posts_need_the_csrf_token(served: Served) -> None:
    c = served.client
    # login form: no token, a token that isn't the cookie's, or no cookie at all
    login_csrf(c)
    key = served.keys["read"]
    assert c.post("/login", data={"key": key}, follow_redirects=False).status_code == 403
    assert c.post("/login", data={"key": key, "csrf": "forged"}, follow_redirects=False).status_code == 403
    token = login_csrf(c)
    c.cookies.delete(LOGIN_CSRF_COOKIE, path="/login")
    assert c.post("/login", data={"key": key, "csrf": token}, follow_redirects=False).status_code == 403
    assert SESSION_COOKIE not in c.cookies
    # logout: the session's token
    assert login(c, key).status_code == 303
    assert c.post("/logout", follow_redirects=False).status_code == 403
    assert c.post("/logout", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    assert c.get("/", follow_redirects=False).status_code == 200  # still logged in


def test_every_page_renders_with_figures(served: Served) -> None:
    c = served.client
    assert login(c, served.keys["read"]).status_code == 303
    for path in PATHS:
        r = c.get(path)
        assert r.status_code == 200, path
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "<script>" not in r.text and "onload=" not in r.text  # no inline script at all
        assert figures(r.text) >= 1, path
        for nav in PATHS:
            assert f'href="{nav}"' in r.text
    js = c.get("/static/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert len(js.content) > 1_000_000
    assert "Plotly.newPlot" in c.get("/static/dashboard.js").text


def test_overview_shows_the_change_against_the_previous_period(served: Served) -> None:
    c = served.client
    login(c, served.keys["admin"])
    text = c.get("/", params={"from": "2024-03-01", "to": "2024-03-31"}).text
    assert "2024-03-01 to 2024-03-31 (31 days) against 2024-01-30 to 2024-02-29" in text
    for name in ("Revenue", "Conversion", "NPS", "Active customers"):
        assert f'<div class="name">{name}</div>' in text
    assert "previous period:" in text and "95% CI" in text


def test_filters_change_what_a_page_shows_and_are_kept(served: Served) -> None:
    c = served.client
    login(c, served.keys["read"])
    full = c.get("/channels").text
    channels = re.findall(r'<option value="([^"]+)">', full.split('name="channel"')[1].split("</select>")[0])
    assert len(channels) >= 2
    one = channels[0]
    filtered = c.get("/channels", params={"channel": one}).text
    assert f'<option value="{one}" selected>' in filtered
    assert f'href="/journey?channel={one}"' in filtered  # kept across pages
    perf = re.compile(r'<section id="channels">.*?</section>', re.S)
    a, b = perf.search(full), perf.search(filtered)
    assert a is not None and b is not None
    assert a.group(0) != b.group(0)
    assert b.group(0).count("<tr>") < a.group(0).count("<tr>")
    # a date range narrows the overview's store contents
    whole = c.get("/").text
    march = c.get("/", params={"from": "2024-03-01", "to": "2024-03-31"}).text
    span = re.compile(r"Events from (\S+) to (\S+);")
    assert span.search(whole) is not None and span.search(march) is not None
    first, last = span.search(march).groups()  # type: ignore[union-attr]
    assert first >= "2024-03-01" and last <= "2024-03-31"
    assert span.search(whole).groups() != (first, last)  # type: ignore[union-attr]
    assert c.get("/", params={"from": "March"}).status_code == 400


def test_funnel_builder_url_round_trips(served: Served) -> None:
    c = served.client
    login(c, served.keys["read"])
    query = {"steps": "page_view,add_to_cart,purchase", "window": "3d", "by": "device", "channel": "email"}
    r = c.get("/funnel", params=query)
    assert r.status_code == 200
    t = r.text
    assert html.escape("Funnel: page_view → add_to_cart → purchase (3d window)") in t
    assert 'name="steps" value="page_view,add_to_cart,purchase"' in t
    assert 'name="window" value="3d"' in t
    assert '<option value="device" selected>' in t
    assert 'name="channel" value="email"' in t  # the builder keeps the filters
    assert "Conversion by device" in t
    assert figures(t) == 2
    # the same query from the builder's boxes (no JavaScript: one step= per box) shows the same funnel
    boxes = [("step", s) for s in ("page_view", "add_to_cart", "purchase", "")]
    again = c.get("/funnel", params=[*boxes, ("window", "3d"), ("by", "device"), ("channel", "email")]).text
    table = re.compile(r'<section id="funnel">.*?</section>', re.S)
    assert table.search(t).group(0) == table.search(again).group(0)  # type: ignore[union-attr]
    # the numbers are the analysis' own on the filtered store
    state = c.app.state.cx  # type: ignore[attr-defined]
    from cxlab.store.filters import Filters

    with state.scope(Filters(channel="email")), Store(state.db_path, read_only=True) as store:
        f = funnel(store.ibis(), store.config, ["page_view", "add_to_cart", "purchase"], "3d")
    entered = int(f.steps["units"].iloc[0])
    assert f"<td>{entered:,}</td>" in table.search(t).group(0)  # type: ignore[union-attr]


def test_funnel_builder_reports_bad_queries_in_place(served: Served) -> None:
    c = served.client
    login(c, served.keys["read"])
    r = c.get("/funnel", params={"steps": "page_view,no_such_event", "window": "3d"})
    assert r.status_code == 200
    assert "Not run" in r.text and "no_such_event" in r.text
    r = c.get("/funnel", params={"steps": "page_view,purchase", "window": "soon"})
    assert r.status_code == 200 and "Not run (failed)" in r.text


def test_attribution_model_and_one_experiment(served: Served) -> None:
    c = served.client
    login(c, served.keys["read"])
    assert "Channel attribution (linear)" in c.get("/channels", params={"model": "linear"}).text
    assert "Not run (failed)" in c.get("/channels", params={"model": "astrology"}).text
    listing = c.get("/experiments").text
    ids = re.findall(r'<a href="/experiments\?experiment=([^"&]+)">', listing)
    assert ids
    one = c.get("/experiments", params={"experiment": unquote(ids[0])}).text
    assert "Decision: " in one
    assert figures(one) >= 1


def test_results_are_cached_per_store_version(served: Served) -> None:
    c = served.client
    login(c, served.keys["read"])
    state = c.app.state.cx  # type: ignore[attr-defined]
    key = ("page", "retention", ())
    first = c.get("/retention").text
    assert state.staleness(key, None)[0] == 0
    state.bump()  # new data: the page shows the kept result at once and recomputes it in the background
    stale = c.get("/retention").text
    assert "Figures from 1 commit(s) ago" in stale
    deadline = time.monotonic() + 60
    while state.staleness(key, None)[0] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    fresh = c.get("/retention").text
    assert "commit(s) ago" not in fresh and "commit(s) ago" not in first
    assert "store version 1" in fresh


def test_warming_fills_the_cache_once_per_store_version(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = served.client.app.state.cx  # type: ignore[attr-defined]
    thread = dashboard.start_warming(state)
    assert thread is not None
    assert dashboard.start_warming(state) is None  # this version is warm (or warming) already
    thread.join(120)
    cached = [k for k in state.cache._items if k[0][0] == "page"]
    assert len(cached) == len(PAGES)
    login(served.client, served.keys["read"])
    started = time.perf_counter()
    for path in PATHS:
        assert served.client.get(path).status_code == 200
    assert time.perf_counter() - started < 3  # all served from the cache
    warmed: list[int] = []
    monkeypatch.setattr(dashboard, "warm", lambda s: warmed.append(s.version))
    state.bump()  # new data: warm again, once
    again = dashboard.start_warming(state)
    assert again is not None and dashboard.start_warming(state) is None
    again.join(10)
    assert warmed == [state.version]


def test_empty_store_renders_every_page(empty_served: Served) -> None:
    c = empty_served.client
    login(c, empty_served.keys["read"])
    for path in [*PATHS, "/funnel?steps=a,b", "/experiments?experiment=x", "/channels?model=linear"]:
        r = c.get(path)
        assert r.status_code == 200, path
        assert figures(r.text) == 0, path  # no empty charts
        assert "Not run" in r.text or "Not available" in r.text, path


def test_logout_ends_the_session(served: Served) -> None:
    c = served.client
    login(c, served.keys["read"])
    token = c.cookies.get(SESSION_COOKIE)
    page = c.get("/paths")
    r = c.post("/logout", data={"csrf": page_csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert c.get("/paths", follow_redirects=False).status_code == 303
    c.cookies.set(SESSION_COOKIE, token or "")  # the old cookie is dead on the server too
    assert c.get("/paths", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", ["read", "admin"])
def test_revoked_key_loses_its_session_at_once(served: Served, role: str) -> None:
    c = served.client
    login(c, served.keys[role])
    assert c.get("/customers", follow_redirects=False).status_code == 200
    state = c.app.state.cx  # type: ignore[attr-defined]
    key_id = state.keys.verify(served.keys[role]).id
    admin = TestClient(c.app)
    assert admin.delete(f"/v1/keys/{key_id}", headers=served.auth("admin")).status_code == 200
    r = c.get("/customers", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert login(c, served.keys[role]).status_code == 401
