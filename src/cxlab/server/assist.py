"""The self-service assistant over HTTP: ``POST /v1/assist``, ``POST /v1/assist/feedback`` and the chat widget
``GET /v1/assist.js`` that a shop adds to its pages with one ``<script>`` tag.

Who may ask: a ``write`` key (the shop's own backend, which passes the logged-in customer's id) or the page's
public ``browser`` key (also as ``?key=``). A browser-key caller's ``customer_id`` is ignored: the key is public,
so anyone could otherwise read anyone's order status; such a question is answered as from an anonymous visitor.

The assistant is loaded once per server (lazily, under a lock) and loaded again when the stored index changes:
its ``built_at`` and model are compared once per store version, a cheap query. Each request reads the store
through its own cursor. The last messages of each conversation are kept in memory (a bounded LRU) for the
hand-over summary. Every exchange is stored through the collector, the store's single writer, with the same
checks as ``POST /v1/events``; the answer is sent once its rows are stored. Questions and thumbs are limited per
(key, client address) to ``[assist] rate_per_minute`` a minute each (token buckets in memory): 429 beyond.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import threading
import time
import uuid
from collections import OrderedDict, deque
from functools import cache
from importlib import resources
from typing import Annotated, Any

import duckdb
import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cxlab.assist.answer import Assistant, Reply
from cxlab.assist.index import TABLE as INDEX_TABLE
from cxlab.assist.record import EVENTS, Rows, exchange_rows, feedback_rows
from cxlab.assist.service import load_assistant
from cxlab.assist.settings import assist_settings
from cxlab.errors import MissingData
from cxlab.server.auth import state_of
from cxlab.server.collector import Accepted, Collector, Outcome, Problem, browser_key, prepare
from cxlab.server.keys import ApiKey
from cxlab.server.state import ServerState

router = APIRouter(tags=["assistant"])
log = logging.getLogger(__name__)

MAX_TEXT = 2000
HISTORY = 5
"""Earlier messages of a conversation passed to the assistant (for the hand-over summary)."""
CONVERSATIONS = 10_000
"""Conversations kept in memory (least recently used dropped first)."""
BUCKETS = 100_000
"""Rate-limit buckets kept in memory (a client idle for a minute has a full bucket anyway)."""
CONVERSATION = r"^[A-Za-z0-9_-]{1,64}$"
EVENT_ID = r"^[A-Za-z0-9:_-]{1,100}$"
JS = "application/javascript; charset=utf-8"
CACHE_SECONDS = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

AskingKey = Annotated[ApiKey, Depends(browser_key)]


def _plain(text: str) -> str:
    """``text`` without control characters and lone surrogates: neither belongs in a question, the store's
    row checks would refuse a lone surrogate, and FastAPI's 422 answer can't even encode one (a 500)."""
    return _CONTROL.sub(" ", text.encode("utf-8", "replace").decode("utf-8"))


class AssistQuestion(BaseModel):
    """A customer's question."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="The customer's message")
    customer_id: str | None = Field(
        default=None,
        max_length=200,
        description="The logged-in customer (write key only: ignored with a browser key, whose caller is "
        "treated as anonymous, so a public page can't read anyone's orders)",
    )
    anonymous_id: str | None = Field(
        default=None, max_length=200, description="The visitor's device or cookie id (the snippet's)"
    )
    conversation: str | None = Field(
        default=None,
        pattern=CONVERSATION,
        description="The conversation's id (letters, digits, _ and -, at most 64); a new one when absent",
    )

    @field_validator("text", "customer_id", "anonymous_id", "conversation", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return _plain(v) if isinstance(v, str) else v


class AssistAnswer(BaseModel):
    """The assistant's reply, stored as events before it is sent."""

    conversation: str = Field(description="Send it with the next question of the same conversation")
    language: str = Field(description="The reply's language (detected from the question)")
    intent: str | None = Field(description="The topic answered; null when unsure what was asked")
    answer: str | None = Field(description="Plain text (never HTML): show it as text")
    handoff: bool = Field(description="A colleague takes over (a ticket was made)")
    confidence: float
    reason: str | None = Field(
        description="Why it was handed over: low_confidence, angry, unknown_customer, no_orders, late, empty"
    )
    answer_event: str = Field(description="The id of the answer's event: send it with thumbs up or down")


class AssistFeedback(BaseModel):
    """A thumbs up or down on one answer."""

    model_config = ConfigDict(extra="forbid")
    conversation: str = Field(pattern=CONVERSATION)
    answer_event: str = Field(pattern=EVENT_ID, description="`answer_event` of the answer rated")
    helpful: bool

    @field_validator("conversation", "answer_event", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return _plain(v) if isinstance(v, str) else v


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not valid JSON"},
    401: {"model": Problem, "description": "Missing, unknown or revoked API key"},
    403: {"model": Problem, "description": "The key may not ask (only write and browser keys may)"},
    429: {
        "model": Problem,
        "description": "Too many questions from this client: retry after `Retry-After` s",
    },
    503: {"model": Problem, "description": "No assistant index yet, or busy: `detail` says which"},
}


class RateLimit:
    """Token buckets per client: ``per_minute`` requests a minute, a burst of as many; thread-safe."""

    def __init__(self, per_minute: int, size: int = BUCKETS):
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._size = size
        self._buckets: OrderedDict[tuple[str, ...], tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: tuple[str, ...], now: float | None = None) -> float:
        """Take one token for ``client``: 0.0 when allowed, else the seconds until the next token."""
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.per_minute), t))
            tokens = min(float(self.per_minute), tokens + (t - last) * self._rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate
            self._buckets[client] = (tokens - 1.0 if wait == 0.0 else tokens, t)
            while len(self._buckets) > self._size:
                self._buckets.popitem(last=False)
        return wait


class AssistService:
    """The server's assistant: loaded lazily, reloaded when the index changes; conversations; rate limits."""

    def __init__(self, state: ServerState):
        self.state = state
        per_minute = assist_settings(state.config).rate_per_minute
        self.questions = RateLimit(per_minute)
        self.thumbs = RateLimit(per_minute)
        self._assistant: Assistant | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._checked = -1
        self._load_lock = threading.Lock()
        self._ask_lock = threading.Lock()
        """One question at a time: the embedding engine uses every core per call, and is not known to be
        safe to call from several threads at once."""
        self._history: OrderedDict[tuple[str, str], deque[str]] = OrderedDict()
        self._history_lock = threading.Lock()

    def assistant(self) -> Assistant:
        """The assistant of the stored index; :class:`MissingData` when there is none (or it doesn't fit)."""
        version = self.state.version
        with self._load_lock:
            if self._assistant is not None and version == self._checked:
                return self._assistant
            with self.state.scope() as cur:
                stamp = _stamp(cur)
                if self._assistant is None or stamp is None or stamp != self._stamp:
                    assistant = load_assistant(cur, self.state.config)  # MissingData without an index
                    assistant.con = None  # the cursor closes here; requests bring their own
                    self._assistant, self._stamp = assistant, stamp
            self._checked = version
            return self._assistant

    def ask(self, text: str, customer: str | None, history: list[str]) -> Reply:
        """The reply to ``text``, reading the store through a cursor of this request's own."""
        assistant = self.assistant()
        with self.state.scope() as cur, self._ask_lock:
            return assistant.with_connection(cur).ask(text, customer, history)

    def history(self, key_id: str, conversation: str) -> list[str]:
        """The conversation's last messages (of this key's callers only)."""
        with self._history_lock:
            said = self._history.get((key_id, conversation))
            return list(said) if said is not None else []

    def remember(self, key_id: str, conversation: str, text: str) -> None:
        with self._history_lock:
            said = self._history.pop((key_id, conversation), None) or deque(maxlen=HISTORY)
            said.append(text)
            self._history[(key_id, conversation)] = said
            while len(self._history) > CONVERSATIONS:
                self._history.popitem(last=False)

    def answer_of(self, answer_event: str, conversation: str) -> tuple[str | None, str | None] | None:
        """(customer, anonymous id) of a stored answer of ``conversation``; None when there is none."""
        with self.state.scope() as cur:
            row = cur.execute(
                "SELECT customer_id, anonymous_id FROM events WHERE event_id = ? AND event IN (?, ?) "
                "AND json_extract_string(properties, '$.conversation') = ? LIMIT 1",
                [answer_event, EVENTS[1], EVENTS[2], conversation],
            ).fetchone()
        return (row[0], row[1]) if row is not None else None


def _stamp(cur: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """What identifies the stored index (when built, with which model); None when there is none."""
    try:
        row = cur.execute(f"SELECT built_at, model, digest FROM {INDEX_TABLE} LIMIT 1").fetchone()
    except duckdb.CatalogException:
        return None
    return tuple(row) if row is not None else None


_services_lock = threading.Lock()


def service_of(request: Request) -> AssistService:
    """The assistant service of this server (made on first use, once per served store)."""
    state = state_of(request)
    with _services_lock:
        service: AssistService | None = getattr(request.app.state, "assist", None)
        if service is None or service.state is not state:
            service = AssistService(state)
            request.app.state.assist = service
        return service


def _client(request: Request, key: ApiKey) -> tuple[str, str]:
    return key.id, request.client.host if request.client else "-"


def _limit(limit: RateLimit, client: tuple[str, str]) -> None:
    wait = limit.take(client)
    if wait > 0:
        raise HTTPException(
            429,
            f"at most {limit.per_minute} requests a minute from one client; retry shortly",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


async def _store(request: Request, rows: Rows) -> Outcome:
    """Store ``rows`` through the collector with the checks of ``POST /v1/events`` (events first, so a ticket
    never exists without its exchange); the collector's answer (of the first table it refused)."""
    collector: Collector = state_of(request).collector
    outcome = Outcome(200, {"accepted": 0, "duplicate": 0, "erased": 0})
    for table in ("events", "feedback"):
        if not rows.get(table):
            continue
        prepared = prepare(table, orjson.dumps({"batch": rows[table]}))
        outcome = prepared if isinstance(prepared, Outcome) else await collector.submit(*prepared)
        if outcome.status != 200:
            break
    return outcome


def _refused(outcome: Outcome) -> HTTPException:
    """The answer to a request whose rows the collector refused (busy, stopping, or a bug: logged)."""
    if outcome.status == 503:
        detail = outcome.body.get("detail", "busy") if isinstance(outcome.body, dict) else "busy"
        return HTTPException(503, detail, headers=outcome.headers)
    log.error("assistant: the collector refused an exchange: %s %s", outcome.status, outcome.body)
    return HTTPException(503, "the exchange could not be stored; retry shortly", headers={"Retry-After": "1"})


@router.post("/v1/assist", responses=RESPONSES)
async def ask(body: AssistQuestion, request: Request, key: AskingKey) -> AssistAnswer:
    """Ask the shop's assistant: the answer in the customer's language, or a hand-over to a colleague (and a
    ticket). A write key (`Authorization: Bearer`), or the widget's browser key (also as `?key=`); with a
    browser key `customer_id` is ignored and the question is answered as from an anonymous visitor. The
    question and the answer are stored as `assist_question` and `assist_answer`/`assist_handoff` events
    before the reply is sent; `answer_event` identifies the answer for `POST /v1/assist/feedback`."""
    service = service_of(request)
    _limit(service.questions, _client(request, key))
    conversation = body.conversation or uuid.uuid4().hex
    customer = None if key.role == "browser" else (body.customer_id or None)
    history = service.history(key.id, conversation)
    try:
        reply = await asyncio.to_thread(service.ask, body.text, customer, history)
    except MissingData as e:
        raise HTTPException(503, str(e)) from e
    except duckdb.ConnectionException as e:  # the server is stopping
        raise HTTPException(503, str(e), headers={"Retry-After": "1"}) from e
    rows = exchange_rows(
        body.text, reply, conversation=conversation, customer=customer, anonymous_id=body.anonymous_id or None
    )
    stored = await _store(request, rows)
    if stored.status != 200:
        raise _refused(stored)
    service.remember(key.id, conversation, body.text)
    return AssistAnswer(
        conversation=conversation,
        language=reply.language,
        intent=reply.intent,
        answer=reply.answer,
        handoff=reply.handoff,
        confidence=round(reply.confidence, 4),
        reason=reply.reason,
        answer_event=rows["events"][1]["event_id"],
    )


@router.post(
    "/v1/assist/feedback",
    responses={**RESPONSES, 404: {"model": Problem, "description": "No such answer in this conversation"}},
)
async def assist_feedback(body: AssistFeedback, request: Request, key: AskingKey) -> Accepted:
    """A thumbs up (`helpful`) or down on one answer, stored as an `assist_feedback` event of the answer's
    customer or visitor. Same keys and rate limit as `POST /v1/assist`."""
    service = service_of(request)
    _limit(service.thumbs, _client(request, key))
    try:
        who = await asyncio.to_thread(service.answer_of, body.answer_event, body.conversation)
    except duckdb.ConnectionException as e:
        raise HTTPException(503, str(e), headers={"Retry-After": "1"}) from e
    if who is None:
        raise HTTPException(404, "no such answer in this conversation")
    rows = feedback_rows(
        body.answer_event, body.helpful, conversation=body.conversation, customer=who[0], anonymous_id=who[1]
    )
    stored = await _store(request, rows)
    if stored.status != 200:
        raise _refused(stored)
    return Accepted(**stored.body)


@cache
def widget() -> tuple[bytes, str]:
    """The widget's script and its ETag."""
    body = resources.files("cxlab.server").joinpath("static/assist.js").read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@router.get(
    "/v1/assist.js",
    response_class=Response,
    responses={
        200: {"description": "The chat widget", "content": {"application/javascript": {}}},
        304: {"description": "Not modified (If-None-Match)"},
    },
)
def assist_js(request: Request) -> Response:
    """The chat widget: `<script src="https://SERVER/v1/assist.js" data-key="BROWSER_KEY" async></script>`
    adds a chat button and panel to the page (no key needed to fetch it; the page passes its browser key)."""
    body, etag = widget()
    headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}", "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JS, headers=headers)
