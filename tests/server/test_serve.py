"""``cxlab serve`` as a real process: its URL, offline API docs, clean stops on signals, a port in use."""

from __future__ import annotations

import datetime as dt
import re
import signal
import socket
import subprocess
import uuid
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import httpx
import pytest

from cxlab.store import init_project
from tests.server import live
from tests.server.conftest import add_keys


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A new, empty store with a key of each role."""
    db = init_project(tmp_path / "shop")
    return db, add_keys(db)


class Refs(HTMLParser):
    """Every src/href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


def test_prints_url_and_serves_docs_offline(store: tuple[Path, dict[str, str]]) -> None:
    db, _ = store
    port = live.free_port()
    proc = live.start(db, port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert httpx.get(f"{base}/healthz").json()["ok"] is True
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "cxlab"
        for page in ("/docs", "/redoc"):
            html = httpx.get(base + page).text
            assert "/openapi.json" in html
            assert not re.search(r"(https?:)?//[a-z0-9]", html, re.IGNORECASE), f"{page} loads from elsewhere"
            parser = Refs()
            parser.feed(html)
            assert any(r.endswith(".js") for r in parser.refs)
            for ref in parser.refs:  # the Swagger UI / ReDoc assets come from this server
                assert ref.startswith("/") and httpx.get(base + ref).status_code == 200, ref
    finally:
        assert live.stop(proc) == 0
    assert proc.stderr is not None
    assert f"at {base}" in proc.stderr.read().decode()


def _event(now: dt.datetime) -> dict[str, str]:
    return {"event_id": str(uuid.uuid4()), "ts": now.isoformat(), "anonymous_id": "a-1", "event": "page_view"}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_and_keeps_acknowledged(store: tuple[Path, dict[str, str]], sig: int) -> None:
    db, keys = store
    port = live.free_port()
    proc = live.start(db, port)
    batch = [_event(dt.datetime.now(dt.UTC)) for _ in range(50)]
    try:
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/events",
            json={"batch": batch},
            headers={"Authorization": f"Bearer {keys['write']}"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 50
    finally:
        rc = live.stop(proc, sig)
    assert rc == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read().decode()
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = dict(con.execute("SELECT event_id, count(*) FROM events GROUP BY 1").fetchall())
    finally:
        con.close()
    assert {e["event_id"]: 1 for e in batch}.items() <= stored.items()
    assert not db.with_name(db.name + ".serve.json").exists()


def test_port_in_use_is_one_line_exit_2(store: tuple[Path, dict[str, str]]) -> None:
    db, _ = store
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*live.CXLAB, "serve", "--db", str(db), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], done.stderr
    assert done.stdout == ""
