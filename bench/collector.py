"""The collector under load: sustained events/s of ``cxlab serve`` on loopback, next to appending the same batches
straight into DuckDB (the issue's target: ≥ 50,000 events/s sustained, 0 acknowledged events lost, within 3× of
the direct append).

A fresh store is served by a real ``cxlab serve`` process. Client processes (``--procs``), each with
``--clients`` keep-alive connections driven by asyncio over raw sockets, send ``POST /v1/events`` batches of
``--batch`` events with unique ids for ``--seconds`` seconds (a body is one bytes template with the id prefix
replaced, so a client costs little). Every 200 is an acknowledgement: its latency (send to answer) and its count
are recorded. After the run the server is stopped (SIGTERM) and the store is compared with what was acknowledged.

The limit: in one process, the same bodies (orjson → Arrow, typed by DuckDB) appended into a fresh store with the
same idempotent insert (``INSERT … SELECT … ANTI JOIN events ON event_id``), without the collector's checks and
scrubbing, one insert (and transaction) per batch, and one per 100 batches (the limit: what DuckDB can append).

    python bench/collector.py [--seconds 60] [--procs 2] [--clients 128] [--batch 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx
import orjson
import pyarrow as pa

from cxlab.schema.tables import TABLES
from cxlab.server.keys import create
from cxlab.store import Store, init_project

CXLAB = str(Path(sys.executable).with_name("cxlab"))
MARK = b"@@PREFIX@@@@@@@@"
"""Placeholder of a request's unique id prefix in the body template (16 bytes, replaced by 16 bytes)."""


def template(batch: int) -> bytes:
    events = [
        {
            "event_id": f"{MARK.decode()}-{i:04d}",
            "ts": "2026-11-30T12:00:00Z",
            "anonymous_id": f"a{i % 37}",
            "session_id": f"s{i % 11}",
            "event": "page_view" if i % 5 else "add_to_cart",
            "channel": "organic_search" if i % 3 else "email",
            "touchpoint": "product_page",
            "device": "mobile",
            "properties": {"path": f"/p/{i}", "ref": "bench"},
        }
        for i in range(batch)
    ]
    return orjson.dumps({"batch": events})


def body(tpl: bytes, prefix: str) -> bytes:
    return tpl.replace(MARK, prefix.encode().rjust(len(MARK), b"0"))


async def _connection(
    port: int, key: str, tpl: bytes, tag: str, until: float, out: list[tuple[float, int, str]]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    seq = 0
    head = f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n".encode()
    while time.monotonic() < until:
        prefix = f"{tag}{seq:07d}"
        data = body(tpl, prefix)
        t0 = time.perf_counter()
        writer.write(
            head + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(data) + data
        )
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        answer = await reader.readexactly(length)
        status = int(status_line.split()[1])
        if status == 200:
            accepted = orjson.loads(answer)["accepted"]
            out.append((time.perf_counter() - t0, accepted, prefix))
            seq += 1
        elif status == 503:
            await asyncio.sleep(0.05)  # back-pressure: retry the same batch
        else:
            raise RuntimeError(f"HTTP {status}: {answer[:200]!r}")
    writer.close()


def _client(port: int, key: str, batch: int, clients: int, proc: int, seconds: float, q: mp.Queue) -> None:
    tpl = template(batch)
    out: list[tuple[float, int, str]] = []
    until = time.monotonic() + seconds

    async def run() -> None:
        await asyncio.gather(
            *(_connection(port, key, tpl, f"p{proc}c{c:02d}x", until, out) for c in range(clients))
        )

    try:
        import uvloop

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())
    q.put(out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def served(args: argparse.Namespace, work: Path) -> dict[str, float]:
    db = init_project(work / "served")
    with Store(db) as s:
        key, _ = create(s.con, "write", "bench")
    port = _free_port()
    server = subprocess.Popen([CXLAB, "serve", "--db", str(db), "--port", str(port)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("cxlab serve did not start") from None
        time.sleep(0.1)
    q: mp.Queue = mp.Queue()
    procs = [
        mp.Process(target=_client, args=(port, key, args.batch, args.clients, p, args.seconds, q))
        for p in range(args.procs)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    server.send_signal(signal.SIGTERM)
    server.wait(60)
    acks = [r for out in results for r in out]
    acked = sum(a for _, a, _ in acks)
    latencies = sorted(lat for lat, _, _ in acks)
    con = duckdb.connect(str(db), read_only=True)
    stored, distinct = con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone() or (
        0,
        0,
    )
    prefixes = {p for _, _, p in acks}
    found = con.execute("SELECT count(DISTINCT split_part(event_id, '-', 1)) FROM events").fetchone()
    con.close()
    lost = len(prefixes) - int(found[0] if found else 0)
    return {
        "requests": len(acks),
        "acknowledged": acked,
        "stored": int(stored),
        "duplicates stored": int(stored) - int(distinct),
        "acknowledged batches missing": lost,
        "seconds": elapsed,
        "events/s": acked / elapsed,
        "p50 ms": 1000 * statistics.median(latencies),
        "p99 ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def direct(args: argparse.Namespace, work: Path, per_insert: int) -> dict[str, float]:
    """The same bodies appended into a fresh store in this process, for ``--seconds`` / 4 seconds: each body
    parsed with orjson into an Arrow table; every ``per_insert`` bodies, one ``INSERT … SELECT`` typed by DuckDB
    with the same idempotent anti-join on ``event_id``, in its own transaction (no checks, no scrubbing)."""
    db = init_project(work / f"direct{per_insert}")
    con = duckdb.connect(str(db))
    spec = TABLES["events"]
    cols = ", ".join(spec.column_names)
    kinds = {"ts": "TIMESTAMP", "revenue": "DOUBLE"}
    tpl = template(args.batch)
    present = list(orjson.loads(tpl)["batch"][0])
    typed = ", ".join(
        f"CAST({c} AS {kinds.get(c, 'VARCHAR')}) AS {c}" if c in present else f"NULL AS {c}"
        for c in spec.column_names
    )
    insert = f"INSERT INTO events ({cols}) SELECT s.* FROM (SELECT {typed} FROM batch) s ANTI JOIN events t USING (event_id)"
    n = k = 0
    until = time.monotonic() + args.seconds / 4
    t0 = time.perf_counter()
    while time.monotonic() < until:
        tables = []
        for _ in range(per_insert):
            items = orjson.loads(body(tpl, f"d{k:09d}x"))["batch"]
            for it in items:
                it["properties"] = orjson.dumps(it["properties"]).decode()
            tables.append(pa.Table.from_pylist(items))
            k += 1
        batch = pa.concat_tables(tables)
        con.register("batch", batch)
        n += con.execute(insert).fetchone()[0]  # type: ignore[index]
    elapsed = time.perf_counter() - t0
    con.close()
    return {"events": n, "seconds": elapsed, "events/s": n / elapsed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--procs", type=int, default=2, help="client processes")
    ap.add_argument("--clients", type=int, default=128, help="keep-alive connections per client process")
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        s = served(args, work)
        print("served:", json.dumps({k: round(v, 1) for k, v in s.items()}))
        d1 = direct(args, work, 1)
        print("direct, one insert per batch:", json.dumps({k: round(v, 1) for k, v in d1.items()}))
        d100 = direct(args, work, 100)
        print("direct, one insert per 100 batches:", json.dumps({k: round(v, 1) for k, v in d100.items()}))
        print(
            f"collector {s['events/s']:,.0f} events/s; direct {d1['events/s']:,.0f} (per batch) / "
            f"{d100['events/s']:,.0f} (per 100 batches); ratio {d100['events/s'] / s['events/s']:.2f}× "
            f"of the best direct; lost {s['acknowledged batches missing']:.0f}; cpus {os.cpu_count()}"
        )


if __name__ == "__main__":
    main()
