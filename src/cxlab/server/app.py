"""The FastAPI application of ``cxlab serve``: health, keys, the collector, the read API, the dashboard.

One process owns the store (DuckDB allows one writer): the collector's writer thread commits incoming batches,
requests read through cursors of the same database (see :class:`cxlab.server.state.ServerState`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from cxlab import __version__
from cxlab.privacy.retention import cutoffs, prune
from cxlab.server import collector, dashboard, readapi, snippet
from cxlab.server.auth import require, state_of
from cxlab.server.keys import ApiKey, KeysError, Role, create, revoke
from cxlab.server.state import ServerState
from cxlab.store import served

PRUNE_EVERY_S = 24 * 3600
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key's role may not do this"},
}


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


async def _prune_daily(state: ServerState) -> None:
    """``cxlab privacy prune`` once at start and every day, when ``[privacy]`` sets a retention."""
    while True:
        if cutoffs(state.config, dt.datetime.now(dt.UTC).replace(tzinfo=None)):
            cur = state.cursor()
            try:
                await asyncio.to_thread(prune, cur, state.config)
                state.bump()
            finally:
                cur.close()
        await asyncio.sleep(PRUNE_EVERY_S)


def create_app(
    db_path: str | Path, url: str = "http://127.0.0.1:8000", on_ready: Callable[[], None] | None = None
) -> FastAPI:
    """The application for the store at ``db_path``; the store is opened (and held) at startup."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServerState(db_path, url)
        served.announce(db_path, url, state.store.con)
        app.state.cx = state
        writer = collector.Collector(state)
        state.collector = writer
        writer.start()
        pruner = asyncio.create_task(_prune_daily(state))
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pruner
            await asyncio.to_thread(writer.stop)  # pending batches are committed first
            state.close()

    app = FastAPI(
        title="cxlab",
        version=__version__,
        description="Collector, read API and dashboard of a cxlab store.",
        lifespan=lifespan,
    )

    @app.get("/healthz", tags=["server"])
    def healthz(request: Request) -> Health:
        """Liveness: the store is open."""
        state = state_of(request)
        return Health(ok=True, version=__version__, store=str(state.db_path), store_version=state.version)

    @app.post("/v1/keys", tags=["keys"], responses=ERRORS, status_code=201)
    def create_key(
        body: KeyCreate, request: Request, _: Annotated[ApiKey, Depends(require("admin"))]
    ) -> KeyCreated:
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
    def list_keys(request: Request, _: Annotated[ApiKey, Depends(require("admin"))]) -> list[KeyInfo]:
        """Every key (admin), without secrets."""
        return [KeyInfo(**k.to_dict()) for k in state_of(request).keys.records()]

    @app.delete("/v1/keys/{key_id}", tags=["keys"], responses={**ERRORS, 404: {"description": "No such key"}})
    def revoke_key(key_id: str, request: Request, _: Annotated[ApiKey, Depends(require("admin"))]) -> KeyInfo:
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

    for module in (collector, readapi, snippet, dashboard):
        app.include_router(module.router)
    return app
