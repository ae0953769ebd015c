"""The browser snippet ``GET /v1/cx.js`` that shops add to their pages with one ``<script>`` tag.

The script (``static/cx.js``) is hand-written, small ES2017 without dependencies: there is no Node build step
in this project, nothing to download at run time, and the code a shop runs on its pages stays readable. The
server fills in the store's channel list and session timeout from ``cxlab.toml``, so the snippet never sends a
channel the collector would refuse. Which origins may call the collector from a browser is decided by the CORS
middleware in :mod:`cxlab.server.app` (``[serve] cors_origins``).
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

import orjson
from fastapi import APIRouter, Request, Response

from cxlab.config import Config
from cxlab.server.auth import state_of

router = APIRouter(tags=["collector"])

CACHE_SECONDS = 300  # short: a new version or a changed channel list reaches the shop's pages within minutes
JS = "application/javascript; charset=utf-8"


def _template() -> str:
    return resources.files("cxlab.server").joinpath("static/cx.js").read_text(encoding="utf-8")


@cache
def render(channels: tuple[str, ...], session_minutes: int) -> tuple[bytes, str]:
    """The script for a store's config, and its ETag."""
    listed = orjson.dumps(list(channels)).decode().replace("<", "\\u003c")  # JSON is valid JavaScript
    text = (
        _template()
        .replace("/*CHANNELS*/[]", listed, 1)
        .replace("/*SESSION_MINUTES*/30", str(int(session_minutes)), 1)
    )
    body = text.encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def script_for(config: Config) -> tuple[bytes, str]:
    return render(tuple(config.channels.names), config.journey.session_timeout_minutes)


@router.get(
    "/v1/cx.js",
    response_class=Response,
    responses={
        200: {"description": "The browser snippet", "content": {"application/javascript": {}}},
        304: {"description": "Not modified (If-None-Match)"},
    },
)
def cx_js(request: Request) -> Response:
    """The browser snippet: page views, `cx.track`, `cx.identify`, batching, retries (see the README)."""
    body, etag = script_for(state_of(request).config)
    headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}", "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JS, headers=headers)
