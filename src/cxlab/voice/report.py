"""The report's voice-of-the-customer sections, one analysis each (see :data:`SECTIONS`): survey scores,
sentiment per touchpoint and themes with a real quote each. Summaries say what was found in plain words; the
method, ranges and n go to ``Section.details``. Cells hold plain text (the report escapes them) and figure
labels built from customers' words are HTML-escaped. Sentiment and themes need ``cxlab voice analyze`` (the
demo runs it); without it they say so. On Spark the texts are read when first needed
(:func:`~cxlab.voice.analysis.ensure_analysed`)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cxlab.display import DASH, count, pct
from cxlab.errors import MissingData, require_rows
from cxlab.report.section import Section, titled
from cxlab.store import Store
from cxlab.voice.analysis import ensure_analysed
from cxlab.voice.emotion import touchpoint_sentiment
from cxlab.voice.scores import KINDS, MIN_ANSWERS, score, score_format, score_range, score_sentence
from cxlab.voice.themes import Themes, find_themes

NOT_ANALYSED = "the feedback texts are not analysed yet; run `cxlab voice analyze`"
FEELING = {"negative": "complaint", "positive": "praise", "neutral": "mixed"}
_WHAT = {"nps": "NPS", "csat": "CSAT (% satisfied)", "ces": "CES (% found it easy)"}


@titled("Survey scores: NPS, CSAT, CES")
def scores_section(store: Store) -> Section:
    """NPS, CSAT and CES (those the store has answers for), each with its 95% range, and the NPS by month."""
    con = store.ibis()
    require_rows(con, "feedback", "Survey scores", ["score"])
    rows, sentences, methods = [], [], []
    for kind in KINDS:
        res = score(con, kind)
        if res.table.empty:
            continue
        r = res.table.iloc[0].to_dict()
        show = score_format(kind)
        rows.append((_WHAT[kind], show(r["score"]), score_range(r, show), count(r["n"])))
        sentences.append(score_sentence(kind, r))
        methods.append(f"{res.details} Mean answer {r['mean_score']:.2f}.")
    if not rows:
        raise MissingData("Survey scores need NPS, CSAT or CES answers: the feedback holds none")
    table = pd.DataFrame(rows, columns=["score", "value", "95% range", "answers"])
    trend = score(con, "nps", period="month", config=store.config)
    figures = [trend.figure()] if len(trend.table) > 1 else []
    summary = ". ".join(s[0].upper() + s[1:] for s in sentences) + "."
    details = (
        " ".join(methods)
        + (f" By month: {trend.summary()}" if figures else "")
        + (
            f" A range is the 95% interval: where the score of all customers likely lies. With fewer than "
            f"{MIN_ANSWERS} answers none is given."
        )
    )
    return Section("voice-scores", "Survey scores: NPS, CSAT, CES", summary, figures, table, details)


@titled("Sentiment per touchpoint")
def sentiment_section(store: Store) -> Section:
    """Share of negative feedback per touchpoint, with its 95% range."""
    if not ensure_analysed(store):
        raise MissingData(f"Sentiment per touchpoint: {NOT_ANALYSED}")
    res = touchpoint_sentiment(store.ibis())
    if res is None or res.table.empty:
        raise MissingData("Sentiment per touchpoint needs feedback texts with a touchpoint: none analysed")
    t = res.table.sort_values("negative_share", ascending=False)
    shown = pd.DataFrame(
        {
            "touchpoint": t["touchpoint"],
            "texts": t["texts"].map(count),
            "negative": t["negative_share"].map(lambda x: pct(x, 0)),
            "95% range": [f"{pct(lo, 0)} to {pct(hi, 0)}" for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
        }
    )  # fmt: skip
    worst, best = t.iloc[0], t.iloc[-1]
    summary = (
        f"Customers are most negative about {worst['touchpoint']}: {pct(worst['negative_share'], 0)} of "
        f"{count(worst['texts'])} texts about it are negative"
    )
    if len(t) > 1:
        summary += f"; least about {best['touchpoint']} ({pct(best['negative_share'], 0)})"
    details = (
        f"{res.summary()} Each text's sentiment is read by cxlab's multilingual model (`cxlab voice analyze`). "
        "95% range: Wilson interval of the negative share. Net sentiment (mean P(positive) − P(negative), −1 to "
        "+1) per touchpoint: "
        + ", ".join(f"{tp} {x:+.2f}" for tp, x in zip(t["touchpoint"], t["net_sentiment"], strict=True))
        + "."
    )
    return Section(
        "voice-sentiment", "Sentiment per touchpoint", summary + ".", [res.figure()], shown, details
    )


def shop_themes(store: Store) -> Themes:
    """The store's feedback themes, found once per open store (the report section and "what to do next" share
    them); raises :class:`MissingData` before ``cxlab voice analyze`` has run."""
    if not ensure_analysed(store):
        raise MissingData(f"Feedback themes: {NOT_ANALYSED}")
    return store.memo("themes", lambda: find_themes(store))


@titled("Feedback themes")
def themes_section(store: Store) -> Section:
    """What customers talk about: themes named in English, each with its size, place and one short quote."""
    res = shop_themes(store)
    t = res.table
    shown = pd.DataFrame(
        {
            "theme": t["label"],
            "feeling": t["sentiment"].map(FEELING),
            "texts": [f"{count(n)} ({pct(s, 0)})" for n, s in zip(t["size"], t["share"], strict=True)],
            "where": t["touchpoint"].fillna(DASH),
            "growing": t["emerging"].map({True: "yes", False: DASH}),
            "example": t["quote"],
        }
    )
    keywords = "; ".join(
        f"{lab}: " + ", ".join(w for words in kw.values() for w in words[:2])
        for lab, kw in zip(t["label"], t["keywords"], strict=True)
    )
    details = f"{res.details} Keywords per theme (two per language): {keywords}."
    return Section("voice-themes", "Feedback themes", res.summary(), [res.figure()], shown, details)


SECTIONS: list[Callable[[Store], Section]] = [scores_section, sentiment_section, themes_section]
