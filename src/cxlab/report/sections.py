"""The report's sections: every area's ``SECTIONS`` (each runs one analysis), run one by one.

A section that can't run takes its place as a short "not run: why" note, the rest still runs, and the report
ends with the list of what could not run and why: missing data (:class:`cxlab.errors.MissingData`, the store
lacks what the analysis needs) apart from failures (any other error).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

import pandas as pd

import cxlab.advise.report
import cxlab.assist.report
import cxlab.automate.report
import cxlab.channels.report
import cxlab.customers.report
import cxlab.experiments.report
import cxlab.journey.report
import cxlab.personalize.report
import cxlab.report.kpis
import cxlab.voice.report
from cxlab.errors import MissingData
from cxlab.progress import Progress, counted
from cxlab.report.kpis import overview
from cxlab.report.section import NOT_RUN, Section
from cxlab.store import Store
from cxlab.voice.analysis import ensure_analysed
from cxlab.voice.tables import per_process

Make = Callable[[Store], Section]
AREAS: tuple[ModuleType, ...] = (
    cxlab.advise.report,
    cxlab.report.kpis,
    cxlab.channels.report,
    cxlab.journey.report,
    cxlab.customers.report,
    cxlab.experiments.report,
    cxlab.voice.report,
    cxlab.assist.report,
    cxlab.personalize.report,
    cxlab.automate.report,
)
"""The report's areas in the order they are shown, each with its ``SECTIONS``: what to do next, the key figures,
then the detail."""
NOT_RUN_ID = "not-run"
__all__ = ["AREAS", "NOT_RUN", "NOT_RUN_ID", "Built", "NotRun", "build_sections", "overview", "run_sections"]


def registered() -> list[Make]:
    """Every section of the report, in order: each area's ``SECTIONS`` in :data:`AREAS` order ("What could not
    run" is added last by :func:`run_sections`)."""
    return [make for area in AREAS for make in area.SECTIONS]


@dataclass(frozen=True)
class NotRun:
    """A section that could not run: its title, why, and whether the store lacked data (vs a failure)."""

    id: str
    title: str
    reason: str
    missing_data: bool


@dataclass(frozen=True)
class Built:
    """The sections to render (each "not run" one in its place, the closing list last) and what didn't run."""

    sections: list[Section]
    not_run: list[NotRun] = field(default_factory=list)

    @property
    def failed(self) -> list[NotRun]:
        """Sections that failed for another reason than missing data."""
        return [n for n in self.not_run if not n.missing_data]


def _name(make: Make) -> tuple[str, str]:
    """Id and title of a section callable: ``cxlab.journey.report.retention_section`` → ``journey-retention``
    and the title it was given with :func:`~cxlab.report.section.titled` (else ``Journey retention``); an
    area's single ``section`` → the area's name."""
    module = make.__module__.split(".")
    area = module[1] if len(module) == 3 and module[0] == "cxlab" and module[2] == "report" else ""
    stem = make.__name__.removesuffix("_section").replace("_", "-")
    ident = area if stem == "section" else f"{area}-{stem}" if area and not stem.startswith(area) else stem
    return ident, getattr(make, "title", None) or ident.replace("-", " ").capitalize()


def run_sections(store: Store, makers: list[Make], progress: Progress | None = None) -> Built:
    """Run each of ``makers`` on its own; one that raises becomes a "not run" note in its place. Reports
    ``("report sections", done, total)`` to ``progress``."""
    sections: list[Section] = []
    not_run: list[NotRun] = []
    for make in counted(makers, "report sections", progress):
        try:
            made = make(store)
        except Exception as e:  # reported in place and listed at the end, never swallowed
            ident, title = _name(make)
            missing = isinstance(e, MissingData)
            reason = str(e) if missing else f"{type(e).__name__}: {e}"
            not_run.append(NotRun(ident, title, reason, missing))
            kind = "missing data" if missing else "failed"
            sections.append(Section(ident, title, f"{NOT_RUN} ({kind}): {reason}"))
            continue
        sections.append(made)
    if not_run:
        table = pd.DataFrame(
            {
                "section": [n.title for n in not_run],
                "why": ["missing data" if n.missing_data else "failed" for n in not_run],
                "details": [n.reason for n in not_run],
            }
        )
        failed = sum(not n.missing_data for n in not_run)
        sections.append(
            Section(
                NOT_RUN_ID,
                "What could not run",
                f"{len(not_run)} of {len(makers)} sections could not run: {len(not_run) - failed} for lack "
                f"of data, {failed} failed.",
                table=table,
            )
        )
    return Built(sections, not_run)


def build_sections(store: Store, progress: Progress | None = None) -> Built:
    """Run every section of the report on ``store`` (see :func:`run_sections`).

    On a store whose voice tables last one process (Spark, :mod:`cxlab.voice.tables`) the feedback texts are
    read first, so every section that joins them (the advice, the journey map's mood and the SWOT, the scores'
    comments, sentiment, themes) sees them whichever runs first, as on a DuckDB store after ``cxlab voice
    analyze``. Should reading them fail, the sections that need them fail in their place with the reason (they
    ask again), and the rest still runs."""
    if per_process(store):
        with contextlib.suppress(Exception):
            ensure_analysed(store, progress)
    return run_sections(store, registered(), progress)
