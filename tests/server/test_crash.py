"""Durable before acknowledged: a real ``cxlab serve`` killed with SIGKILL under load, several times; afterwards
every acknowledged event is stored exactly once."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest

from cxlab.store import init_project
from tests.server.conftest import add_keys
from tests.server.live import free_port, start, stop

CLIENTS = 4
KILLS = 3


@pytest.mark.slow
def test_acknowledged_events_survive_kill_9(tmp_path: Path) -> None:
    db = init_project(tmp_path)
    key = add_keys(db)["write"]
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/events"
    acked: list[set[str]] = [set() for _ in range(CLIENTS)]
    errors: list[int] = [0] * CLIENTS
    done = threading.Event()

    def client(c: int) -> None:
        seq = 0
        http = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10)
        while not done.is_set():
            ids = [f"c{c}-{seq}-{i}" for i in range(50)]
            body = orjson.dumps(
                {
                    "batch": [
                        {"event_id": e, "ts": "2026-11-30T12:00:00Z", "event": "x", "anonymous_id": "a"}
                        for e in ids
                    ]
                }
            )
            while True:  # the same batch until it is acknowledged: a retry after a kill may be a duplicate
                try:
                    r = http.post(url, content=body)
                    if r.status_code == 200:
                        assert r.json()["accepted"] + r.json()["duplicate"] == len(ids)
                        acked[c].update(ids)
                        break
                    assert r.status_code == 503, r.text
                except httpx.HTTPError:
                    http.close()
                    http = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10)
                errors[c] += 1
                time.sleep(0.05)
            seq += 1
        http.close()

    proc = start(db, port)
    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    before = 0
    try:
        for _ in range(KILLS):
            time.sleep(1.0)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            now = sum(map(len, acked))
            assert now > before, "no batch was acknowledged between two kills"
            before = now
            proc = start(db, port)
        time.sleep(1.0)
        done.set()
        for t in threads:
            t.join(30)
    finally:
        done.set()
        assert stop(proc) == 0
    assert sum(errors) > 0  # the kills did interrupt clients
    con = duckdb.connect(str(db), read_only=True)
    counts = dict(con.execute("SELECT event_id, count(*) FROM events GROUP BY 1").fetchall())
    con.close()
    every = set().union(*acked)
    assert len(every) > 1000
    assert every <= set(counts), f"{len(every - set(counts))} acknowledged events lost"
    assert max(counts.values()) == 1, "an event was stored twice"
