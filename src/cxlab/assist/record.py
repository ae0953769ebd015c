"""Conversations as journey data: each exchange becomes events at the ``assistant`` touchpoint, and a
hand-over also a ``ticket`` in feedback, so the journey map, SWOT and the voice analyses cover the assistant.

Events: ``assist_question`` (the customer's words, language, conversation), then ``assist_answer`` or
``assist_handoff`` (intent, closest intent, confidence, reason, order), and ``assist_feedback`` (thumbs up or
down on an answer, also a CSAT answer of 5 or 1). Rows are built here and stored through the same checks as any ingest: the CLI and the demo
with :func:`write_rows`, the server through its collector (the store's single writer).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pyarrow as pa

from cxlab.assist.answer import Reply
from cxlab.store import Store

TOUCHPOINT = "assistant"
SOURCE = "assistant"
"""The name of the assistant's rows in the ingest log."""
EVENTS = ("assist_question", "assist_answer", "assist_handoff", "assist_feedback")
Rows = dict[str, list[dict[str, Any]]]


def _ts(at: dt.datetime | None) -> str:
    at = at or dt.datetime.now(dt.UTC)
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    return at.isoformat(sep=" ", timespec="microseconds")


def new_id() -> str:
    return uuid.uuid4().hex


def exchange_rows(
    text: str,
    reply: Reply,
    *,
    conversation: str,
    customer: str | None = None,
    anonymous_id: str | None = None,
    at: dt.datetime | None = None,
    session: str | None = None,
    ids: tuple[str, str] | None = None,
) -> Rows:
    """The rows one question and its reply add: two events, and a ticket when handed over; ``ids``: the two
    events' ids (default: new random ones)."""
    ts = _ts(at)
    who = {"customer_id": customer, "anonymous_id": anonymous_id or (None if customer else conversation)}
    base = {**who, "ts": ts, "session_id": session or conversation, "touchpoint": TOUCHPOINT}
    qid, aid = ids or (f"assist:{new_id()}", f"assist:{new_id()}")
    question = {
        **base,
        "event_id": qid,
        "event": "assist_question",
        "properties": json.dumps({"conversation": conversation, "text": text, "language": reply.language}),
    }
    outcome = {
        **base,
        "event_id": aid,
        "event": "assist_handoff" if reply.handoff else "assist_answer",
        "properties": json.dumps(
            {
                "conversation": conversation,
                "question": qid,
                "intent": reply.intent,
                "guess": reply.guess,
                "confidence": round(reply.confidence, 4),
                "reason": reply.reason,
                "order_id": reply.order_id,
                "language": reply.language,
            }
        ),
    }
    rows: Rows = {"events": [question, outcome]}
    if reply.handoff and reply.reason != "empty":
        rows["feedback"] = [
            {
                "feedback_id": aid,
                "customer_id": customer,
                "ts": ts,
                "source": "ticket",
                "touchpoint": TOUCHPOINT,
                "text": text,
                "language": reply.language,
                "order_id": reply.order_id,
            }
        ]
    return rows


def feedback_rows(
    answer_event: str,
    helpful: bool,
    *,
    conversation: str,
    customer: str | None = None,
    anonymous_id: str | None = None,
    at: dt.datetime | None = None,
    event_id: str | None = None,
) -> Rows:
    """A thumbs up (``helpful``) or down on an answer: an ``assist_feedback`` event, and a CSAT answer (5 or 1)
    at the assistant, so strengths & weaknesses and the voice views weigh the assistant by its thumbs."""
    eid = event_id or f"assist:{new_id()}"
    return {
        "feedback": [
            {
                "feedback_id": eid,
                "customer_id": customer,
                "ts": _ts(at),
                "source": "csat",
                "touchpoint": TOUCHPOINT,
                "score": 5.0 if helpful else 1.0,
            }
        ],
        "events": [
            {
                "event_id": eid,
                "ts": _ts(at),
                "customer_id": customer,
                "anonymous_id": anonymous_id or (None if customer else conversation),
                "session_id": conversation,
                "event": "assist_feedback",
                "touchpoint": TOUCHPOINT,
                "properties": json.dumps(
                    {"conversation": conversation, "answer": answer_event, "helpful": helpful}
                ),
            }
        ],
    }


def extend(into: Rows, rows: Rows) -> None:
    """Add ``rows`` to ``into`` table by table (several exchanges stored in one :func:`write_rows`)."""
    for table, items in rows.items():
        into.setdefault(table, []).extend(items)


def write_rows(store: Store, rows: Rows) -> None:
    """Store ``rows`` through ingest (checked, contact data scrubbed from properties, idempotent on the keys,
    logged as source ``assistant``): events first, so a ticket never exists without its exchange."""
    for table in ("events", "feedback"):
        if rows.get(table):
            store.ingest(table, pa.Table.from_pylist(rows[table]), name=SOURCE)
