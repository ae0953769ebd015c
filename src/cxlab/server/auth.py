"""Who is calling: the API key in ``Authorization: Bearer …`` (or the dashboard's session), checked per role.

401 without a key or with an unknown or revoked one, 403 with a key of the wrong role. The browser snippet
can't set headers on ``navigator.sendBeacon``, so the collector also takes a write key as ``?key=``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request

from cxlab.server.keys import ApiKey, Role
from cxlab.server.state import ServerState

SESSION_COOKIE = "cxlab_session"


def state_of(request: Request) -> ServerState:
    """The server's state (set by :func:`cxlab.server.app.create_app`)."""
    return request.app.state.cx


def presented_key(request: Request, *, query: bool = False) -> str | None:
    """The key the request carries: the bearer token, else (collector only) the ``key`` query parameter."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.query_params.get("key") if query else None


def authorize(request: Request, role: Role, *, query_key: bool = False) -> ApiKey:
    """The caller's key if it may act as ``role``; else raise 401/403. A dashboard session counts too."""
    state = state_of(request)
    key = state.keys.verify(presented_key(request, query=query_key))
    if key is None:
        session = state.sessions.get(request.cookies.get(SESSION_COOKIE))
        key = state.keys.get(session.key_id) if session is not None else None
    if key is None:
        raise HTTPException(401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"})
    if not key.allows(role):
        raise HTTPException(403, f"this key ({key.role}) may not {'send data' if role == 'write' else role}")
    return key


def require(role: Role, *, query_key: bool = False) -> Callable[[Request], Awaitable[ApiKey]]:
    """A FastAPI dependency: ``key: ApiKey = Depends(require("read"))``."""

    async def dependency(request: Request) -> ApiKey:  # no I/O: runs on the event loop, not the threadpool
        return authorize(request, role, query_key=query_key)

    return dependency
