"""``POST /v1/assist``, ``POST /v1/assist/feedback`` and ``GET /v1/assist.js`` on a served store with a small
FAQ index (two topics in English and Dutch) and customers with orders: answers in the question's language,
hand-over with a ticket, events stored before the answer, browser keys can't read orders, limits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cxlab.assist.knowledge import Entry
from cxlab.assist.service import build_index
from cxlab.server.app import create_app
from cxlab.store import Store, init_project
from tests.assist.assist_shop import fill
from tests.server.conftest import Served, add_keys, copy_store

RATE = 6
"""``[assist] rate_per_minute`` of the test store: each test asks fewer per key."""
ENTRIES = [
    Entry(
        "delivery_time",
        "en",
        "How long does delivery take?",
        ["When will my order arrive if I order today?", "How many days does shipping take?"],
        "Orders placed before 22:00 ship the next morning and arrive in 1-2 working days.",
        "delivery",
    ),
    Entry(
        "delivery_time",
        "nl",
        "Hoe lang duurt de levering?",
        ["Wanneer komt mijn bestelling aan?", "Hoeveel dagen duurt de verzending?"],
        "Bestellingen van voor 22:00 worden de volgende ochtend verzonden en komen binnen 1-2 werkdagen aan.",
        "delivery",
    ),
    Entry(
        "payment",
        "en",
        "Which payment methods do you accept?",
        ["Can I pay with PayPal?", "Can I pay by credit card?"],
        "We accept iDEAL, credit card and PayPal.",
        "checkout",
    ),
    Entry(
        "payment",
        "nl",
        "Welke betaalmethoden accepteren jullie?",
        ["Kan ik betalen met PayPal?", "Kan ik met iDEAL betalen?"],
        "Je kunt betalen met iDEAL, creditcard en PayPal.",
        "checkout",
    ),
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with customers and orders (tests/assist's shop) and the small index (~20 s to embed)."""
    db = init_project(tmp_path_factory.mktemp("assist-api"))
    toml = db.parent / "cxlab.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f"\n[assist]\nrate_per_minute = {RATE}\n", "utf-8")
    with Store(db) as store:
        fill(store)
        build_index(store.con, store.config, ENTRIES)
    return db


@pytest.fixture
def served(shop: Path, tmp_path: Path) -> Iterator[Served]:
    db = copy_store(shop, tmp_path / "store")
    keys = add_keys(db)
    with TestClient(create_app(db)) as client:
        yield Served(db, client, keys)


def ask(s: Served, role: str = "write", **body: Any) -> Any:
    return s.client.post("/v1/assist", json=body, headers=s.auth(role))


def events(s: Served, conversation: str) -> list[dict[str, Any]]:
    cur = s.client.app.state.cx.cursor()  # type: ignore[attr-defined]
    try:
        rows = cur.execute(
            "SELECT event_id, event, customer_id, anonymous_id, touchpoint, properties FROM events "
            "WHERE json_extract_string(properties, '$.conversation') = ? ORDER BY ts, "
            "CASE event WHEN 'assist_question' THEN 0 WHEN 'assist_feedback' THEN 2 ELSE 1 END",
            [conversation],
        ).fetchall()
    finally:
        cur.close()
    names = ("event_id", "event", "customer_id", "anonymous_id", "touchpoint")
    return [{**dict(zip(names, r[:5], strict=True)), **json.loads(r[5])} for r in rows]


def tickets(s: Served, feedback_id: str) -> list[tuple[Any, ...]]:
    cur = s.client.app.state.cx.cursor()  # type: ignore[attr-defined]
    try:
        return cur.execute(
            "SELECT source, touchpoint, text, language, customer_id FROM feedback WHERE feedback_id = ?",
            [feedback_id],
        ).fetchall()
    finally:
        cur.close()


def test_answers_in_the_question_language_and_stores_the_exchange(served: Served) -> None:
    r = ask(served, text="How many days does delivery take?")
    assert r.status_code == 200, r.text
    en = r.json()
    assert (en["language"], en["intent"], en["handoff"]) == ("en", "delivery_time", False)
    assert en["answer"].startswith("Orders placed before 22:00")
    conv = en["conversation"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", conv)
    stored = events(served, conv)  # stored before the answer came back
    assert [e["event"] for e in stored] == ["assist_question", "assist_answer"]
    question, answer = stored
    assert answer["event_id"] == en["answer_event"]
    assert question["text"] == "How many days does delivery take?" and question["language"] == "en"
    assert answer["question"] == question["event_id"] and answer["intent"] == "delivery_time"
    assert answer["confidence"] == en["confidence"] and answer["reason"] is None
    assert {e["touchpoint"] for e in stored} == {"assistant"}
    assert {e["anonymous_id"] for e in stored} == {conv}  # no customer: the conversation is the visitor

    r = ask(served, text="Hoe lang duurt de verzending van mijn bestelling?", conversation=conv)
    nl = r.json()
    assert (nl["language"], nl["intent"], nl["conversation"]) == ("nl", "delivery_time", conv)
    assert nl["answer"].startswith("Bestellingen van voor 22:00")
    assert len(events(served, conv)) == 4
    assert not tickets(served, en["answer_event"])


def test_off_topic_is_handed_over_with_a_ticket(served: Served) -> None:
    r = ask(served, text="What is the capital of France?", anonymous_id="visitor-1")
    body = r.json()
    assert r.status_code == 200 and body["handoff"] is True and body["reason"] == "low_confidence"
    assert body["intent"] is None and body["answer"]
    stored = events(served, body["conversation"])
    assert [e["event"] for e in stored] == ["assist_question", "assist_handoff"]
    assert stored[1]["event_id"] == body["answer_event"]
    assert {e["anonymous_id"] for e in stored} == {"visitor-1"}
    assert tickets(served, body["answer_event"]) == [
        ("ticket", "assistant", "What is the capital of France?", "en", None)
    ]


def test_write_key_reads_the_customers_order(served: Served) -> None:
    body = ask(served, text="Where is my parcel?", customer_id="C_SHIPPED").json()
    assert body["intent"] == "order_status" and body["handoff"] is False
    assert "O1001" in body["answer"]
    stored = events(served, body["conversation"])
    assert {e["customer_id"] for e in stored} == {"C_SHIPPED"}
    assert stored[1]["order_id"] == "O1001"


def test_browser_key_cannot_read_a_customers_orders(served: Served) -> None:
    for auth in ({"headers": served.auth("browser")}, {"params": {"key": served.keys["browser"]}}):
        r = served.client.post(
            "/v1/assist", json={"text": "Where is my parcel?", "customer_id": "C_SHIPPED"}, **auth
        )
        body = r.json()
        assert r.status_code == 200, r.text
        assert body["handoff"] is True and body["reason"] == "unknown_customer"
        assert "O1001" not in json.dumps(body)
        stored = events(served, body["conversation"])
        assert {e["customer_id"] for e in stored} == {None}
        assert "O1001" not in json.dumps(stored)


def test_keys_and_validation(served: Served) -> None:
    c = served.client
    r = c.post("/v1/assist", json={"text": "How long does delivery take?"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert (
        c.post("/v1/assist", json={"text": "hi"}, headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    assert ask(served, "read", text="How long does delivery take?").status_code == 403
    r = c.post("/v1/assist", json={"text": "hi"}, params={"key": served.keys["write"]})
    assert r.status_code == 401  # only a browser key may travel in the URL
    assert ask(served, text="").status_code == 422
    assert ask(served, text="x" * 2001).status_code == 422
    assert ask(served, text="hi", conversation="not/allowed").status_code == 422
    assert ask(served, text="hi", conversation="x" * 65).status_code == 422
    assert ask(served, text="hi", extra=1).status_code == 422
    bad = {"conversation": "abc", "answer_event": "assist:x", "helpful": "maybe"}
    assert c.post("/v1/assist/feedback", json=bad, headers=served.auth("write")).status_code == 422


def test_rate_limit_per_key_and_client(served: Served) -> None:
    for _ in range(RATE):
        assert ask(served, "browser", text="Can I pay with PayPal?").status_code == 200
    r = ask(served, "browser", text="Can I pay with PayPal?")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "a minute" in r.json()["detail"]
    assert ask(served, "write", text="Can I pay with PayPal?").status_code == 200  # another key's bucket


def test_feedback_is_stored(served: Served) -> None:
    body = ask(served, "browser", text="Which payment methods do you accept?").json()
    assert body["intent"] == "payment"
    thumbs = {"conversation": body["conversation"], "answer_event": body["answer_event"], "helpful": True}
    r = served.client.post("/v1/assist/feedback", json=thumbs, params={"key": served.keys["browser"]})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    stored = events(served, body["conversation"])
    assert [e["event"] for e in stored][-1] == "assist_feedback"
    assert stored[-1]["answer"] == body["answer_event"] and stored[-1]["helpful"] is True
    assert stored[-1]["anonymous_id"] == body["conversation"]
    other = {**thumbs, "conversation": "someone-else"}
    r = served.client.post("/v1/assist/feedback", json=other, headers=served.auth("browser"))
    assert r.status_code == 404
    r = served.client.post("/v1/assist/feedback", json=thumbs)
    assert r.status_code == 401


def test_hostile_question_is_plain_data(served: Served) -> None:
    hostile = "<script>alert(1)</script>"
    r = ask(served, "browser", text=hostile)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["handoff"] is True
    stored = events(served, body["conversation"])
    assert stored[0]["text"] == hostile  # stored as the customer wrote it, as data
    odd = json.dumps({"text": "\x00\ud800 hello"})  # a NUL and a lone surrogate, escaped as JSON allows
    headers = {**served.auth("browser"), "Content-Type": "application/json"}
    r = served.client.post("/v1/assist", content=odd, headers=headers)
    assert r.status_code == 200, r.text  # no server error
    assert events(served, r.json()["conversation"])[0]["text"] == " ? hello"


def test_no_index_is_503(empty_served: Served) -> None:
    r = empty_served.client.post("/v1/assist", json={"text": "hi"}, headers=empty_served.auth("write"))
    assert r.status_code == 503
    assert "cxlab assist index" in r.json()["detail"]


def test_widget_script(served: Served) -> None:
    r = served.client.get("/v1/assist.js")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/javascript; charset=utf-8"
    js = r.text
    assert len(r.content) < 8 * 1024
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js
    assert "eval(" not in js and "http://" not in js.replace("https://cx.example.com", "")
    assert "textContent" in js and "sessionStorage" in js and "aria-label" in js
    assert "/v1/assist/feedback" in js and "documentElement.lang" in js
    again = served.client.get("/v1/assist.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_documented(served: Served) -> None:
    paths = served.client.get("/openapi.json").json()["paths"]
    ask_op = paths["/v1/assist"]["post"]
    assert {"200", "401", "429", "503"} <= set(ask_op["responses"])
    assert "browser key" in ask_op["description"]
    assert {"/v1/assist/feedback", "/v1/assist.js"} <= set(paths)


def test_reloads_when_the_index_changes(served: Served) -> None:
    assert ask(served, text="Can I pay by credit card?").status_code == 200
    state = served.client.app.state.cx  # type: ignore[attr-defined]
    service = served.client.app.state.assist  # type: ignore[attr-defined]
    first = service.assistant()
    assert service.assistant() is first  # loaded once, checked once per store version
    state.store.con.execute("UPDATE _cxlab_assist_index SET built_at = built_at + INTERVAL 1 SECOND")
    state.bump()  # what a commit does
    assert service.assistant() is not first
