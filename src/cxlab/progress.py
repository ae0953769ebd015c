"""Progress from long analyses to the shells: a callback of ``(what, done, total)``.

Analyses report whole units of work (sections, feedback texts, comparisons, people clustered) and never know
how they are shown: the CLI draws a bar with the count, rate and ETA (:func:`cxlab.clitools.progress`), the
report and the server pass it through or ignore it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Progress = Callable[[str, int, int], None]
"""``progress(what, done, total)``: ``done`` of ``total`` units of ``what`` are finished."""

T = TypeVar("T")


def silent(what: str, done: int, total: int) -> None:
    """A progress callback that shows nothing (the default of every analysis)."""


def counted(
    items: Iterable[T], what: str, progress: Progress | None, total: int | None = None
) -> Iterator[T]:
    """Yield ``items``, reporting ``done``/``total`` to ``progress`` after each (``total`` defaults to
    ``len(items)``); with ``progress=None`` it is a plain loop."""
    seq = list(items) if total is None else items
    n = len(seq) if total is None else total  # type: ignore[arg-type]
    report = progress or silent
    report(what, 0, n)
    for i, item in enumerate(seq, start=1):
        yield item
        report(what, i, n)
