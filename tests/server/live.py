"""A real ``cxlab serve`` process for tests that need one (Chromium, kill -9, signals)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CXLAB = [str(Path(sys.executable).with_name("cxlab"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path, port: int, *, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``cxlab serve`` on ``db`` and wait until ``/healthz`` answers (or fail with its stderr)."""
    proc = subprocess.Popen(
        [*CXLAB, "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"cxlab serve exited {proc.returncode}: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("cxlab serve did not become healthy within 60 s")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Send ``sig`` and wait for the process; returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@contextmanager
def serving(db: Path, *, env: dict[str, str] | None = None) -> Iterator[str]:
    """A running server on ``db`` for the block; yields its base URL."""
    port = free_port()
    proc = start(db, port, env=env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
