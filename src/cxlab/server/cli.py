"""``cxlab serve`` and ``cxlab keys create|list|revoke``: thin shells over :mod:`cxlab.server`.

The web stack (FastAPI, uvicorn) is imported only when ``serve`` runs, so other commands start fast."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cxlab.clitools import DEFAULT_DB, DbOpt, JsonOpt, console, emit_json, err, errors_as_exit
from cxlab.server.keys import ROLES, create, list_keys, revoke
from cxlab.store import Store

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
    with errors_as_exit(), Store(db) as store:
        key, record = create(store.con, role, name)
    if json_:
        emit_json({"key": key, "id": record.id, "role": record.role, "name": record.name})
        return
    console.print(f"{record.role} key {record.id}{f' ({escape(name)})' if name else ''}:")
    console.print(key, markup=False, soft_wrap=True)
    err.print("Shown once: the store keeps only its hash. Keep it somewhere safe.")


@keys_app.command("list")
def list_cmd(db: DbOpt = DEFAULT_DB, json_: JsonOpt = False) -> None:
    """Every key with its role and dates (never the key itself)."""
    with errors_as_exit(), Store(db) as store:
        records = list_keys(store.con)
    if json_:
        emit_json({"keys": [r.to_dict() for r in records]})
        return
    t = Table(title="API keys")
    for col in ("id", "name", "role", "created", "revoked"):
        t.add_column(col)
    for r in records:
        t.add_row(r.id, escape(r.name or ""), r.role, f"{r.created:%Y-%m-%d %H:%M}",
                  f"{r.revoked:%Y-%m-%d %H:%M}" if r.revoked else "")  # fmt: skip
    console.print(t)


@keys_app.command("revoke")
def revoke_cmd(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `cxlab keys list`).")],
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Revoke a key: it fails from then on."""
    with errors_as_exit(), Store(db) as store:
        record = revoke(store.con, key_id)
    if json_:
        emit_json(record.to_dict())
    else:
        console.print(f"revoked {record.id}")


def serve(
    db: DbOpt = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
) -> None:
    """Run the collector API, the read API and the dashboard on one store (this process becomes its writer)."""
    with errors_as_exit():
        if not db.exists():
            raise FileNotFoundError(f"{db}: no such store (create one with `cxlab init` or `cxlab demo`)")
        with Store(db) as store:  # a clear one-line error now if the store is locked or its secret wrong
            store.secret  # noqa: B018
    import uvicorn

    from cxlab.server.app import create_app

    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"

    def ready() -> None:
        err.print(
            f"cxlab serving {escape(str(db))} at {url}  (dashboard {url}/, API docs {url}/docs; Ctrl+C stops)",
            soft_wrap=True,
        )

    app = create_app(db, url, on_ready=ready)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
