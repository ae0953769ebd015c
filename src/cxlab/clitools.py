"""What every ``cxlab`` command shares: consoles, common options, exit codes, JSON output, tables, progress.

Commands print human-readable output with rich by default and one JSON document on stdout with ``--json``;
progress goes to stderr; exit 0 on success, 1 when an analysis fails, 2 on bad input with a one-line error.

Kept light on purpose (no pandas, engine or models at import): every command module imports it, and
``cxlab --help`` should start at once.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Protocol

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from typer.core import TyperOption

from cxlab.display import cell, money, month, number, p_value, pct, points

if TYPE_CHECKING:
    import pandas as pd
    from rich.measure import Measurement
    from rich.progress import Task
    from rich.text import Text


console = Console(highlight=False)
err = Console(stderr=True, highlight=False)
PIPED_WIDTH = 200
"""Width of tables written to a pipe or file (no terminal to fit), so cells are not cut short."""


def fit_width() -> None:
    """Size both consoles for this run: ``COLUMNS`` when set, else the terminal, else :data:`PIPED_WIDTH`."""
    columns = os.environ.get("COLUMNS", "")
    for c in (console, err):
        c.width = int(columns) if columns.isdigit() else c.size.width if c.is_terminal else PIPED_WIDTH


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """A flag takes no value, so ``--help`` shows no type for it (Typer 0.29 prints ``<bool>``)."""
    return None if self.is_flag else _option_type(self, ctx)


_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

DbOpt = Annotated[
    str,
    typer.Option(
        "--db",
        help='The store: a DuckDB file, or Spark over Parquet tables ("spark://local[2]?tables=DIR", '
        '"sc://HOST:PORT?tables=DIR").',
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
WideOpt = Annotated[
    bool,
    typer.Option("--wide", help="Show every column at full width (by default tables fit the terminal)."),
]
FigureOpt = Annotated[
    Path | None, typer.Option("--figure", help="Also write the figure as a standalone HTML file.")
]
DEFAULT_DB = "cxlab.duckdb"


def bad_input() -> tuple[type[BaseException], ...]:
    """The errors that mean bad input (exit 2), not a failed analysis; imported when an error happens."""
    from cxlab.config import ConfigError
    from cxlab.store import IngestError, SourceError

    return (
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
    except OverflowError as e:  # a number given (a horizon, a window) too large to compute with
        fail(f"a value is out of range: {e}", 2)
    except Exception as e:
        if isinstance(e, bad_input()):
            fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e), 2)
        fail(f"{type(e).__name__}: {e}", 1)  # an analysis failed: say what, no traceback


def emit_json(doc: Any) -> None:
    """Print ``doc`` as one strict JSON document (NaN and infinity as null) on stdout."""
    from cxlab.jsonable import dumps

    cap = _capture.get()
    if cap is not None:
        cap.json = dumps(doc)
        return
    sys.stdout.write(dumps(doc) + "\n")


# --- progress -------------------------------------------------------------------------------------------

PROGRESS_ENV = "CXLAB_PROGRESS"
"""``CXLAB_PROGRESS=always`` draws progress bars even when stderr is not a terminal; ``never`` hides them."""


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        """Units finished per second (per minute when slow)."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            if speed is None:
                return Text("", style="progress.data.speed")
            shown = f"{number(speed, 3)}/s" if speed >= 1 else f"{number(60 * speed, 3)}/min"
            return Text(shown, style="progress.data.speed")

    return Rate()


class Bar(Protocol):
    """A progress callback: a :data:`cxlab.progress.Progress` ``(what, done, total)``, which also takes an
    engine's ``(phase, percent)`` (ingest, embedding)."""

    def __call__(self, what: str, done: float, total: float | None = None, /) -> None: ...


@contextmanager
def progress(enabled: bool = True, *, out: Console | None = None) -> Iterator[Bar | None]:
    """A progress callback ``(what, done, total)`` (:class:`Bar`) drawn as bars on stderr: description, bar, ``done/total``,
    rate, elapsed and remaining time; transient (gone when the work is done). None (nothing drawn) when
    ``enabled`` is false (``--json``), when stderr is no terminal (unless ``CXLAB_PROGRESS=always``) or with
    ``CXLAB_PROGRESS=never``. A call with ``total`` left out reads ``done`` as a percentage."""
    shell = out or err
    mode = os.environ.get(PROGRESS_ENV, "").lower()
    if not enabled or mode == "never" or not (shell.is_terminal or mode == "always"):
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bars

    with Bars(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _rate_column(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=shell,
        transient=True,
    ) as bars:
        tasks: dict[str, Any] = {}

        def update(what: str, done: float, total: float | None = None) -> None:
            if total is None:  # an engine's percentage (ingest, embedding): out of 100
                total = 100
            if what not in tasks:
                tasks[what] = bars.add_task(escape(what), total=total)
            bars.update(tasks[what], completed=done, total=total)

        yield update


# --- tables ---------------------------------------------------------------------------------------------


class FitTable(Table):
    """A table that fits the terminal: text cells wrap (never cut with "…"), ids are never wrapped or cut,
    numbers align right. When even that is too wide, :func:`show_table` keeps the first ``keep`` columns,
    the ids and the columns marked essential, drops the rest from the right and says how to see them."""

    def __init__(self, title: str = "", keep: int = 1) -> None:
        super().__init__(title=escape(title) if title else None)
        self.keep = keep
        self.essential: list[Column] = []

    def text(self, header: str, *, essential: bool = False) -> None:
        """A text column: wraps at word boundaries, folds a word longer than the column."""
        self._add(header, essential, justify="left", overflow="fold")

    def number(self, header: str, *, essential: bool = False) -> None:
        """A right-aligned column for numbers, amounts, percentages, intervals: a value is never split."""
        self._add(header, essential, justify="right", no_wrap=True)

    def ident(self, header: str) -> None:
        """An id (customer, product, experiment): shown whole, never wrapped or cut; always kept."""
        self._add(header, True, justify="left", no_wrap=True, overflow="ignore")

    def _add(self, header: str, essential: bool, **style: Any) -> None:
        from rich.text import Text

        self.add_column(Text(header, no_wrap=False, overflow="fold"), **style)  # a long header may wrap
        if essential or len(self.columns) <= self.keep:
            self.essential.append(self.columns[-1])


def _ranges(t: Table, out: Console) -> list[Measurement]:
    """Each column's narrowest width (its longest word; a whole value in a no-wrap column, whose header may
    still wrap) and natural width, padding included."""
    from rich.measure import Measurement
    from rich.text import Text

    wide_open = out.options.update_width(100_000)
    ranges = []
    for i, c in enumerate(t.columns):
        r = t._measure_column(out, wide_open, c)  # rich has no public API for it
        if c.no_wrap:
            values = max((Text.from_markup(str(v)).cell_len for v in c._cells), default=0)
            header = max((len(w) for w in str(c.header).split()), default=0)
            r = Measurement(max(values, header) + t._get_padding_width(i), r.maximum)
        ranges.append(r)
    return ranges


def _fit(t: FitTable, out: Console) -> list[str]:
    """Drop optional columns from the right until every kept column gets its longest word, then share the
    room left by what each column wants beyond that (rich alone would squeeze the widest columns first,
    cutting words and names in half). The headers of the dropped columns, in order."""
    dropped: list[str] = []
    while True:
        for i, c in enumerate(t.columns):
            c._index = i
        room = out.width - t._extra_width
        ranges = _ranges(t, out)
        optional = [c for c in t.columns if not any(c is e for e in t.essential)]
        if sum(r.minimum for r in ranges) <= room or not optional:
            break
        t.columns.remove(optional[-1])
        dropped.insert(0, str(optional[-1].header))
    if sum(r.maximum for r in ranges) > room >= sum(r.minimum for r in ranges):
        from rich._ratio import ratio_distribute

        wants = [r.maximum - r.minimum for r in ranges]
        extra = ratio_distribute(room - sum(r.minimum for r in ranges), wants) if any(wants) else wants
        for i, (c, r, more) in enumerate(zip(t.columns, ranges, extra, strict=True)):
            c.width = max(1, r.minimum + more - t._get_padding_width(i))
    return dropped


def show_table(t: FitTable, wide: bool = False, out: Console | None = None) -> None:
    """Print ``t`` fitted to the console (see :class:`FitTable`); ``wide`` prints every column at full width
    (lines may then be longer than the terminal)."""
    shell = out or console
    if wide:
        natural = sum(r.maximum for r in _ranges(t, shell)) + t._extra_width
        width = shell.width
        shell.width = max(width, natural)  # print() never renders wider than the console
        try:
            shell.print(t, crop=False)
        finally:
            shell.width = width
        return
    dropped = _fit(t, shell)
    shell.print(t)
    if dropped:
        shell.print(
            f"{len(dropped)} more column{'s' if len(dropped) > 1 else ''} ({', '.join(dropped)}): use --wide",
            style="dim",
            markup=False,
        )


Format = Callable[[Any], str]

RATE_WORDS = frozenset(
    {"rate", "share", "conversion", "probability", "retention", "alive", "precision", "recall", "coverage"}
)
"""A column whose name has one of these words holds a share (0–1): shown as a percentage."""
CHANGE_WORDS = frozenset({"change", "diff", "difference", "delta"})
"""With a share's word (``p_alive_change``): a difference of two shares, shown in percentage points."""
MONEY_WORDS = frozenset({"revenue", "value", "aov", "clv", "cost", "cpa", "spend", "amount"})
"""A column whose name has one of these words holds money: shown with the currency when it is known."""
ID_WORDS = frozenset({"id", "customer", "product", "experiment", "order", "sku"})
"""A text column named with one of these words (``customer_id``, ``product``) holds ids: never wrapped."""


def _words(name: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", name.lower()))


def column_format(name: str, values: pd.Series, currency: str | None = None) -> Format:
    """How a data frame column reads: shares as percentages, money with its currency, months as months,
    dates as dates, counts with separators, measurements to 4 significant digits (see :mod:`cxlab.display`)."""
    import pandas as pd

    words = _words(name)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values.dropna()
        monthly = len(stamps) > 0 and bool((stamps.dt.day == 1).all()) and bool(words & {"month", "cohort"})

        return month if monthly else cell
    if numeric and words & RATE_WORDS:
        return points if words & CHANGE_WORDS else pct
    if numeric and words in ({"p"}, {"p", "value"}):
        return p_value
    if numeric and currency and words & MONEY_WORDS:
        return lambda v: money(v, currency)
    return cell


def _bound_of_a_share(name: str, values: pd.Series) -> bool:
    """An interval bound (``ci_low``, ``ci_high_first``) between 0 and 1 beside a share: a share too."""
    inside = values.dropna()
    return bool(_words(name) & {"ci", "low", "high"}) and bool(((inside >= 0) & (inside <= 1)).all())


def _is_id(name: str, values: pd.Series) -> bool:
    return values.dtype == object and bool(_words(name) & ID_WORDS)


def show_frame(
    df: pd.DataFrame,
    title: str,
    summary: str,
    limit: int = 60,
    *,
    wide: bool = False,
    formats: Mapping[str, Format] | None = None,
    currency: str | None = None,
    essential: Collection[str] = (),
    keep: int = 1,
    method: str = "",
) -> None:
    """Print a data frame as a fitted table (:class:`FitTable`, every cell escaped), then its summary in plain
    words and, dimmed, how it was measured (``method``: the test, interval and n).

    Each column reads by its kind (:func:`column_format`), unless ``formats`` names its format; ``essential``
    columns stay when the table has to drop some to fit, as do the first ``keep`` and the id columns."""
    import pandas as pd

    t = FitTable(title, keep=keep)
    shown = [(formats or {}).get(str(c)) or column_format(str(c), df[c], currency) for c in df.columns]
    has_rates = pct in shown
    for i, c in enumerate(df.columns):
        name, values = str(c), df[c]
        header = name.replace("_", " ")
        if _is_id(name, values):
            t.ident(header)
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            t.number(header, essential=name in essential)
            if has_rates and shown[i] is cell and _bound_of_a_share(name, values):
                shown[i] = pct
        else:
            t.text(header, essential=name in essential)
    for r in df.head(limit).itertuples(index=False):
        t.add_row(*[escape(f(v)) for f, v in zip(shown, r, strict=True)])
    show_table(t, wide)
    show_summary(summary, method)
    if len(df) > limit:
        console.print(f"(first {limit:,} of {len(df):,} rows)", style="dim")


def show_summary(summary: str, method: str = "") -> None:
    """The finding in plain words, then (dimmed) how it was measured; both escaped."""
    if summary:
        console.print(escape(summary), soft_wrap=False)
    if method:
        console.print(escape(f"How this was measured: {method}"), style="dim")


def write_figure(fig: Any, path: Path | None) -> None:
    """Write a Plotly figure (if any) to ``path`` (if given) as a standalone HTML file."""
    if path is not None and fig is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.write_html(str(path), include_plotlyjs=True, full_html=True)
