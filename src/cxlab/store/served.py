"""A store held by a running ``cxlab serve``: the serve file beside it, and in-process sharing of its connection.

DuckDB lets one process write a store file and keeps every other process out (even readers). So the server
writes ``<store>.serve.json`` (its URL and PID) while it runs: a command that finds the store locked by that
PID says so in one line, naming the URL, instead of showing DuckDB's lock error. Inside the server, the read
API and the dashboard run the same analysis code as the CLI; :class:`cxlab.store.Store` and
:func:`cxlab.store.connect` opened on the served path get a cursor of the server's own connection (DuckDB
refuses a second connection to the file from the same process), or the request's filtered cursor when one is
set with :func:`scoped`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path

import duckdb

_held: dict[Path, duckdb.DuckDBPyConnection] = {}
_scope: ContextVar[duckdb.DuckDBPyConnection | None] = ContextVar("cxlab_served_scope", default=None)


def serve_file(db_path: str | Path) -> Path:
    """Where a running server announces itself: ``cxlab.duckdb`` → ``cxlab.duckdb.serve.json``."""
    p = Path(db_path)
    return p.with_name(p.name + ".serve.json")


def announce(db_path: str | Path, url: str, con: duckdb.DuckDBPyConnection) -> None:
    """Record that this process serves ``db_path`` at ``url`` over ``con`` (the writer connection)."""
    _held[Path(db_path).resolve()] = con
    serve_file(db_path).write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")


def withdraw(db_path: str | Path) -> None:
    """Undo :func:`announce` (the server stops)."""
    _held.pop(Path(db_path).resolve(), None)
    f = serve_file(db_path)
    with suppress(OSError, ValueError):
        if json.loads(f.read_text(encoding="utf-8")).get("pid") == os.getpid():
            f.unlink()


def server_url(db_path: str | Path, pid: int) -> str | None:
    """URL of the ``cxlab serve`` with process id ``pid`` holding ``db_path``, if it is one."""
    try:
        info = json.loads(serve_file(db_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(info["url"]) if isinstance(info, dict) and info.get("pid") == pid and "url" in info else None


def connection_for(db_path: str | Path) -> duckdb.DuckDBPyConnection | None:
    """A connection to ``db_path`` when this process serves it: the request's scope, else a new cursor."""
    held = _held.get(Path(db_path).resolve()) if _held else None
    if held is None:
        return None
    scoped_con = _scope.get()
    if scoped_con is not None:
        return scoped_con
    cur = held.cursor()
    cur.execute("SET TimeZone = 'UTC'")
    return cur


def is_scoped(con: duckdb.DuckDBPyConnection) -> bool:
    """True for the current request's scoped cursor (its owner closes it, not the analysis)."""
    return con is _scope.get()


@contextmanager
def scoped(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within this block (this thread or task), stores opened on the served path use ``con``."""
    token = _scope.set(con)
    try:
        yield
    finally:
        _scope.reset(token)
