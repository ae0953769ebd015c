"""The collector: ``POST /v1/events``, ``/v1/feedback``, ``/v1/orders``, ``/v1/consent`` and ``/v1/identify``.

A request body ``{"batch": [item, ...]}`` (any Content-Type: ``sendBeacon`` sends text/plain) is parsed with
orjson, its shape and columns checked at once, then queued for the writer thread. The writer takes every
queued request (group commit), turns their items into JSON lines and checks them with the reader and row
checks of ``cxlab ingest`` (one staging query per table), stores the rows of the good requests that are new
in ONE transaction on the store's writer connection, commits, and only then answers each request: a 200 means
the rows are durable. A request with a bad item stores nothing and gets 422 with each problem's 0-based index,
field and the message ``cxlab ingest`` gives for the same row; the other requests of its group are unaffected.

Idempotent on the table key: a key already stored, or seen earlier in the same group, is a duplicate. When
more events are queued than :data:`MAX_QUEUED` the collector answers 503 with ``Retry-After`` (back-pressure
instead of loss). ``/v1/identify`` items link an anonymous visitor to a customer: they are stored as
``events`` rows (event ``identify``, an event id derived from the pair, so a resent link is a duplicate),
which is how :func:`cxlab.identity.with_person_id` finds links.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from cxlab.schema.checks import MAX_AMOUNT, YEARS
from cxlab.schema.tables import STR, TABLES, TS, Column, TableSpec, quote_ident
from cxlab.server.auth import authorize, state_of
from cxlab.server.keys import ApiKey
from cxlab.server.state import ServerState
from cxlab.store.ingest import (
    IngestError,
    RowError,
    _erased_sql,
    _insert,
    column_problem,
    stage_checked,
)
from cxlab.store.sources import SourceError, jsonl_lines

log = logging.getLogger(__name__)

MAX_ITEMS = 1000
MAX_BYTES = 1 << 20
MAX_QUEUED = 200_000
"""Events queued or being stored beyond which requests get 503 + Retry-After."""
GROUP_MAX = 50_000
"""Events the writer takes into one group (one check, one transaction)."""
MAX_ERRORS = 1000
"""Problems listed in one 422 answer."""
RETRY_AFTER_S = 1
NOT_OBJECT = "not a JSON object"
"""What the JSON Lines reader says of an item that is not an object (identify items are checked here)."""

IDENTIFY = TableSpec(
    name="identify",
    doc="A link from an anonymous visitor to a known customer (stored as an events row, event 'identify').",
    key=("anonymous_id", "customer_id"),
    columns=(
        Column("anonymous_id", STR, required=True, doc="device or cookie id of the visitor"),
        Column("customer_id", STR, required=True, doc="the customer they are"),
        Column("ts", TS, doc="when they identified (UTC); default: when received"),
    ),
)
KINDS: dict[str, TableSpec] = {
    "events": TABLES["events"],
    "feedback": TABLES["feedback"],
    "orders": TABLES["orders"],
    "consent": TABLES["consent"],
    "identify": IDENTIFY,
}
"""Endpoint → the spec its items follow."""


class Accepted(BaseModel):
    """The batch is stored (durably): how many items were new, already stored, or refused as erased."""

    accepted: int = Field(description="items stored now")
    duplicate: int = Field(description="items whose key was already stored (or repeated in the batch)")
    erased: int = Field(0, description="items of erased customers, refused")


class ItemError(BaseModel):
    """One problem with one item, as ``cxlab ingest`` reports it for the same row."""

    index: int = Field(description="0-based position of the item in the batch")
    field: str
    message: str


class Problem(BaseModel):
    detail: str


def _json_schema(c: Column, enums: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """JSON Schema of one column's value as sent (from the canonical :class:`TableSpec`, not hand-copied).

    It describes what is accepted, so that generated bodies (schemathesis) are stored; ``enums``: the config's
    lists (``channels``) for columns whose values come from ``cxlab.toml``."""
    t = c.type
    s: dict[str, Any]
    if pa.types.is_timestamp(t):
        s = {"type": "string", "format": "date-time"}
    elif pa.types.is_date(t):
        s = {"type": "string", "format": "date"}
    elif pa.types.is_boolean(t):
        s = {"type": "boolean"}
    elif pa.types.is_floating(t):
        s = {"type": "number"}
    elif pa.types.is_integer(t):
        s = {"type": "integer"}
    elif pa.types.is_list(t):
        item = t.value_type
        props = (
            {f.name: _json_schema(Column(f.name, f.type)) for f in item} if pa.types.is_struct(item) else {}
        )
        s = {"type": "array", "items": {"type": "object", "properties": props} if props else {}}
    elif c.json:
        s = {"type": "object", "description": "a JSON object (or its text)"}
    else:
        s = {"type": "string", "minLength": 1} if c.required else {"type": "string"}  # "" is null
    if c.enum:
        s["enum"] = list(c.enum)
    if c.enum_from and enums and enums.get(c.enum_from):
        s["enum"] = list(enums[c.enum_from])
    if c.min is not None:
        s["minimum"] = c.min
    if c.money:
        s["maximum"] = MAX_AMOUNT
    if c.pattern:
        s["pattern"] = f"^{c.pattern}$"
    doc = c.doc + (f" (one of the `{c.enum_from}` in cxlab.toml)" if c.enum_from else "")
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        doc += f" (years {YEARS[0]} to {YEARS[1]})"
    if doc:
        s["description"] = doc
    return {**s, "type": [s["type"], "null"]} if not c.required and isinstance(s["type"], str) else s


_ONE_OF_IDS = {"events": ("customer_id", "anonymous_id")}
"""Tables whose rows need one of these ids (the row rule of :data:`cxlab.schema.tables.EVENTS`)."""


def body_schema(spec: TableSpec, enums: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """JSON Schema of a request body ``{"batch": [item, ...]}`` for ``spec``."""
    item: dict[str, Any] = {
        "type": "object",
        "title": spec.name,
        "description": spec.doc,
        "properties": {c.name: _json_schema(c, enums) for c in spec.columns},
        "required": [c.name for c in spec.columns if c.required],
        "additionalProperties": False,
    }
    if spec.name in _ONE_OF_IDS:
        item["anyOf"] = [
            {"required": [k], "properties": {k: {"type": "string", "minLength": 1}}}
            for k in _ONE_OF_IDS[spec.name]
        ]
    return {
        "type": "object",
        "required": ["batch"],
        "properties": {
            "batch": {
                "type": "array",
                "items": item,
                "minItems": 1,
                "description": f"at most {MAX_ITEMS} items (413 beyond)",
            }
        },
        "additionalProperties": False,
    }


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Accepted, "description": "Stored (durable) or already stored"},
    400: {"model": Problem, "description": 'Not JSON, or not `{"batch": [item, ...]}` with items'},
    401: {"model": Problem, "description": "Missing, unknown or revoked API key"},
    403: {"model": Problem, "description": "The key may not send data"},
    413: {"model": Problem, "description": f"More than {MAX_ITEMS} items or {MAX_BYTES} bytes"},
    422: {"model": list[ItemError], "description": "Bad items; nothing of the batch was stored"},
    503: {"model": Problem, "description": "Busy or stopping: retry after `Retry-After` seconds"},
}


@dataclass
class Outcome:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        return Response(orjson.dumps(self.body), self.status, self.headers, media_type="application/json")


def _problem(status: int, detail: str, **headers: str) -> Outcome:
    return Outcome(status, {"detail": detail}, headers)


def _busy(detail: str) -> Outcome:
    return _problem(503, detail, **{"Retry-After": str(RETRY_AFTER_S)})


@dataclass
class Pending:
    """A checked request waiting for the writer."""

    table: str
    lines: list[bytes]
    keys: list[str]
    """Keys of the items (as the JSON Lines reader would find them)."""
    settle: Callable[[Outcome], None]


_LONG_NUMBER = re.compile(rb"[0-9]{19}")
"""Digits orjson may read as a float (an integer beyond 64 bits): such a body is parsed keeping number texts."""


def _parse(body: bytes) -> Any:
    """The JSON body; numbers orjson can't hold exactly (beyond 64 bits, 1e400) are kept as their text."""
    if not _LONG_NUMBER.search(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass

    def bad_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(
        body, parse_float=orjson.Fragment, parse_int=orjson.Fragment, parse_constant=bad_constant
    )


def _line(item: Any) -> bytes:
    """One item as a JSON line (not an object: the reader refuses it as ``cxlab ingest`` does)."""
    try:
        return orjson.dumps(item)
    except TypeError:  # a lone surrogate: written as JSON does, which the reader then refuses like ingest
        return json.dumps(item, default=lambda f: json.loads(f.contents)).encode()


def _identify_item(item: dict[str, Any], now: str) -> dict[str, Any]:
    pair = orjson.dumps([item.get("anonymous_id"), item.get("customer_id")])
    return {
        "event_id": "identify-" + hashlib.sha256(pair).hexdigest()[:32],
        "event": "identify",
        "anonymous_id": item.get("anonymous_id"),
        "customer_id": item.get("customer_id"),
        "ts": item.get("ts") or now,
    }


def prepare(kind: str, body: bytes) -> tuple[str, list[bytes], list[str]] | Outcome:
    """(table, JSON lines, their keys) of a request body, or the answer to a body refused before queueing."""
    try:
        doc = _parse(body)
    except (ValueError, RecursionError) as e:
        return _problem(400, f"the body is not JSON: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("batch"), list) or set(doc) != {"batch"}:
        return _problem(400, 'the body must be {"batch": [item, ...]}')
    items: list[Any] = doc["batch"]
    if not items:
        return _problem(400, "the batch is empty")
    if len(items) > MAX_ITEMS:
        return _problem(413, f"{len(items)} items in one batch; at most {MAX_ITEMS}")
    spec = KINDS[kind]
    errors: list[ItemError] = []
    keys: dict[str, None] = {}
    for item in items:
        if type(item) is dict:
            keys.update(dict.fromkeys(item))
    problem = column_problem(spec, sorted(keys))  # sorted: the order the JSON Lines reader finds keys in
    if problem is not None:
        fld, message = problem
        at = next((i for i, it in enumerate(items) if type(it) is dict and fld in it), 0)
        errors.append(ItemError(index=at, field=fld, message=message))
    if kind == "identify":
        for i, item in enumerate(items):
            if type(item) is not dict:
                errors.append(ItemError(index=i, field="(row)", message=NOT_OBJECT))
            for fld in ("anonymous_id", "customer_id"):
                if type(item) is dict and fld in keys and item.get(fld) in (None, ""):
                    errors.append(ItemError(index=i, field=fld, message="missing required value"))
    if errors:
        errors.sort(key=lambda e: e.index)
        return Outcome(422, [e.model_dump() for e in errors[:MAX_ERRORS]])
    if kind == "identify":
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        items = [_identify_item(item, now) for item in items]
        keys = dict.fromkeys(items[0])
    return ("events" if kind == "identify" else kind), [_line(item) for item in items], sorted(keys)


@dataclass
class _Totals:
    rows_read: int = 0
    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    log_id: str | None = None
    source: str = ""
    """SQL of the rows to store (a FROM item), set by the check of a group."""

    def add(self, other: _Totals) -> None:
        """Add ``other``'s counts to these."""
        self.rows_read, self.stored = self.rows_read + other.rows_read, self.stored + other.stored
        self.duplicate, self.rejected = self.duplicate + other.duplicate, self.rejected + other.rejected


class Collector:
    """The store's writer while the server runs: queue, group checks, group commits, answers."""

    def __init__(self, state: ServerState):
        self.state = state
        self._cond = threading.Condition()
        self._queue: list[Pending] = []
        self._queued = 0
        """Events queued or in the group being stored."""
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self._label = f"collector:{self._started.isoformat(timespec='seconds')}"
        self._totals: dict[str, _Totals] = {}
        self.groups = 0
        """Groups committed (for tests and benchmarks)."""

    def start(self) -> None:
        enums = {"channels": list(self.state.config.enum_values("channels"))}
        for route in router.routes:  # the documented bodies name this store's channels
            kind = getattr(route, "name", "").removeprefix("collect_")
            if kind in KINDS and isinstance(route, APIRoute) and route.openapi_extra:
                content = route.openapi_extra["requestBody"]["content"]["application/json"]
                content["schema"] = body_schema(KINDS[kind], enums)
        self._thread = threading.Thread(target=self._run, name="cxlab-collector", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop taking requests, store and answer everything queued, then return."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    async def submit(self, table: str, lines: list[bytes], keys: list[str]) -> Outcome:
        """Queue checked lines and wait until they are stored (or refused)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()

        def settle(outcome: Outcome) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits for the answer
                loop.call_soon_threadsafe(_resolve, future, outcome)

        with self._cond:
            if self._stopping:
                return _busy("the server is stopping")
            if self._queued + len(lines) > MAX_QUEUED and self._queued:
                return _busy("the collector is behind; retry shortly")
            self._queue.append(Pending(table, lines, keys, settle))
            self._queued += len(lines)
            self._cond.notify()
        return await future

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                group: list[Pending] = []
                n = 0
                while self._queue and (not group or n + len(self._queue[0].lines) <= GROUP_MAX):
                    p = self._queue.pop(0)
                    group.append(p)
                    n += len(p.lines)
            try:
                self._store(group)
            finally:
                with self._cond:
                    self._queued -= n

    def _store(self, group: list[Pending]) -> None:
        """Check and commit one group, then answer its requests; a failing group is retried request by request."""
        try:
            outcomes = self._commit(group)
        except Exception as e:
            if len(group) > 1:
                for p in group:
                    self._store([p])
                return
            log.exception("collector: storing a batch failed")
            outcomes = [_busy(f"the batch could not be stored: {type(e).__name__}")]
        for p, outcome in zip(group, outcomes, strict=True):
            p.settle(outcome)

    def _commit(self, group: list[Pending]) -> list[Outcome]:
        con = self.state.store.con
        outcomes: list[Outcome | None] = [None] * len(group)
        tables: dict[str, list[int]] = {}
        for i, p in enumerate(group):
            tables.setdefault(p.table, []).append(i)
        counts: dict[str, _Totals] = {}
        try:
            for table, members in tables.items():
                counts[table] = self._stage(con, table, [group[i] for i in members], members, outcomes)
            if any(c.stored for c in counts.values()):
                con.execute("BEGIN TRANSACTION")
                try:
                    for table, c in counts.items():
                        if c.stored:
                            stored = _insert(
                                con,
                                TABLES[table],
                                c.source,
                                self.state.config,
                                None,
                                None,
                                anti_join=False,
                            )
                            assert stored == c.stored, f"{table}: stored {stored}, expected {c.stored}"
                    logged = self._log(con, counts)
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                self._totals = logged
                self.state.bump()
                self.groups += 1
            else:  # nothing to commit: counted in memory, logged with the next group
                for table, c in counts.items():
                    self._totals.setdefault(table, _Totals()).add(c)
        finally:
            for table in tables:
                con.execute(f"DROP TABLE IF EXISTS {quote_ident('__stage_' + table)}")
                con.unregister(f"__new_{table}")
        return [o if o is not None else _busy("not stored") for o in outcomes]

    def _log(self, con: duckdb.DuckDBPyConnection, counts: dict[str, _Totals]) -> dict[str, _Totals]:
        """Write this run's cumulative counts per table into ``_cxlab_ingests`` (inside the group's transaction);
        returns the new totals, which take effect once the transaction commits."""
        totals = {t: _Totals(**vars(v)) for t, v in self._totals.items()}
        for table, c in counts.items():
            t = totals.setdefault(table, _Totals())
            t.add(c)
            values = [t.rows_read, t.stored, t.duplicate, t.rejected]
            if t.log_id is None:
                t.log_id = str(uuid.uuid4())
                con.execute(
                    'INSERT INTO _cxlab_ingests (ts, "table", file, rows_read, stored, duplicate, rejected, id, '
                    "status, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'done', NULL)",
                    [self._started, table, self._label, *values, t.log_id],
                )
            else:
                con.execute(
                    "UPDATE _cxlab_ingests SET rows_read = ?, stored = ?, duplicate = ?, rejected = ? WHERE id = ?",
                    [*values, t.log_id],
                )
        return totals

    def _stage(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        reqs: list[Pending],
        members: list[int],
        outcomes: list[Outcome | None],
    ) -> _Totals:
        """Check the requests' lines for ``table`` in one staging query; the new rows of the good requests stay
        in temp table ``__stage_<table>`` (see ``source`` of the counts). Fills the outcomes of these requests;
        returns the group's counts."""
        spec = TABLES[table]
        lines = [line for p in reqs for line in p.lines]
        starts = np.cumsum([0] + [len(p.lines) for p in reqs])
        counts = _Totals(rows_read=len(lines))
        try:
            keys = sorted(set().union(*(p.keys for p in reqs)))
            with jsonl_lines(con, lines, self._label, keys) as src:
                errors = stage_checked(con, spec, src, self.state.config, len(lines) * 64)
                dropped = sorted(d.row - 1 for d in src.dropped)
        except (IngestError, SourceError) as e:  # can't happen for prepared lines; refuse rather than fail
            for i in members:
                outcomes[i] = Outcome(422, [{"index": 0, "field": "(batch)", "message": str(e)}])
            counts.rejected = len(lines)
            return counts
        try:
            bad: dict[int, list[dict[str, Any]]] = {}
            for err in errors:
                r = int(np.searchsorted(starts, err.row - 1, side="right")) - 1
                bad.setdefault(r, []).append(_item_error(err, int(starts[r])))
            for r, errs in bad.items():
                outcomes[members[r]] = Outcome(422, errs[:MAX_ERRORS])
                counts.rejected += len(reqs[r].lines)

            def rowid(line: int) -> int:  # lines the reader dropped are absent from __stage
                return line - bisect.bisect_left(dropped, line)

            excluded = " OR ".join(
                f"(s.rowid >= {rowid(int(starts[r]))} AND s.rowid < {rowid(int(starts[r + 1]))})" for r in bad
            )
            good = "s._err = 0" + (f" AND NOT ({excluded})" if excluded else "")
            erased_sql = _erased_sql(con, spec, self.state.store.secret, self._label)
            erased_rows = np.array([], dtype=np.int64)
            if erased_sql is not None:
                erased_rows = np.array(
                    [
                        r[0]
                        for r in con.execute(
                            f"SELECT s.rowid FROM __stage s WHERE {good} AND {erased_sql}"
                        ).fetchall()
                    ],
                    dtype=np.int64,
                )
                good += f" AND NOT {erased_sql}"
            target = quote_ident(table)
            key_names = ", ".join(quote_ident(k) for k in spec.key)
            key_cols = ", ".join(f"s.{quote_ident(k)}" for k in spec.key)
            key_match = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in spec.key)
            # The new rows: good, key not stored, first of their key in the group (only the keys are read).
            new_rows = con.execute(
                f"SELECT __rid FROM (SELECT s.rowid AS __rid, {key_names} FROM __stage s WHERE {good}) s "
                f"ANTI JOIN {target} t ON {key_match} "
                f"QUALIFY row_number() OVER (PARTITION BY {key_cols} ORDER BY s.__rid) = 1"
            ).fetchnumpy()["__rid"]
            stage = quote_ident(f"__stage_{table}")
            con.execute(f"DROP TABLE IF EXISTS {stage}; ALTER TABLE __stage RENAME TO {stage}")
            if len(new_rows) == len(lines):  # all new (the common case): stored straight from the stage
                counts.source = stage
            else:
                con.register(f"__new_{table}", pa.table({"__rid": new_rows}))
                counts.source = f"(SELECT * FROM {stage} WHERE rowid IN (SELECT __rid FROM __new_{table}))"
        finally:
            con.execute("DROP TABLE IF EXISTS __stage")
        row_starts = np.array([rowid(int(s)) for s in starts])
        accepted = np.bincount(np.searchsorted(row_starts, new_rows, side="right") - 1, minlength=len(reqs))
        erased = np.bincount(np.searchsorted(row_starts, erased_rows, side="right") - 1, minlength=len(reqs))
        for r, p in enumerate(reqs):
            if r in bad:
                continue
            a, x = int(accepted[r]), int(erased[r])
            outcomes[members[r]] = Outcome(
                200, {"accepted": a, "duplicate": len(p.lines) - a - x, "erased": x}
            )
            counts.stored += a
            counts.duplicate += len(p.lines) - a - x
        return counts


def _item_error(err: RowError, start: int) -> dict[str, Any]:
    return {"index": err.row - 1 - start, "field": err.field, "message": err.message}


def _resolve(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():  # the client may have gone; its rows are stored all the same
        future.set_result(outcome)


async def _read_body(request: Request) -> bytes | Outcome:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BYTES:
        return _problem(413, f"the body has {length} bytes; at most {MAX_BYTES}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BYTES:
            return _problem(413, f"the body has more than {MAX_BYTES} bytes")
    return bytes(body)


BROWSER_KINDS = ("events", "identify")
"""What the page snippet sends: a public ``browser`` key may send these, and only these."""


async def browser_key(request: Request) -> ApiKey:
    """A write key, or the page snippet's public browser key (also as ``?key=``, for ``sendBeacon``)."""
    return authorize(request, ("write", "browser"), query_key=True, session=False)


async def writer_key(request: Request) -> ApiKey:
    """A write key (orders, feedback and consent come from the shop's systems, never from a public page)."""
    return authorize(request, "write", session=False)


async def _collect(kind: str, request: Request) -> Response:
    body = await _read_body(request)
    if isinstance(body, Outcome):
        return body.response()
    prepared = prepare(kind, body)
    if isinstance(prepared, Outcome):
        return prepared.response()
    collector: Collector = state_of(request).collector
    return (await collector.submit(*prepared)).response()


BrowserKey = Annotated[ApiKey, Depends(browser_key)]
WriterKey = Annotated[ApiKey, Depends(writer_key)]


def _endpoint(kind: str) -> Callable[..., Awaitable[Response]]:
    if kind in BROWSER_KINDS:

        async def from_pages(request: Request, _: BrowserKey) -> Response:
            return await _collect(kind, request)

        return from_pages

    async def from_systems(request: Request, _: WriterKey) -> Response:
        return await _collect(kind, request)

    return from_systems


router = APIRouter()

_DOCS = {
    "events": "Events (page views, clicks, e-mail opens, purchases, …) with the fields of the `events` table.",
    "feedback": "Feedback (reviews, NPS, CSAT, tickets) with the fields of the `feedback` table.",
    "orders": "Orders with the fields of the `orders` table.",
    "consent": "Consent given or withdrawn (a preference centre, an e-mail tool): rows of the `consent` ledger.",
    "identify": "Links from anonymous visitors to customers, used by identity stitching.",
}
for _kind, _spec in KINDS.items():
    router.add_api_route(
        f"/v1/{_kind}",
        _endpoint(_kind),
        methods=["POST"],
        tags=["collector"],
        summary=f"Send {_kind}",
        description=(
            f'{_DOCS[_kind]} Body `{{"batch": [item, ...]}}`, at most {MAX_ITEMS} items and {MAX_BYTES} bytes, '
            + (
                "any Content-Type. A write key as `Authorization: Bearer`, or the snippet's browser key (also as "
                "`?key=`). Items are checked like "
                if _kind in BROWSER_KINDS
                else "any Content-Type. A write key as `Authorization: Bearer` (not a browser key). "
                "Items are checked like "
            )
            + "`cxlab ingest`; a 200 means they are stored durably; resending is safe (idempotent on the key)."
        ),
        responses=RESPONSES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body_schema(_spec)}},
            }
        },
        name=f"collect_{_kind}",
    )
