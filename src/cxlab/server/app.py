"""The FastAPI application of ``cxlab serve``: health, keys, the collector, the read API, the dashboard.

One process owns the store (DuckDB allows one writer): the collector's writer thread commits incoming batches,
requests read through cursors of the same database (see :class:`cxlab.server.state.ServerState`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

import duckdb
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from cxlab import __version__
from cxlab.automate.service import FlowRunner
from cxlab.config import Config
from cxlab.errors import MissingData
from cxlab.personalize import api as personalize_api
from cxlab.personalize.store import TABLE as RECOMMENDATIONS
from cxlab.personalize.store import fit_store
from cxlab.privacy.retention import cutoffs, prune
from cxlab.server import assist, collector, dashboard, readapi, snippet
from cxlab.server.auth import require, state_of
from cxlab.server.keys import ApiKey, KeysError, Role, create, revoke
from cxlab.server.state import ServerState
from cxlab.store import Store, served
from cxlab.voice.analysis import analyze_feedback

PRUNE_EVERY_S = 24 * 3600
VOICE_EVERY_S = 300
RECOMMEND_EVERY_S = 24 * 3600
log = logging.getLogger(__name__)
# What a shop's pages on the configured origins may call from the browser; the rest has no CORS headers.
CORS_PATHS = (
    "/v1/cx.js",
    "/v1/events",
    "/v1/identify",
    "/v1/feedback",
    "/v1/orders",
    "/v1/consent",
    "/v1/assist",
    "/v1/assist/feedback",
    "/v1/assist.js",
)
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not valid JSON"},
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key's role may not do this"},
}


ADMIN = require("admin", session=False)
"""Key management takes an admin key in the header only: its requests carry no CSRF token."""


class Health(BaseModel):
    ok: bool
    version: str
    store: str
    store_version: int = Field(
        description="Bumped by every commit; cached results of older versions are stale"
    )


class KeyCreate(BaseModel):
    role: Role
    name: str | None = Field(default=None, max_length=200)


class KeyCreated(BaseModel):
    key: str = Field(description="Shown once: the store keeps only its hash")
    id: str
    role: Role
    name: str | None


class KeyInfo(BaseModel):
    id: str
    name: str | None
    role: Role
    created: str
    revoked: str | None


class BrowserCORS:
    """CORS for the snippet and the collector only, and only for ``[serve] cors_origins`` of ``cxlab.toml``.

    Starlette's CORS middleware answers preflights and adds the headers; this keeps it off every other path
    (keys, read API, dashboard), so a shop's page can send events but not read analyses.
    """

    def __init__(self, app: ASGIApp, origins: list[str]):
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in CORS_PATHS:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _prune_daily(state: ServerState) -> None:
    """``cxlab privacy prune`` once at start and every day, when ``[privacy]`` sets a retention."""
    while True:
        if cutoffs(state.config, dt.datetime.now(dt.UTC).replace(tzinfo=None)):
            await asyncio.to_thread(_prune, state)
        await asyncio.sleep(PRUNE_EVERY_S)


def _prune(state: ServerState) -> None:
    with state.scope() as cur:
        prune(cur, state.config)
    state.bump()


def _feedback_rows(state: ServerState) -> int:
    with state.scope() as cur:
        row = cur.execute("SELECT count(*) FROM feedback").fetchone()
    return int(row[0]) if row else 0


def _analyze_voice(state: ServerState) -> None:
    """``cxlab voice analyze`` on the served store (its own cursor; the collector keeps writing meanwhile)."""
    with state.scope(), Store(state.db_path) as store:
        run = analyze_feedback(store)
    if run.new_texts:
        state.bump()


async def _voice_when_feedback_arrives(state: ServerState) -> None:
    """Analyse new feedback texts (language, sentiment) at start and whenever feedback rows were added: a
    served store can't be analysed from the CLI, which the server locks out."""
    seen = -1
    while True:
        try:
            n = await asyncio.to_thread(_feedback_rows, state)
            if n and n != seen:
                await asyncio.to_thread(_analyze_voice, state)
                seen = n
        except duckdb.Error:  # interrupted by the shutdown, or the store busy: try again next round
            log.debug("voice analysis deferred", exc_info=True)
        await asyncio.sleep(VOICE_EVERY_S)


def _refit_recommendations(state: ServerState) -> None:
    """``cxlab recommend fit`` on the served store (the CLI can't write to it while the server runs)."""
    with state.scope(), Store(state.db_path) as store:
        fit_store(store.ibis(), store.con, config=store.config, store_dir=store.project_dir)
    state.bump()


def _recommendations_age_s(state: ServerState) -> float | None:
    """Seconds since the stored recommendations were fitted; None when there are none."""
    with state.scope() as cur:
        try:
            row = cur.execute(f"SELECT max(fitted_at) FROM {RECOMMENDATIONS}").fetchone()
        except duckdb.CatalogException:
            return None
    if not row or row[0] is None:
        return None
    return (dt.datetime.now(dt.UTC).replace(tzinfo=None) - row[0]).total_seconds()


async def _recommendations_daily(state: ServerState) -> None:
    """Keep the precomputed recommendations at most a day old: refit at start when they are older (or missing)
    and the store has orders, then once a day."""
    while True:
        wait: float = RECOMMEND_EVERY_S
        try:
            age = await asyncio.to_thread(_recommendations_age_s, state)
            if age is not None and age < RECOMMEND_EVERY_S:
                wait = RECOMMEND_EVERY_S - age  # fitted recently (a restart): not again until due
            else:
                with state.scope() as cur:
                    row = cur.execute("SELECT count(*) FROM orders WHERE customer_id IS NOT NULL").fetchone()
                if row and row[0]:
                    await asyncio.to_thread(_refit_recommendations, state)
        except (duckdb.Error, ValueError, MissingData):  # busy, interrupted, or too little history: next day
            log.info("recommendations not refitted", exc_info=True)
        await asyncio.sleep(wait)


def create_app(
    db_path: str | Path,
    url: str = "http://127.0.0.1:8000",
    on_ready: Callable[[], None] | None = None,
    *,
    background: bool = False,
    exit_when_stuck: bool = False,
) -> FastAPI:
    """The application for the store at ``db_path``; the store is opened (and held) at startup.

    ``background`` (``cxlab serve`` sets it): compute the unfiltered dashboard pages at startup, and analyse
    new feedback texts as they arrive. Retention (``[privacy]``) is applied daily either way.
    ``exit_when_stuck`` (``cxlab serve`` sets it, it owns its process): at shutdown, when an analysis still runs
    after the store's writer has committed everything, exit at once instead of waiting for it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServerState(db_path, url)
        served.announce(db_path, url, state.store.con)
        app.state.cx = state
        writer = collector.Collector(state)
        state.collector = writer
        writer.start()
        flows = FlowRunner(state).start() if FlowRunner.wanted(state) else None
        tasks = [asyncio.create_task(_prune_daily(state))]
        if background:  # the first visitor finds the unfiltered pages computed
            dashboard.start_warming(state)
            tasks.append(asyncio.create_task(_voice_when_feedback_arrives(state)))
            tasks.append(asyncio.create_task(_recommendations_daily(state)))
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            if flows is not None:
                await asyncio.to_thread(flows.stop)
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await asyncio.to_thread(writer.stop)  # pending batches are committed first
            if not state.close() and exit_when_stuck:
                log.warning("reads still running at shutdown; exiting without waiting (all data committed)")
                os._exit(0)

    # /docs and /redoc with Swagger UI and ReDoc from the installed fastapi-offline package, not from a CDN
    app = FastAPIOffline(
        title="cxlab",
        version=__version__,
        description="Collector, read API and dashboard of a cxlab store.",
        lifespan=lifespan,
        static_url="/docs/assets",
    )
    origins = Config.for_store(db_path).serve.cors_origins
    if origins:
        app.add_middleware(BrowserCORS, origins=origins)

    @app.get("/healthz", tags=["server"])
    def healthz(request: Request) -> Health:
        """Liveness: the store is open."""
        state = state_of(request)
        return Health(ok=True, version=__version__, store=state.db_path.name, store_version=state.version)

    @app.post("/v1/keys", tags=["keys"], responses=ERRORS, status_code=201)
    def create_key(body: KeyCreate, request: Request, _: Annotated[ApiKey, Depends(ADMIN)]) -> KeyCreated:
        """Create a key (admin): the key is in this response only."""
        state = state_of(request)
        cur = state.cursor()
        try:
            key, record = create(cur, body.role, body.name)
        finally:
            cur.close()
        state.keys.put(record, key)
        return KeyCreated(key=key, id=record.id, role=record.role, name=record.name)

    @app.get("/v1/keys", tags=["keys"], responses=ERRORS)
    def list_keys(request: Request, _: Annotated[ApiKey, Depends(ADMIN)]) -> list[KeyInfo]:
        """Every key (admin), without secrets."""
        return [KeyInfo(**k.to_dict()) for k in state_of(request).keys.records()]

    @app.delete("/v1/keys/{key_id}", tags=["keys"], responses={**ERRORS, 404: {"description": "No such key"}})
    def revoke_key(key_id: str, request: Request, _: Annotated[ApiKey, Depends(ADMIN)]) -> KeyInfo:
        """Revoke a key (admin): it fails from the next request on."""
        state = state_of(request)
        cur = state.cursor()
        try:
            record = revoke(cur, key_id)
        except KeysError as e:
            raise HTTPException(404, str(e)) from e
        finally:
            cur.close()
        state.keys.replace(record)
        return KeyInfo(**record.to_dict())

    for module in (collector, readapi, snippet, assist, dashboard, personalize_api):
        app.include_router(module.router)
    return app
