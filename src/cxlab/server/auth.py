"""Who is calling: the API key in ``Authorization: Bearer …`` (or the dashboard's session), checked per role.

401 without a key or with an unknown or revoked one, 403 with a key of the wrong role. The browser snippet
can't set headers on ``navigator.sendBeacon``, so events and identify links also take a ``browser`` key as ``?key=``.
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


def presented_key(request: Request) -> str | None:
    """The bearer token the request carries, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authorize(
    request: Request, role: Role | tuple[Role, ...], *, query_key: bool = False, session: bool = True
) -> ApiKey:
    """The caller's key if it may act as ``role`` (or one of several); else raise 401/403.

    ``query_key``: a ``browser`` key may come as ``?key=`` (no other kind: secrets don't belong in URLs and
    logs). ``session``: a dashboard session counts too (never for the collector, whose POSTs carry no CSRF
    token)."""
    state = state_of(request)
    roles = role if isinstance(role, tuple) else (role,)
    key = state.keys.verify(presented_key(request))
    if key is None and query_key:
        key = state.keys.verify(request.query_params.get("key"))
        if key is not None and key.role != "browser":
            raise HTTPException(
                401, "only a browser key may be given as ?key=; send this key as a Bearer header"
            )
    if key is None and session:
        s = state.sessions.get(request.cookies.get(SESSION_COOKIE))
        key = state.keys.get(s.key_id) if s is not None else None
    if key is None:
        raise HTTPException(401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"})
    if not any(key.allows(r) for r in roles):
        doing = {"write": "send data", "browser": "send events", "read": "read", "admin": "manage keys"}
        raise HTTPException(403, f"this key ({key.role}) may not {doing[roles[0]]}")
    return key


def require(role: Role, *, session: bool = True) -> Callable[[Request], Awaitable[ApiKey]]:
    """A FastAPI dependency: ``key: ApiKey = Depends(require("read"))``: a Bearer key, or (``session``) a
    dashboard session."""

    async def dependency(request: Request) -> ApiKey:  # no I/O: runs on the event loop, not the threadpool
        return authorize(request, role, session=session)

    return dependency
