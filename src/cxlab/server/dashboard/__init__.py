"""The dashboard at ``/``: server-rendered pages (Jinja2, autoescaped) with Plotly figures, behind a login.

A read or admin key logs in at ``/login`` and gets a session cookie (HttpOnly, SameSite=Strict); every form
carries a CSRF token (the session's; for the login form a double-submit cookie). Pages take the global
filters (``from``, ``to``, ``channel``, ``country``) and run the report's sections on the filtered store
(:meth:`ServerState.scope`), cached per store version. Plotly's JavaScript is served from the installed
package and the page's own script from ``/static``: no CDN, and no inline script (the Content-Security-Policy
allows scripts from this origin only, so injected markup could not run even if it got through).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

import duckdb
import plotly
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from cxlab.report.section import Section
from cxlab.server.auth import SESSION_COOKIE, state_of
from cxlab.server.dashboard import pages as pages_mod
from cxlab.server.dashboard.kpis import Kpis, key_figures
from cxlab.server.dashboard.render import Part, parts
from cxlab.server.keys import ApiKey
from cxlab.server.sessions import Session
from cxlab.server.state import ServerState
from cxlab.store import Store
from cxlab.store.filters import Filters

T = TypeVar("T")
router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

LOGIN_CSRF_COOKIE = "cxlab_login_csrf"
WARM_ON_LOGIN = True
"""Compute the unfiltered pages in the background after a login (once per store version), so that the
first visit of each page is served from the cache."""
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FILTER_PARAMS = ("from", "to", "channel", "country")

_env = Environment(
    loader=PackageLoader("cxlab.server.dashboard", "templates"),
    autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
)
_SCRIPT = _env.get_template("dashboard.js.j2").render()


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def _html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status, headers=_headers())


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no ``//host``): an open redirect would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def current(request: Request) -> tuple[ApiKey, Session] | None:
    """The logged-in key and its session, if the cookie names a live session of a live read/admin key."""
    state = state_of(request)
    session = state.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    key = state.keys.get(session.key_id)  # None once revoked: the session ends at once
    if key is None or not key.allows("read"):
        return None
    return key, session


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


# --- static ----------------------------------------------------------------------------------------------


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """Plotly's JavaScript from the installed package (works offline)."""
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/static/dashboard.js")
def dashboard_js() -> Response:
    """Draws the page's figures from their JSON blocks and wires the filter and builder forms."""
    return Response(_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


# --- login / logout --------------------------------------------------------------------------------------


def _login_page(request: Request, next_: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    resp = _html("login.html.j2", status, csrf=token, next=_safe_next(next_), error=error)
    resp.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/login"
    )
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form (a read or admin key)."""
    return _login_page(request, next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    key: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the CSRF double-submit cookie and the key; open a session and go to the page asked for."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not csrf or not secrets.compare_digest(cookie.encode(), csrf.encode()):
        raise HTTPException(403, "invalid or missing CSRF token: reload the login page")
    state = state_of(request)
    record = state.keys.verify(key.strip() or None)
    if record is None:
        return _login_page(request, next, "That key is not valid (unknown or revoked).", 401)
    if not record.allows("read"):
        return _login_page(
            request, next, "A write key can only send data: log in with a read or admin key.", 403
        )
    token, _ = state.sessions.open(record.id)
    if WARM_ON_LOGIN:
        start_warming(state)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    """End the session (the form's CSRF token must match the session's)."""
    who = current(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    if not csrf or not secrets.compare_digest(who[1].csrf.encode(), csrf.encode()):
        raise HTTPException(403, "invalid or missing CSRF token")
    state_of(request).sessions.close(request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# --- pages -----------------------------------------------------------------------------------------------


def _date(text: str | None, name: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"{name}: expected a date YYYY-MM-DD, got {text!r}") from None


def filters_of(request: Request) -> Filters:
    """The global filters from the query: ``from``, ``to`` (inclusive days), ``channel``, ``country``."""
    q = request.query_params
    return Filters(
        _date(q.get("from"), "from"),
        _date(q.get("to"), "to"),
        q.get("channel") or None,
        q.get("country") or None,
    )


def choices(state: ServerState) -> dict[str, list[str]]:
    """Channels and countries to filter by (unfiltered store), cached per store version."""

    def compute() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"channel": [], "country": []}
        with state.scope() as cur:
            for name, sql in (
                ("channel", "SELECT DISTINCT channel FROM events WHERE channel IS NOT NULL ORDER BY 1"),
                ("country", "SELECT DISTINCT country FROM customers WHERE country IS NOT NULL ORDER BY 1"),
            ):
                try:
                    out[name] = [str(r[0]) for r in cur.execute(sql).fetchall()][:500]
                except Exception:
                    out[name] = []
        return out

    return state.cached(("dashboard", "choices"), None, compute)


class PartCache:
    """Parts that several queries of a page share (the channel journeys), per store version and filters."""

    def __init__(self, state: ServerState, filters: Filters):
        self.state, self.filters = state, filters

    def __call__(self, name: str, compute: Callable[[], T]) -> T:
        return self.state.cached(("part", name), self.filters, compute)


def page_key(page: pages_mod.Page, params: dict[str, str]) -> tuple[Any, ...]:
    return ("page", page.slug, tuple(sorted(params.items())))


def page_content(
    state: ServerState,
    page: pages_mod.Page,
    filters: Filters,
    params: dict[str, str],
    *,
    stale_ok: bool = True,
) -> dict[str, Any]:
    """The page's rendered parts (and the builder's choices), computed once per store version and query; by
    default an older version's result is shown at once while the current one is computed in the background."""

    def compute() -> dict[str, Any]:
        memo = PartCache(state, filters)
        with state.scope(filters), Store(state.db_path, read_only=True) as store:
            sections: list[Section] = page.build(store, params, memo)
            extra: dict[str, Any] = {}
            if page.slug == "funnel":
                extra["events"] = pages_mod.event_names(store)
                extra["steps"] = pages_mod.funnel_steps(params, store)
            if page.slug == "experiments":
                extra["experiments"] = pages_mod.experiment_ids(store)
        kpis = key_figures(state, filters) if page.slug == "overview" else None
        return {"parts": parts(sections), "kpis": kpis, **extra}

    return state.cached(page_key(page, params), filters, compute, stale_ok=stale_ok)


_warming = threading.Lock()
_warmed: weakref.WeakKeyDictionary[ServerState, int] = weakref.WeakKeyDictionary()
"""Server state → the store version last warmed."""


def warm(state: ServerState) -> int:
    """Compute every page without filters or parameters into the cache; returns how many pages it computed.

    Pages that fail are skipped (the request that asks for them shows why)."""
    done = 0
    try:
        choices(state)
        for page in pages_mod.PAGES:
            try:
                page_content(state, page, Filters(), {}, stale_ok=False)
                done += 1
            except (duckdb.ConnectionException, duckdb.InterruptException):
                raise
            except Exception:  # a page's own request reports the error; warming is best effort
                log.exception("warming the %s page failed", page.slug)
    except (duckdb.ConnectionException, duckdb.InterruptException):  # the server stopped meanwhile
        log.debug("warming stopped: the store is closed")
    return done


def start_warming(state: ServerState) -> threading.Thread | None:
    """Warm the cache in a daemon thread, unless this store version is warm or being warmed."""
    version = state.version
    with _warming:
        if _warmed.get(state) == version:
            return None
        _warmed[state] = version

    thread = threading.Thread(target=warm, args=(state,), name="cxlab-dashboard-warm", daemon=True)
    thread.start()
    return thread


def _render_page(request: Request, page: pages_mod.Page) -> Response:
    who = current(request)
    if who is None:
        return _to_login(request)
    key, session = who
    state = state_of(request)
    filters = filters_of(request)
    params = {p: v for p in page.params if (v := request.query_params.get(p, ""))}
    picked = [v for v in request.query_params.getlist("step") if v]
    if page.slug == "funnel" and picked:  # the builder's boxes without JavaScript: one step= per box
        params["steps"] = ",".join(picked)
    started = time.perf_counter()
    content = page_content(state, page, filters, params)
    behind = (state.staleness(page_key(page, params), filters) or (0, 0.0))[0]
    kept = {k: f for k in FILTER_PARAMS if (f := request.query_params.get(k, ""))}
    parts_: list[Part] = content["parts"]
    kpis: Kpis | None = content["kpis"]
    return _html(
        "page.html.j2",
        page=page,
        pages=pages_mod.PAGES,
        query=("?" + urlencode(kept)) if kept else "",
        filters=kept,
        filter_items=list(kept.items()),
        choices=choices(state),
        parts=parts_,
        kpis=kpis,
        params=params,
        content=content,
        models=pages_mod.MODELS,
        breakdowns=pages_mod.BREAKDOWNS,
        csrf=session.csrf,
        who=key.name or key.id,
        role=key.role,
        store_version=state.version,
        behind=behind,
        took=f"{time.perf_counter() - started:.2f}",
    )


def _route(page: pages_mod.Page) -> None:
    path = "/" if page.slug == "overview" else f"/{page.slug}"

    def view(request: Request) -> Response:
        return _render_page(request, page)

    view.__name__ = f"dashboard_{page.slug}"
    view.__doc__ = page.about
    router.add_api_route(path, view, methods=["GET"], response_class=HTMLResponse, name=view.__name__)


for _page in pages_mod.PAGES:
    _route(_page)
