"""The report's assistant sections (see :data:`SECTIONS`): how the self-service assistant does as a touchpoint
(answered, handed over and why, thumbs, questions that came back within 48 hours) and the questions it could
not place, grouped into the topics its FAQ lacks.

Summaries say what was found in plain words; the method, intervals and n go to ``Section.details``. Cells hold
plain text (the report and the dashboard escape them) and figure labels are HTML-escaped, since intents and
questions come from the shop's FAQ and its customers."""

from __future__ import annotations

import html
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from cxlab.assist.report_data import (
    UNSURE,
    AssistReport,
    assist_report,
    gap_words,
    intent_words,
    most_handed_over,
    reason_words,
)
from cxlab.display import DASH, count, day, interval, pct
from cxlab.report.section import Section, duckdb_only, titled
from cxlab.store import Store
from cxlab.voice.settings import voice_settings

EXAMPLE_JOIN = " / "


def report_of(store: Store) -> AssistReport:
    """The store's :func:`assist_report` (all exchanges), computed once per open store; the gap questions are
    embedded with the voice analyses' embedder (``[voice] embedder``)."""

    def compute() -> AssistReport:
        spec = voice_settings(store.config).embedder
        return assist_report(store.ibis(), embedder=spec)

    duckdb_only(store, "the assistant's conversations are kept only in a DuckDB store")
    return store.memo("assist-report", compute)


def _share(n: int, share: float) -> str:
    return f"{pct(share, 0)} of {count(n)}" if n else DASH


def summary_of(r: AssistReport) -> str:
    """The section's summary, as a shop owner reads it."""
    parts = [f"The assistant answered {pct(r.answered_share, 0)} of {count(r.n_questions)} questions."]
    most = most_handed_over(r)
    unsure = int(r.handoffs.loc[r.handoffs["reason"] == UNSURE, "handed_over"].sum())
    if most:
        parts.append(f"It handed over most often about {most}.")
    if unsure:
        parts.append(f"It could not place {count(unsure)} question{'s' if unsure != 1 else ''}.")
    rep = r.total("repeats")
    if rep["followed"]:
        parts.append(
            f"{pct(rep['share'], 0)} of the questions it answered came back within {r.repeat_hours} h "
            "(asked again or contacted support)."
        )
    th = r.total("thumbs")
    if th["rated"]:
        parts.append(f"Customers found {pct(th['share'], 0)} of {count(th['rated'])} rated answers helpful.")
    if len(r.gaps):
        lacks = "which the FAQ lacks" if r.gaps_clustered else "which the FAQ may lack"
        parts.append(f"Customers ask about {gap_words(r)}, {lacks}.")
    return " ".join(parts)


def _reasons(r: AssistReport, intent: str) -> str:
    h = r.handoffs[r.handoffs["intent"] == intent]
    return ", ".join(f"{reason_words(str(x.reason))} {count(x.handed_over)}" for x in h.itertuples())


def intents_table(r: AssistReport) -> pd.DataFrame:
    """One row per intent, in words, as the report shows it."""
    t = r.intents
    th = {str(x["intent"]): x for x in r.thumbs.to_dict(orient="records")}
    rep = {str(x["intent"]): x for x in r.repeats.to_dict(orient="records")}

    def thumbs(intent: str) -> str:
        x = th.get(intent)
        return DASH if x is None else _share(int(x["rated"]), float(x["helpful_share"]))

    def back(intent: str) -> str:
        x = rep.get(intent)
        return DASH if x is None else _share(int(x["followed"]), float(x["unsolved_share"]))

    return pd.DataFrame(
        {
            "intent": [intent_words(str(i)) for i in t["intent"]],
            "questions": t["asked"].map(count),
            "answered": t["answered_share"].map(lambda x: pct(x, 0)),
            "95% range": [interval(lo, hi, lambda v: pct(v, 0)) for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
            "handed over": [
                f"{count(n)} ({_reasons(r, str(i))})" if n else "0" for i, n in zip(t["intent"], t["handed_over"], strict=True)
            ],
            "found helpful": [thumbs(str(i)) for i in t["intent"]],
            f"came back within {r.repeat_hours} h": [back(str(i)) for i in t["intent"]],
        }
    )  # fmt: skip


def details_of(r: AssistReport) -> str:
    """Method, intervals and n, per language too."""
    th, rep = r.total("thumbs"), r.total("repeats")
    by_lang = (
        r.languages.groupby("language")[["asked", "answered"]].sum().sort_values("asked", ascending=False)
    )
    langs = "; ".join(
        f"{lang}: {count(x.asked)} questions, {pct(x.answered / x.asked, 0)} answered" for lang, x in by_lang.iterrows()
    )  # fmt: skip
    since = f" from {day(r.since)}" if r.since is not None else ""
    thumbs = (
        f"Thumbs: {count(th['up'])} up of {count(th['rated'])} rated answers ({pct(th['share'])}, 95% interval "
        f"{interval(th['ci_low'], th['ci_high'])})."
        if th["rated"]
        else "No answer was rated yet."
    )
    back = (
        f"Came back within {r.repeat_hours} h: {count(rep['unsolved'])} of {count(rep['followed'])} answers "
        f"followed ({pct(rep['share'])}, 95% interval {interval(rep['ci_low'], rep['ci_high'])})"
        if rep["followed"]
        else f"No answer from a known person is {r.repeat_hours} h old yet"
    )
    return (
        f"{r.method} Exchanges{since}: {count(r.n_questions)}; answered {count(r.n_answered)} "
        f"({pct(r.answered_share)}, 95% interval {interval(r.answered_low, r.answered_high)}), handed over "
        f"{count(r.n_handed_over)}. By language: {langs}. {thumbs} {back}; the data ends {day(r.horizon)}."
    )


def figure(r: AssistReport) -> go.Figure:
    """Questions per intent, answered and handed over (most asked on top)."""
    t = r.intents.iloc[::-1]
    names = [html.escape(intent_words(str(i))) for i in t["intent"]]
    fig = go.Figure(
        [
            go.Bar(name="answered", y=names, x=t["answered"], orientation="h", marker_color="#2ca02c"),
            go.Bar(name="handed over", y=names, x=t["handed_over"], orientation="h", marker_color="#7f7f7f"),
        ]
    )
    fig.update_layout(
        barmode="stack",
        title="Questions the assistant answered and handed over, per intent",
        xaxis_title="questions",
        template="plotly_white",
        height=240 + 24 * len(t),
    )
    return fig


@titled("Self-service assistant")
def section(store: Store) -> Section:
    """How the assistant does: answered, handed over and why, thumbs, and questions that came back."""
    r = report_of(store)
    return Section(
        "assist",
        "Self-service assistant",
        summary_of(r),
        [figure(r)],
        intents_table(r),
        details=details_of(r),
    )


def gaps_table(r: AssistReport) -> pd.DataFrame:
    """One row per topic the FAQ lacks (or per question, when too few to group)."""
    g = r.gaps
    t = pd.DataFrame(
        {
            "customers ask about" if r.gaps_clustered else "question": g["topic"].astype(str),
            "questions" if r.gaps_clustered else "asked": g["size"].map(count),
            "languages": [", ".join(f"{k} {count(v)}" for k, v in d.items()) for d in g["languages"]],
        }
    )
    if r.gaps_clustered:
        t["for example"] = [EXAMPLE_JOIN.join(str(x) for x in ex) for ex in g["examples"]]
    return t


@titled("Questions the assistant could not place")
def gaps_section(store: Store) -> Section:
    """The questions handed over as unsure, grouped into the topics the FAQ lacks."""
    r = report_of(store)
    if not len(r.gaps):
        summary = "The assistant placed every question it was asked: none was handed over as unsure."
        return Section("assist-gaps", "Questions the assistant could not place", summary)
    n = r.n_gap_questions
    if r.gaps_clustered:
        summary = (
            f"The assistant could not place {count(n)} questions. They fall into {len(r.gaps)} topics the FAQ "
            f"lacks, the largest: {gap_words(r)}. Add answers for them to the FAQ and run `cxlab assist index`."
        )
        how = (
            f"{count(n)} questions handed over as unsure ({count(r.gaps['size'].count())} topics), grouped by "
            f"k-means on {r.embedder} embeddings with each language's mean removed, the number of topics "
            "chosen by silhouette, weighted by how often each question was asked; each topic is named by its "
            "most telling words (class-based TF-IDF) and shown with the questions nearest its centre."
        )
    else:
        summary = (
            f"The assistant could not place {count(n)} question{'s' if n != 1 else ''}: {gap_words(r)}. "
            "Too few to group into topics yet; if they recur, add answers for them to the FAQ and run "
            "`cxlab assist index`."
        )
        how = f"{count(n)} questions handed over as unsure, listed as they are (too few to group)."
    return Section(
        "assist-gaps", "Questions the assistant could not place", summary, table=gaps_table(r), details=how
    )


SECTIONS: tuple[Callable[[Store], Section], ...] = (section, gaps_section)
