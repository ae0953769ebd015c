"""The dashboard's pages: each a group of the report's sections, some with parameters (funnel builder,
attribution model, one experiment). A section that can't run shows "not run: why" in its place.

The report's sections (``cxlab.<area>.report.SECTIONS``) are reused as they are; where a page needs
parameters it calls the analysis function directly and builds a :class:`~cxlab.report.section.Section`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import ibis
import pandas as pd

import cxlab.advise.report as advise_report
import cxlab.assist.report as assist_report
import cxlab.automate.report as flows_report
import cxlab.channels.report as channels_report
import cxlab.customers.report as customers_report
import cxlab.experiments.report as experiments_report
import cxlab.journey.report as journey_report
import cxlab.personalize.report as personalize_report
import cxlab.voice.report as voice_report
from cxlab.automate.flows import flow_split
from cxlab.channels.attribution import MODELS, attribute
from cxlab.display import count, day, interval, number, p_value, pct
from cxlab.errors import MissingData, require_rows
from cxlab.experiments.definitions import metrics_from_config
from cxlab.experiments.experiment import analyze_experiment, list_experiments
from cxlab.journey.funnels import Funnel, funnel
from cxlab.report.section import Section
from cxlab.report.sections import NOT_RUN, NOT_RUN_ID, overview, run_sections
from cxlab.store import Store

Params = dict[str, str]
T = TypeVar("T")


class Memo(Protocol):
    """Caches a part of a page (per store version and filters) that other queries of the page share."""

    def __call__(self, name: str, compute: Callable[[], T]) -> T: ...


BREAKDOWNS = ("channel", "country", "device", "variant", "segment")
DEFAULT_MODEL = "markov"


@dataclass(frozen=True)
class Page:
    """One page: its path, nav label, what it shows, and how to build its sections from a store."""

    slug: str
    title: str
    about: str
    build: Callable[[Store, Params, Memo], list[Section]]
    params: tuple[str, ...] = field(default_factory=tuple)
    """The query parameters (besides the global filters) the page reads; part of its cache key."""


def sections(*makers: Callable[[Store], Section]) -> Callable[[Store, Params, Memo], list[Section]]:
    """A page made of report sections, each run on its own (one that fails becomes a note)."""

    def build(store: Store, _: Params, __: Memo) -> list[Section]:
        return _run(store, *makers)

    return build


def _one(make: Callable[[], Section], ident: str, title: str) -> Section:
    """Run one parametrised section as :func:`run_sections` runs each: a failure becomes a note in place."""
    try:
        return make()
    except Exception as e:  # shown in place, like the report's "not run" notes
        missing = isinstance(e, MissingData)
        reason = str(e) if missing else f"{type(e).__name__}: {e}"
        return Section(ident, title, f"{NOT_RUN} ({'missing data' if missing else 'failed'}): {reason}")


def _run(store: Store, *makers: Callable[[Store], Section]) -> list[Section]:
    """Report sections in place, without the report's closing "what could not run" list."""
    return [s for s in run_sections(store, list(makers)).sections if s.id != NOT_RUN_ID]


# --- overview ---------------------------------------------------------------------------------------------


def build_overview(store: Store, params: Params, memo: Memo) -> list[Section]:
    """The home page: what to do next first, then the store's contents and the stage funnel."""
    return _run(store, *advise_report.SECTIONS, overview, journey_report.stages_section)


# --- funnel builder ---------------------------------------------------------------------------------------


def event_names(store: Store) -> list[str]:
    """The event names in the (filtered) store, most frequent first: the builder's step choices."""
    con = store.ibis()
    try:
        t = con.table("events")
    except Exception:
        return []
    df = t.group_by("event").aggregate(n=t.count()).order_by([ibis.desc("n"), "event"]).limit(200).execute()
    return [str(e) for e in df["event"] if e is not None]


def funnel_steps(params: Params, store: Store) -> list[str]:
    """The steps asked for (``steps=a,b,c``), else the standard purchase funnel's steps the store has."""
    asked = [s.strip() for s in params.get("steps", "").split(",") if s.strip()]
    if asked:
        return asked
    stored = set(event_names(store))
    return [s for s in journey_report.DEMO_FUNNEL if s in stored]


def build_funnel(store: Store, params: Params, memo: Memo) -> list[Section]:
    steps = funnel_steps(params, store)
    window = params.get("window") or "7d"
    by = params.get("by") or None
    made: list[Section] = []

    def make() -> Section:
        if len(steps) < 2:
            raise MissingData("A funnel needs at least two steps: pick them above")
        if by is not None and by not in BREAKDOWNS:
            raise ValueError(f"unknown breakdown {by!r} (expected one of {', '.join(BREAKDOWNS)})")
        f = funnel(store.ibis(), store.config, steps, window, by=by)
        ft = f.to_frame()
        table = pd.DataFrame(
            {
                "step": ft["step"],
                "people": ft["units"].map(count),
                "from previous": ft["conversion_from_previous"].map(pct),
                "95% CI": [interval(a, b) for a, b in zip(ft["ci_low_previous"], ft["ci_high_previous"], strict=True)],
                "from first": ft["conversion_from_first"].map(pct),
            }
        )  # fmt: skip
        if by is not None and f.breakdown is not None and len(f.breakdown):
            made.append(_breakdown_section(f, by))
        title = f"Funnel: {' → '.join(steps)} ({window} window)"
        return Section("funnel", title, f.summary(), [f.figure()], table)

    return [_one(make, "funnel", "Funnel"), *made]


def _breakdown_section(f: Funnel, by: str) -> Section:
    """Overall conversion per breakdown value, each tested against the rest."""
    b, correction = f.breakdown, f.correction
    assert b is not None
    table = pd.DataFrame(
        {
            by: b["value"].astype(str),
            "entered": b["entered"].map(count),
            "converted": b["converted"].map(count),
            "conversion": b["conversion"].map(pct),
            "95% CI": [interval(lo, hi) for lo, hi in zip(b["ci_low"], b["ci_high"], strict=True)],
            "vs rest": b["diff"].map(lambda x: f"{x * 100:+.1f} pt"),
            "p (adjusted)": b["p_adjusted"].map(p_value),
        }
    )
    summary = (
        f"Conversion from the first to the last step per {by}, each value against all others pooled: "
        f"two-proportion z-test, {correction}-corrected; n = {int(b['entered'].sum()):,} entering step 1."
    )
    return Section("funnel-by", f"Conversion by {by}", summary, [f.breakdown_figure()], table)


# --- channels ---------------------------------------------------------------------------------------------


def build_channels(store: Store, params: Params, memo: Memo) -> list[Section]:
    """Performance, the attribution under the picked model, and every model side by side; the journeys are
    built once and shared (per store version and filters) by every model the reader picks."""
    model = params.get("model") or DEFAULT_MODEL

    def journeys() -> Any:
        return memo("channel-journeys", lambda: channels_report.journeys(store, "Channel attribution"))

    def make() -> Section:
        if model not in MODELS:
            raise ValueError(f"unknown attribution model {model!r} (expected one of {', '.join(MODELS)})")
        a = attribute(journeys(), model)
        t = a.table
        table = pd.DataFrame(
            {
                "channel": t["channel"].astype(str),
                "conversions": t["conversions"].map(lambda x: number(x, 4)),
                "share": t["share"].map(pct),
            }
        )
        figures = [a.figure()]
        heat = a.heatmap() if model == "markov" else None
        if heat is not None:
            figures.append(heat)
        title = f"Channel attribution ({model.replace('_', ' ')})"
        return Section("channels-attribution", title, a.summary(), figures, table)

    def models() -> Section:
        return channels_report.models_section_of(journeys())

    return [
        *memo("channel-performance", lambda: _run(store, channels_report.performance_section)),
        _one(make, "channels-attribution", "Channel attribution"),
        memo("channel-models", lambda: _one(models, "channels-models", "Attribution by model")),
    ]


# --- experiments ------------------------------------------------------------------------------------------


def experiment_ids(store: Store) -> list[str]:
    con = store.ibis()
    try:
        require_rows(con, "exposures", "Experiments", ["experiment_id", "variant"])
    except MissingData:
        return []
    return [str(e) for e in list_experiments(con)["experiment_id"].unique()]


def build_experiments(store: Store, params: Params, memo: Memo) -> list[Section]:
    chosen = params.get("experiment") or None

    def listing() -> Section:
        con = store.ibis()
        require_rows(con, "exposures", "The experiment list", ["experiment_id", "variant"])
        df = list_experiments(con)
        table = pd.DataFrame(
            {
                "experiment": df["experiment_id"].astype(str),
                "arm": df["variant"].astype(str),
                "units": df["units"].map(count),
                "first exposure": df["first_exposure"].map(day),
                "last exposure": df["last_exposure"].map(day),
            }
        )
        n = df["experiment_id"].nunique()
        return Section(
            "experiment-list", "Experiments", f"{n} experiment(s) in the exposures table.", [], table
        )

    def one() -> Section:
        con = store.ibis()
        split = flow_split(store.config, store.project_dir, str(chosen))
        r = analyze_experiment(
            con, str(chosen), metrics_from_config(store.config), config=store.config, split=split
        )
        table = pd.DataFrame(experiments_report.result_rows(r))
        return Section(
            "experiment",
            f"Experiment {chosen}",
            f"Decision: {experiments_report.decision(r)}",
            [r.figure()],
            table,
            details=experiments_report.result_details(r),
        )

    if chosen:
        return [
            _one(one, "experiment", f"Experiment {chosen}"),
            _one(listing, "experiment-list", "Experiments"),
        ]
    return [
        _one(listing, "experiment-list", "Experiments"),
        *_run(store, experiments_report.experiments_section),
    ]


PAGES: tuple[Page, ...] = (
    Page(
        "overview",
        "Overview",
        "Revenue, conversion, NPS and active customers in the period against the previous period of the same "
        "length, the store's contents and the journey stage funnel.",
        build_overview,
    ),
    Page(
        "journey",
        "Journey map",
        "People at each stage and touchpoint, who moves on and how fast, with the emotional layer "
        "(sentiment of what customers said at each touchpoint).",
        sections(journey_report.map_section, voice_report.sentiment_section),
    ),
    Page(
        "funnel",
        "Funnel builder",
        "Pick the steps (event names, in order), the window to complete them and a breakdown; the address "
        "holds the query, so it can be shared.",
        build_funnel,
        ("steps", "window", "by"),
    ),
    Page("paths", "Paths", "The most common touchpoint paths.", sections(journey_report.paths_section)),
    Page(
        "retention",
        "Retention",
        "Cohort retention and repeat purchases.",
        sections(journey_report.retention_section),
    ),
    Page(
        "swot",
        "Strengths & weaknesses",
        "Touchpoints and channels against their peers, by the money at stake.",
        sections(journey_report.swot_section),
    ),
    Page(
        "channels",
        "Channels",
        "Channel performance and attribution of conversions to channels under the model you pick.",
        build_channels,
        ("model",),
    ),
    Page(
        "experiments",
        "Experiments",
        "Every experiment, and one experiment with its lift, intervals and decision.",
        build_experiments,
        ("experiment",),
    ),
    Page(
        "changes",
        "Change log",
        "Every change in the log with its measured effect.",
        sections(experiments_report.changes_section),
    ),
    Page(
        "voice",
        "Voice",
        "Survey scores over time, sentiment per touchpoint and feedback themes with quotes.",
        sections(*voice_report.SECTIONS),
    ),
    Page(
        "assistant",
        "Assistant",
        "How the self-service assistant does: questions answered and handed over (and why), thumbs, questions "
        "that came back within 48 h, and the questions it could not place.",
        sections(*assist_report.SECTIONS),
    ),
    Page(
        "customers",
        "Customers",
        "Segments (RFM), customer lifetime value, personas and churn risk.",
        sections(*customers_report.SECTIONS),
    ),
    Page(
        "recommendations",
        "Recommendations",
        "Which model predicts customers' next purchases best (precision, recall, nDCG, hit rate and coverage "
        "at 10 on a temporal split) and the products bought together most often.",
        sections(*personalize_report.SECTIONS),
    ),
    Page(
        "flows",
        "Flows",
        "Automated flows: who they reached, who was held out, and what each one earns, with its interval.",
        sections(*flows_report.SECTIONS),
    ),
)
BY_SLUG = {p.slug: p for p in PAGES}
