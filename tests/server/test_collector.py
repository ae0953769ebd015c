"""The collector: every table, the same checks and messages as ``cxlab ingest``, idempotence, limits, keys,
concurrency, erased customers, consent, identify, back-pressure and a clean stop."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import ibis
import orjson
import pytest

from cxlab.identity import with_person_id
from cxlab.privacy.erase import erase
from cxlab.server import collector as collector_module
from cxlab.server.collector import Collector, prepare
from cxlab.server.state import ServerState
from cxlab.store import Store, init_project
from cxlab.store.ingest import IngestError, ingest
from tests.server.conftest import Served, add_keys, copy_store

TS = "2026-11-30T12:00:00Z"


def ev(i: int | str, **kw: Any) -> dict[str, Any]:
    return {"event_id": f"e{i}", "ts": TS, "event": "page_view", "anonymous_id": "anon-1", **kw}


def post(s: Served, kind: str, items: Any, role: str = "write", headers: dict[str, str] | None = None) -> Any:
    body = items if isinstance(items, bytes) else json.dumps({"batch": items}).encode()
    return s.client.post(f"/v1/{kind}", content=body, headers={**s.auth(role), **(headers or {})})


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def rows(s: Served, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cur = s.client.app.state.cx.cursor()  # type: ignore[attr-defined]
    try:
        return cur.execute(sql, params or []).fetchall()
    finally:
        cur.close()


def test_each_table_is_accepted_and_stored(empty_served: Served) -> None:
    s = empty_served
    r = post(s, "events", [ev(1, channel="email", properties={"path": "/a", "email": "x@y.nl"}), ev(2)])
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 2, "duplicate": 0, "erased": 0}
    order = {"order_id": "O1", "customer_id": "C1", "ts": TS, "revenue": 12.5, "currency": "EUR"}
    order |= {"items": [{"product_id": "P1", "quantity": 2, "price": 6.25}]}
    assert post(s, "orders", [order]).json()["accepted"] == 1
    fb = {"feedback_id": "F1", "ts": TS, "source": "nps", "score": 9, "text": "<script>alert(1)</script>"}
    assert post(s, "feedback", [fb]).json()["accepted"] == 1
    assert rows(s, "SELECT event_id, channel FROM events ORDER BY 1") == [("e1", "email"), ("e2", None)]
    # personal data in properties is scrubbed exactly as ingest does
    (props,) = rows(s, "SELECT properties FROM events WHERE event_id = 'e1'")[0]
    assert "x@y.nl" not in props and "/a" in props
    assert rows(s, "SELECT order_id, revenue, items[1].quantity FROM orders") == [("O1", 12.5, 2)]
    assert rows(s, "SELECT text FROM feedback") == [("<script>alert(1)</script>",)]
    # one log row per table for this server run, with cumulative counts
    assert post(s, "events", [ev(3), ev(1)]).json() == {"accepted": 1, "duplicate": 1, "erased": 0}
    logged = rows(s, 'SELECT "table", file, stored, duplicate FROM _cxlab_ingests WHERE "table" = \'events\'')
    assert len(logged) == 1 and logged[0][1].startswith("collector:") and logged[0][2:] == (3, 1)


def test_consent_rows_reach_the_ledger(empty_served: Served) -> None:
    s = empty_served
    items = [
        {"customer_id": "C1", "channel": "email", "granted": True, "ts": "2026-11-01T10:00:00Z"},
        {"customer_id": "C1", "channel": "email", "granted": False, "ts": TS, "source": "preference centre"},
    ]
    assert post(s, "consent", items).json() == {"accepted": 2, "duplicate": 0, "erased": 0}
    assert post(s, "consent", items).json()["duplicate"] == 2
    got = rows(s, "SELECT granted, source FROM consent WHERE customer_id = 'C1' ORDER BY ts")
    assert got == [(True, None), (False, "preference centre")]
    bad = post(s, "consent", [{"customer_id": "C1", "channel": "fax", "granted": "maybe", "ts": TS}])
    assert bad.status_code == 422 and {e["field"] for e in bad.json()} == {"channel", "granted"}


BAD_EVENTS: list[Any] = [
    ev(1),
    ev(2, ts="yesterday"),
    ev(3, channel="<script>alert(1)</script>"),
    ev(4, revenue=-5),
    ev(5, revenue=10**30),
    5,
    ev(6, ts={"nested": [1, {"junk": None}]}),
    {"event_id": "e7", "ts": TS, "event": "x"},
    ev(8, revenue="1e400"),
    ev(9, event=""),
    ev(10, properties="not json {"),
    ev(11, ts="10000-01-01T00:00:00Z"),
]


def _ingest_errors(tmp_path: Path, table: str, items: list[Any]) -> list[tuple[int, str, str]]:
    """What ``cxlab ingest`` says about the same items written as a .jsonl file: (0-based row, field, message)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{table}.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in items))
    db = init_project(tmp_path / "ingest-store")
    with Store(db) as st, pytest.raises(IngestError) as e:
        ingest(st.con, table, path, st.config, secret=st.secret)
    return [(err.row - 1, err.field, err.message) for err in e.value.errors]


def test_bad_items_get_the_messages_of_cxlab_ingest_and_store_nothing(
    empty_served: Served, tmp_path: Path
) -> None:
    r = post(empty_served, "events", BAD_EVENTS)
    assert r.status_code == 422
    got = [(e["index"], e["field"], e["message"]) for e in r.json()]
    assert got == _ingest_errors(tmp_path, "events", BAD_EVENTS)
    assert {i for i, _, _ in got} == set(range(1, 12))  # every bad item, and only those
    assert rows(empty_served, "SELECT count(*) FROM events") == [(0,)]  # not even the good first item


def test_column_errors_match_ingest(empty_served: Served, tmp_path: Path) -> None:
    unknown = [ev(1, **{'"><img src=x onerror=alert(1)>': 1}), ev(2)]
    r = post(empty_served, "events", unknown)
    assert r.status_code == 422
    assert [(e["index"], e["field"], e["message"]) for e in r.json()] == _ingest_errors(
        tmp_path, "events", unknown
    )
    later = post(empty_served, "events", [ev(1), ev(2, colour="red")]).json()
    assert later[0]["index"] == 1 and later[0]["field"] == "colour"  # the item that has the key
    missing = [{"event_id": "e1", "ts": TS, "anonymous_id": "a"}]
    r = post(empty_served, "events", missing)
    assert [(e["index"], e["field"], e["message"]) for e in r.json()] == _ingest_errors(
        tmp_path / "m", "events", missing
    )
    assert "missing required column: event" in r.json()[0]["message"]


def test_one_bad_request_does_not_affect_others_in_its_group(empty_served: Served) -> None:
    coll: Collector = empty_served.client.app.state.cx.collector  # type: ignore[attr-defined]
    held = threading.Event()
    original = coll._store

    def slow(group: list[Any]) -> None:
        held.wait(10)
        original(group)

    coll._store = slow  # type: ignore[method-assign]
    bodies = [[ev(f"g{k}-{i}") for i in range(20)] for k in range(6)]
    bodies[2][5]["ts"] = "never"
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(post, empty_served, "events", b) for b in bodies]
        wait_for(lambda: coll._queued == 120)  # all six queued (or held by the writer)
        held.set()
        answers = [f.result() for f in futures]
    assert [a.status_code for a in answers] == [200, 200, 422, 200, 200, 200]
    assert answers[2].json() == [{"index": 5, "field": "ts", "message": answers[2].json()[0]["message"]}]
    assert rows(empty_served, "SELECT count(*) FROM events") == [(100,)]
    assert coll.groups <= 3  # the queued requests were committed together


def test_resend_and_duplicates_within_a_batch(empty_served: Served) -> None:
    batch = [ev(i) for i in range(50)]
    assert post(empty_served, "events", batch).json() == {"accepted": 50, "duplicate": 0, "erased": 0}
    assert post(empty_served, "events", batch).json() == {"accepted": 0, "duplicate": 50, "erased": 0}
    twice = [ev("x"), ev("y"), ev("x")]
    assert post(empty_served, "events", twice).json() == {"accepted": 2, "duplicate": 1, "erased": 0}
    assert rows(empty_served, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(52, 52)]


def test_limits_and_malformed_bodies(empty_served: Served) -> None:
    s = empty_served
    assert post(s, "events", [ev(i) for i in range(1001)]).status_code == 413
    big = orjson.dumps({"batch": [ev(1, properties={"pad": "x" * (1 << 20)})]})
    assert post(s, "events", big).status_code == 413
    fake_length = s.client.post(
        "/v1/events", content=b'{"batch": []}', headers={**s.auth("write"), "Content-Length": str(2 << 20)}
    )
    assert fake_length.status_code in (400, 413)
    for body in (b"not json", b'{"batch": []}', b"[1, 2]", b'{"batch": {}}', b'{"batch": [1], "x": 2}'):
        r = post(s, "events", body)
        assert r.status_code == 400 and r.json()["detail"], body
    deep = b'{"batch": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    assert post(s, "events", deep).status_code in (400, 422)
    text_plain = post(s, "events", orjson.dumps({"batch": [ev(1)]}), headers={"Content-Type": "text/plain"})
    assert text_plain.status_code == 200  # sendBeacon's content type
    assert rows(s, "SELECT count(*) FROM events") == [(1,)]


def test_keys_roles_and_query_key(empty_served: Served) -> None:
    s, body = empty_served, orjson.dumps({"batch": [ev(1)]})
    assert s.client.post("/v1/events", content=body).status_code == 401
    assert (
        s.client.post("/v1/events", content=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    assert post(s, "events", [ev(1)], role="read").status_code == 403
    # only the snippet's public browser key may travel in a URL
    for role in ("read", "write", "admin"):
        assert s.client.post(f"/v1/events?key={s.keys[role]}", content=body).status_code == 401
    assert s.client.post(f"/v1/events?key={s.keys['browser']}", content=body).json()["accepted"] == 1
    assert post(s, "events", [ev(2)], role="admin").status_code == 200
    assert post(s, "events", [ev(3)], role="write").status_code == 200


def test_the_public_browser_key_sends_only_events_and_identify_links(empty_served: Served) -> None:
    s = empty_served
    assert post(s, "events", [ev(1)], role="browser").status_code == 200
    link = {"anonymous_id": "a-1", "customer_id": "C1"}
    assert post(s, "identify", [link], role="browser").status_code == 200
    order = {"order_id": "O1", "ts": TS, "revenue": 9.5, "currency": "EUR"}
    consent = {"customer_id": "C1", "channel": "email", "granted": True, "ts": TS, "source": "forged"}
    feedback = {"feedback_id": "F1", "ts": TS, "source": "nps", "score": 9}
    for kind, item in (("orders", order), ("consent", consent), ("feedback", feedback)):
        assert post(s, kind, [item], role="browser").status_code == 403
        assert s.client.post(f"/v1/{kind}?key={s.keys['browser']}", json={"batch": [item]}).status_code == 401
    assert s.client.get("/v1/keys", headers=s.auth("browser")).status_code == 403


def test_the_collector_ignores_dashboard_sessions(empty_served: Served) -> None:
    s = empty_served
    page = s.client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    logged = s.client.post("/login", data={"key": s.keys["admin"], "csrf": csrf}, follow_redirects=False)
    assert logged.status_code in (302, 303) and s.client.cookies.get("cxlab_session")
    assert s.client.get("/").status_code == 200  # the session works for the dashboard …
    sent = s.client.post("/v1/events", content=orjson.dumps({"batch": [ev(1)]}))
    assert sent.status_code == 401  # … but carries no CSRF token, so it can't send data
    assert s.client.get("/v1/keys").status_code == 401  # nor manage keys


def test_many_concurrent_clients_store_each_acknowledged_event_once(empty_served: Served) -> None:
    def client(t: int) -> list[str]:
        acked = []
        for k in range(15):
            # every client also resends ids that other clients send
            batch = [ev(f"t{t}-{k}-{i}") for i in range(30)] + [ev(f"shared-{k}-{i}") for i in range(10)]
            r = post(empty_served, "events", batch)
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] + r.json()["duplicate"] == 40
            acked += [b["event_id"] for b in batch]
        return acked

    with ThreadPoolExecutor(8) as pool:
        acked = {e for ids in pool.map(client, range(8)) for e in ids}
    stored = rows(empty_served, "SELECT event_id, count(*) FROM events GROUP BY 1")
    assert {e for e, _ in stored} == acked and all(n == 1 for _, n in stored)
    assert len(acked) == 8 * 15 * 30 + 15 * 10


def test_erased_customer_is_refused(demo_db: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from cxlab.server.app import create_app

    db = copy_store(demo_db, tmp_path / "store")
    with Store(db, read_only=True) as st:
        (cid,) = st.con.execute("SELECT min(customer_id) FROM customers").fetchone() or ("",)
    erase(db, cid)
    keys = add_keys(db)
    with TestClient(create_app(db)) as client:
        s = Served(db, client, keys)
        r = post(s, "events", [ev("gone", customer_id=cid), ev("kept", customer_id="someone-else")])
        assert r.json() == {"accepted": 1, "duplicate": 0, "erased": 1}
        assert rows(s, "SELECT count(*) FROM events WHERE customer_id = ?", [cid]) == [(0,)]
        assert rows(s, "SELECT count(*) FROM events WHERE event_id = 'ekept'") == [(1,)]


def test_identify_links_anonymous_events_to_the_customer(empty_served: Served) -> None:
    s = empty_served
    assert post(s, "events", [ev(i, anonymous_id="visitor-9") for i in range(3)]).status_code == 200

    def persons() -> set[str]:
        cur = s.client.app.state.cx.cursor()  # type: ignore[attr-defined]
        try:
            t = with_person_id(ibis.duckdb.from_connection(cur).table("events"))
            return set(t.filter(t.anonymous_id == "visitor-9").person_id.to_pyarrow().to_pylist())
        finally:
            cur.close()

    assert persons() == {"anon:visitor-9"}
    link = [{"anonymous_id": "visitor-9", "customer_id": "C42"}]
    assert post(s, "identify", link).json() == {"accepted": 1, "duplicate": 0, "erased": 0}
    assert post(s, "identify", link).json()["duplicate"] == 1  # a resent link is a duplicate
    assert persons() == {"C42"}
    bad = post(s, "identify", [{"anonymous_id": "v", "customer_id": None}, {"anonymous_id": "v", "cid": 1}])
    assert bad.status_code == 422 and {(e["index"], e["field"]) for e in bad.json()} == {
        (0, "customer_id"),
        (1, "customer_id"),
        (1, "cid"),
    }
    missing = post(
        s, "identify", [{"anonymous_id": "v", "customer_id": "C1"}, {"anonymous_id": "w", "customer_id": ""}]
    )
    assert missing.json() == [{"index": 1, "field": "customer_id", "message": "missing required value"}]
    not_object = post(s, "identify", [{"anonymous_id": "v", "customer_id": "C1"}, [1]])
    assert not_object.json() == [{"index": 1, "field": "(row)", "message": "not a JSON object"}]


def test_back_pressure_answers_503_with_retry_after(
    empty_served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector_module, "MAX_QUEUED", 150)
    coll: Collector = empty_served.client.app.state.cx.collector  # type: ignore[attr-defined]
    held = threading.Event()
    original = coll._store

    def slow(group: list[Any]) -> None:
        held.wait(10)
        original(group)

    coll._store = slow  # type: ignore[method-assign]
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, empty_served, "events", [ev(f"a{i}") for i in range(100)])
        wait_for(lambda: coll._queued == 100)
        refused = post(empty_served, "events", [ev(f"b{i}") for i in range(100)])
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        held.set()
        assert first.result().json()["accepted"] == 100
    wait_for(lambda: coll._queued == 0)  # the writer frees the queue right after answering
    assert post(empty_served, "events", [ev(f"b{i}") for i in range(100)]).json()["accepted"] == 100


def test_stop_commits_and_answers_everything_queued(tmp_path: Path) -> None:
    db = init_project(tmp_path)
    state = ServerState(db, "http://test")
    coll = Collector(state)
    held = threading.Event()
    original = coll._store

    def slow(group: list[Any]) -> None:
        held.wait(10)
        original(group)

    coll._store = slow  # type: ignore[method-assign]
    coll.start()

    async def scenario() -> list[Any]:
        tasks = []
        for k in range(3):
            prepared = prepare("events", orjson.dumps({"batch": [ev(f"s{k}-{i}") for i in range(10)]}))
            assert isinstance(prepared, tuple)
            tasks.append(asyncio.create_task(coll.submit(*prepared)))
        await asyncio.sleep(0.2)
        stopping = asyncio.create_task(asyncio.to_thread(coll.stop))
        while not coll._stopping:
            await asyncio.sleep(0.01)
        late = prepare("events", orjson.dumps({"batch": [ev("late")]}))
        assert isinstance(late, tuple)
        refused = await coll.submit(*late)
        held.set()
        await stopping
        return [refused, *(await asyncio.gather(*tasks))]

    try:
        refused, *answers = asyncio.run(scenario())
    finally:
        held.set()
        coll.stop()
        cur = state.cursor()
        stored = cur.execute("SELECT count(*) FROM events").fetchall()
        cur.close()
        state.close()
    assert refused.status == 503
    assert [a.body["accepted"] for a in answers] == [10, 10, 10]
    assert stored == [(30,)]


def test_openapi_documents_the_bodies_from_the_table_specs(empty_served: Served) -> None:
    doc = empty_served.client.get("/openapi.json").json()
    for kind, required in (
        ("events", {"event_id", "ts", "event"}),
        ("identify", {"anonymous_id", "customer_id"}),
    ):
        op = doc["paths"][f"/v1/{kind}"]["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        item = schema["properties"]["batch"]["items"]
        assert set(item["required"]) == required and item["additionalProperties"] is False
        assert {"200", "401", "403", "413", "422", "503"} <= set(op["responses"])
    events = doc["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    props = events["properties"]["batch"]["items"]["properties"]
    assert props["ts"]["format"] == "date-time" and props["revenue"]["minimum"] == 0
    assert "email" in props["channel"]["enum"]  # this store's channels, from its cxlab.toml
    assert set(props) == {c for c in collector_module.TABLES["events"].column_names}
