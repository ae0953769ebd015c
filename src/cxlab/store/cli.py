"""``cxlab export parquet``: the store's canonical tables as a lakehouse folder that Spark (or any engine) reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    FitTable,
    JsonOpt,
    console,
    emit_json,
    errors_as_exit,
    show_table,
)
from cxlab.display import count

app = typer.Typer(help="Export the store's tables for other engines.", no_args_is_help=True)


@app.command("parquet")
def parquet_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write DIR/<table>/ into (created).")],
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Every canonical table as Parquet under OUT/<table>/ (events partitioned by date), and the shop's
    cxlab.toml; read it with `--db "spark://local[2]?tables=OUT"` or `--db "sc://HOST:PORT?tables=OUT"`."""
    from cxlab.config import CONFIG_NAME, default_toml
    from cxlab.store import Store
    from cxlab.store.lake import export_tables

    with errors_as_exit():
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(f"{out}: exists and is not a folder")
        if not Path(db).exists():
            raise FileNotFoundError(f"{db}: no such store (create one with `cxlab init` or `cxlab demo`)")
        beside = Path(db).parent / CONFIG_NAME
        text = beside.read_text(encoding="utf-8") if beside.is_file() else default_toml()
        with Store(db, read_only=True) as store:
            counts = export_tables(store.con, out, text, Path(db).parent)
    if json_:
        emit_json({"db": str(db), "out": str(out), "tables": counts})
        return
    t = FitTable(f"exported to {out}")
    t.text("table")
    t.number("rows")
    for name, n in counts.items():
        t.add_row(escape(name), count(n))
    show_table(t)
    console.print(
        escape(f'run any command on Spark with --db "spark://local[2]?tables={out}"'), soft_wrap=True
    )
