"""What every ``cxlab`` command shares: consoles, common options, exit codes, JSON output, progress bars.

Commands print human-readable output with rich by default and one JSON document on stdout with ``--json``;
progress goes to stderr; exit 0 on success, 1 when an analysis fails, 2 on bad input with a one-line error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cxlab.config import ConfigError
from cxlab.jsonable import dumps
from cxlab.store import IngestError, SourceError

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)
PIPED_WIDTH = 200
"""Width of tables written to a pipe or file (no terminal to fit), so cells are not cut short."""


def fit_width() -> None:
    """Size both consoles for this run: ``COLUMNS`` when set, else the terminal, else :data:`PIPED_WIDTH`."""
    columns = os.environ.get("COLUMNS", "")
    for c in (console, err):
        c.width = int(columns) if columns.isdigit() else c.size.width if c.is_terminal else PIPED_WIDTH


DbOpt = Annotated[Path, typer.Option("--db", help="The store (a DuckDB file).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
FigureOpt = Annotated[
    Path | None, typer.Option("--figure", help="Also write the figure as a standalone HTML file.")
]
DEFAULT_DB = Path("cxlab.duckdb")

BAD_INPUT = (
    IngestError,
    SourceError,
    ConfigError,
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
    KeyError,
    ValueError,
)


@dataclass
class Capture:
    """What a command run in-process (the server's read API) emitted: its JSON document or its error."""

    json: str | None = None
    """The document :func:`emit_json` wrote, as the exact text the CLI prints (without the newline)."""
    error: str | None = None
    """The one-line message :func:`fail` reported."""
    code: int | None = None
    """The exit code :func:`fail` exited with."""


_capture: ContextVar[Capture | None] = ContextVar("cxlab_capture", default=None)


@contextmanager
def captured() -> Iterator[Capture]:
    """Within this block (this thread or task), :func:`emit_json` and :func:`fail` report to the
    :class:`Capture` instead of stdout/stderr; thread-safe, so concurrent requests don't mix outputs."""
    cap = Capture()
    token = _capture.set(cap)
    try:
        yield cap
    finally:
        _capture.reset(token)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error on stderr and exit."""
    line = " ".join(message.split())
    cap = _capture.get()
    if cap is not None:
        cap.error, cap.code = line, code
    else:
        err.print(f"error: {escape(line)}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def errors_as_exit() -> Iterator[None]:
    """Bad input → exit 2 with one line; any other failure → exit 1 with one line."""
    try:
        yield
    except typer.Exit:
        raise
    except BAD_INPUT as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e), 2)
    except OverflowError as e:  # a number given (a horizon, a window) too large to compute with
        fail(f"a value is out of range: {e}", 2)
    except Exception as e:  # an analysis failed: say what, don't dump a traceback on the user
        fail(f"{type(e).__name__}: {e}", 1)


def emit_json(doc: Any) -> None:
    """Print ``doc`` as one strict JSON document (NaN and infinity as null) on stdout."""
    cap = _capture.get()
    if cap is not None:
        cap.json = dumps(doc)
        return
    sys.stdout.write(dumps(doc) + "\n")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, float], None] | None]:
    """A rich progress bar on stderr, driven by the engine's own progress reports."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, pct: float) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=100)
            bar.update(tasks[phase], completed=pct)

        yield update


def cell(v: Any) -> str:
    """A table cell: numbers to 4 significant digits (thousands separated), NaN as a dash."""
    if isinstance(v, float):
        return "–" if pd.isna(v) else f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def show_frame(df: pd.DataFrame, title: str, summary: str, limit: int = 60) -> None:
    """Print a data frame as a rich table (every cell escaped), then its summary sentence."""
    t = Table(title=escape(title))
    for c in df.columns:
        t.add_column(escape(str(c)), justify="left" if df[c].dtype == object else "right")
    for r in df.head(limit).itertuples(index=False):
        t.add_row(*[escape(cell(v)) for v in r])
    console.print(t)
    console.print(escape(summary))


def write_figure(fig: Any, path: Path | None) -> None:
    """Write a Plotly figure (if any) to ``path`` (if given) as a standalone HTML file."""
    if path is not None and fig is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.write_html(str(path), include_plotlyjs=True, full_html=True)
