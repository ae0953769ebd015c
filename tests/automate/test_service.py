"""The flows inside the server: rounds on the server's connection, a version bump when something changed,
clean start/stop, a failing round that never stops the runner, and collector writes not blocked by a round."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cxlab.automate import adapters
from cxlab.automate import plan as plan_mod
from cxlab.automate import run as run_mod
from cxlab.automate.service import FlowRunner
from cxlab.automate.tables import OUTBOX
from cxlab.automate.templates import TONE_COLUMNS
from cxlab.config import default_toml
from cxlab.server.state import ServerState
from cxlab.store import served
from tests.automate.conftest import build_flow_store
from tests.automate.test_run import FLOW

N = 30


def wait_for(cond: Any, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerState]:
    """A store with carts left 5 hours ago (wall clock), held as the server holds it."""
    monkeypatch.setattr(plan_mod, "tone_check", lambda *a, **k: pd.DataFrame(columns=TONE_COLUMNS))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    folder = tmp_path / "p"
    s = build_flow_store(
        folder,
        customers=[{"customer_id": f"c{i}", "language": "en"} for i in range(N)],
        consent=[{"customer_id": f"c{i}"} for i in range(N)],
        events=[
            {
                "event_id": f"cart{i}",
                "ts": now - dt.timedelta(hours=5),
                "event": "add_to_cart",
                "customer_id": f"c{i}",
            }
            for i in range(N)
        ],
        toml=FLOW.format(holdout=0.2).replace("[automate]\n", "[automate]\nserve = true\n", 1),
    )
    s.close()
    lines = ["customer_id,email"] + [f"c{i},c{i}@example.com" for i in range(N)]
    (folder / "contacts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    st = ServerState(folder / "cxlab.duckdb", "http://127.0.0.1:0")
    served.announce(st.db_path, st.url, st.store.con)
    yield st
    st.close()


def outbox_rows(st: ServerState) -> int:
    cur = st.cursor()
    try:
        ((n,),) = cur.execute(f"SELECT count(*) FROM {OUTBOX}").fetchall()
    finally:
        cur.close()
    return int(n)


def test_rounds_run_bump_and_stop(state: ServerState) -> None:
    assert FlowRunner.wanted(state)
    runner = FlowRunner(state, every_s=0.05).start()
    try:
        assert wait_for(lambda: runner.rounds >= 2)
    finally:
        assert runner.stop()
    assert not runner.running and runner.failures == 0
    assert outbox_rows(state) == N
    assert state.version == 1  # the first round changed the store; the later ones found nothing new
    assert runner.last is not None and not runner.last.changed


def test_a_failing_round_is_logged_and_the_next_one_runs(
    state: ServerState, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = run_mod.run_once
    calls = {"n": 0}

    def flaky(store: Any, *a: Any, **k: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("receiver on fire")
        return real(store, *a, **k)

    monkeypatch.setattr(run_mod, "run_once", flaky)
    runner = FlowRunner(state, every_s=0.05).start()
    try:
        assert wait_for(lambda: runner.rounds >= 1)
    finally:
        runner.stop()
    assert runner.failures == 1 and runner.last_error is None
    assert "receiver on fire" in caplog.text
    assert outbox_rows(state) == N


def test_collector_writes_are_not_blocked_by_delivery(
    state: ServerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    sending = threading.Event()
    real_send = adapters.FileAdapter.send

    def slow_send(self: Any, message: Any, contact: Any) -> str:
        sending.set()
        time.sleep(0.1)
        return real_send(self, message, contact)

    monkeypatch.setattr(adapters.FileAdapter, "send", slow_send)
    runner = FlowRunner(state, every_s=60).start()
    try:
        assert sending.wait(20)
        cur = state.cursor()
        t = time.monotonic()
        cur.execute("BEGIN")
        cur.execute(
            "INSERT INTO events (event_id, ts, customer_id, event) VALUES ('x1', now()::TIMESTAMP, 'c1', 'page_view')"
        )
        cur.execute("COMMIT")
        took = time.monotonic() - t
        cur.close()
    finally:
        runner.stop()
    assert took < 0.5
    assert runner.failures == 0 and runner.last is not None and runner.last.delivery.sent > 0


def test_not_wanted_without_enabled_flows(tmp_path: Path) -> None:
    (tmp_path / "cxlab.toml").write_text(default_toml(), encoding="utf-8")
    st = ServerState(tmp_path / "cxlab.duckdb", "http://127.0.0.1:0")
    try:
        assert not FlowRunner.wanted(st)
        runner = FlowRunner(st)
        assert runner.every_s == 300 and runner.stop()  # never started: stopping is a no-op
    finally:
        st.close()


def test_declared_flows_do_not_send_without_serve_opt_in(tmp_path: Path) -> None:
    """An enabled flow alone never makes ``cxlab serve`` send: ``[automate] serve = true`` is the opt-in."""
    folder = tmp_path / "q"
    build_flow_store(folder, toml=FLOW.format(holdout=0.2)).close()
    st = ServerState(folder / "cxlab.duckdb", "http://127.0.0.1:0")
    try:
        assert not FlowRunner.wanted(st)
    finally:
        st.close()
    text = (folder / "cxlab.toml").read_text(encoding="utf-8")
    (folder / "cxlab.toml").write_text(text.replace("[automate]\n", "[automate]\nserve = true\n", 1))
    st = ServerState(folder / "cxlab.duckdb", "http://127.0.0.1:0")
    try:
        assert FlowRunner.wanted(st)
    finally:
        st.close()
