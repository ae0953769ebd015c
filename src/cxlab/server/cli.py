"""``cxlab serve`` and ``cxlab keys create|list|revoke``: thin shells over :mod:`cxlab.server`.

The web stack (FastAPI, uvicorn) is imported only when ``serve`` runs, so other commands start fast."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    FitTable,
    JsonOpt,
    WideOpt,
    console,
    emit_json,
    err,
    errors_as_exit,
    show_table,
)
from cxlab.display import cell
from cxlab.server.keys import ROLES

if TYPE_CHECKING:
    import uvicorn

keys_app = typer.Typer(
    help="API keys of the server: write (send data), read (analyses), admin.", no_args_is_help=True
)


@keys_app.command("create")
def create_cmd(
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    name: Annotated[
        str | None, typer.Option("--name", help="What the key is for (the site, the app).")
    ] = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Create a key and print it once; the store keeps only its hash."""
    from cxlab.server.keys import create
    from cxlab.store import Store

    with errors_as_exit(), Store(db) as store:
        key, record = create(store.con, role, name)
    if json_:
        emit_json({"key": key, "id": record.id, "role": record.role, "name": record.name})
        return
    console.print(f"{record.role} key {record.id}{f' ({escape(name)})' if name else ''}:")
    console.print(key, markup=False, soft_wrap=True)
    err.print("Shown once: the store keeps only its hash. Keep it somewhere safe.")


@keys_app.command("list")
def list_cmd(db: DbOpt = DEFAULT_DB, json_: JsonOpt = False, wide: WideOpt = False) -> None:
    """Every key with its role and dates (never the key itself)."""
    from cxlab.server.keys import list_keys
    from cxlab.store import Store

    with errors_as_exit(), Store(db) as store:
        records = list_keys(store.con)
    if json_:
        emit_json({"keys": [r.to_dict() for r in records]})
        return
    t = FitTable("API keys")
    t.ident("id")
    t.text("name")
    t.text("role", essential=True)
    t.text("created")
    t.text("revoked", essential=True)
    for r in records:
        t.add_row(r.id, escape(r.name or ""), r.role, cell(r.created), cell(r.revoked) if r.revoked else "")
    show_table(t, wide)


@keys_app.command("revoke")
def revoke_cmd(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `cxlab keys list`).")],
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Revoke a key: it fails from then on."""
    from cxlab.server.keys import revoke
    from cxlab.store import Store

    with errors_as_exit(), Store(db) as store:
        record = revoke(store.con, key_id)
    if json_:
        emit_json(record.to_dict())
    else:
        console.print(f"revoked {record.id}")


class ServeError(ValueError):
    """``cxlab serve`` can't start (port in use, bad host): exit 2 with one line."""


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a port in use or a bad host is bad input (one line, exit 2)."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as e:
        raise ServeError(f"--host {host}: {e.strerror}") from e
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once after a stop
    try:
        sock.bind(addr)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        what = (
            "is in use by another program" if e.errno == errno.EADDRINUSE else f"can't be used: {e.strerror}"
        )
        raise ServeError(f"{host}:{port} {what}; pick another with --port") from e
    return sock


def serve(
    db: DbOpt = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free one).")] = 8000,
) -> None:
    """Run the collector API, the read API and the dashboard on one store (this process becomes its writer).

    Stops cleanly on Ctrl+C or SIGTERM (exit 0): the collector commits what it has queued first.
    """
    with errors_as_exit():
        if not Path(db).exists():
            raise FileNotFoundError(f"{db}: no such store (create one with `cxlab init` or `cxlab demo`)")
        sock = listen(host, port)  # first: a port in use is told at once
        try:
            from cxlab.store import Store

            with Store(db) as store:  # a clear one-line error now if the store is locked or its secret wrong
                store.secret  # noqa: B018
        except BaseException:
            sock.close()
            raise
    import uvicorn

    from cxlab.server.app import create_app

    bound = sock.getsockname()[1]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{bound}"

    def ready() -> None:
        err.print(
            f"cxlab serving {escape(str(db))} at {url}  (dashboard {url}/, API docs {url}/docs; Ctrl+C stops)",
            soft_wrap=True,
        )

    config = uvicorn.Config(
        create_app(db, url, on_ready=ready, background=True, exit_when_stuck=True),
        log_level="warning",
        access_log=False,
        lifespan="on",
        loop="auto",  # uvloop and httptools when installed (uvicorn[standard])
        http="auto",
        timeout_keep_alive=30,  # touchpoints that send often keep their connection
        timeout_graceful_shutdown=10,
    )
    started = _run(config, sock)
    # Everything is committed and the store closed by now. Exit without the interpreter's teardown: a
    # background analysis thread still inside DuckDB or the embedder would make it abort (SIGABRT).
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0 if started else 1)  # startup failed: uvicorn logged why


def _run(config: uvicorn.Config, sock: socket.socket) -> bool:
    """Serve until SIGINT or SIGTERM, then shut down gracefully; False when startup failed.

    uvicorn re-raises the signal after its graceful shutdown (so the process dies of it, exit 130 / -15); a
    clean stop on request is a success here, so the handlers only ask the server to exit.
    """
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    server = Server(config)
    server.run(sockets=[sock])
    return bool(server.started)
