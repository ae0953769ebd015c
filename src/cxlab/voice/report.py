"""The report's voice-of-the-customer sections, one analysis each (see :data:`SECTIONS`): survey scores,
sentiment per touchpoint and themes with real quotes. Cells hold plain text (the report escapes them) and
figure labels built from customers' words are HTML-escaped. Sentiment and themes need ``cxlab voice analyze``
(the demo runs it); without it they say so."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cxlab.display import count, interval, number, pct
from cxlab.errors import MissingData, require_rows
from cxlab.report.section import Section
from cxlab.store import Store
from cxlab.voice.emotion import touchpoint_sentiment
from cxlab.voice.scores import KINDS, score
from cxlab.voice.tables import has_table
from cxlab.voice.themes import Themes, find_themes

NOT_ANALYSED = "needs the feedback texts analysed: run `cxlab voice analyze`"


def scores_section(store: Store) -> Section:
    """NPS, CSAT and CES with 95% intervals (those the store has answers for) and the NPS trend."""
    con = store.ibis()
    require_rows(con, "feedback", "Survey scores", ["score"])
    rows = []
    for kind in KINDS:
        t = score(con, kind).table
        if len(t):
            r = t.iloc[0]
            good = "4–5" if kind == "csat" else "5–7"
            what = "NPS" if kind == "nps" else f"{kind.upper()} (% answering {good})"
            rows.append(
                (
                    what,
                    number(r["score"], 3),
                    interval(r["ci_low"], r["ci_high"], lambda x: number(x, 3)),
                    number(r["mean_score"], 3),
                    count(r["n"]),
                )
            )
    if not rows:
        raise MissingData("Survey scores need NPS, CSAT or CES answers: the feedback holds none")
    table = pd.DataFrame(rows, columns=["score", "value", "95% CI", "mean answer", "answers"])
    found = "; ".join(f"{r[0]} {r[1]} (95% CI {r[2]}, n={r[4]})" for r in rows)
    trend = score(con, "nps", period="month", config=store.config)
    figures = [trend.figure()] if len(trend.table) else []
    head = trend.summary().split(";")[0] + "; " if len(trend.table) else ""
    return Section("voice-scores", "Survey scores: NPS, CSAT, CES", f"{head}{found}.", figures, table)  # fmt: skip


def sentiment_section(store: Store) -> Section:
    """Share of negative feedback per touchpoint (Wilson intervals) and net sentiment."""
    if not has_table(store.con, "voice_texts"):
        raise MissingData(f"Sentiment per touchpoint {NOT_ANALYSED}")
    res = touchpoint_sentiment(store.ibis())
    if res is None or res.table.empty:
        raise MissingData("Sentiment per touchpoint needs feedback texts with a touchpoint: none analysed")
    t = res.table.sort_values("negative_share", ascending=False)
    shown = pd.DataFrame(
        {
            "touchpoint": t["touchpoint"],
            "texts": t["texts"].map(count),
            "% negative": t["negative_share"].map(pct),
            "95% CI": [f"{pct(lo)} – {pct(hi)}" for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
            "net sentiment (−1…+1)": t["net_sentiment"].map(lambda x: f"{x:+.2f}"),
        }
    )
    return Section("voice-sentiment", "Sentiment per touchpoint", res.summary(), [res.figure()], shown)


def shop_themes(store: Store) -> Themes:
    """The store's feedback themes, found once per open store (the report section and "what to do next" share
    them); raises :class:`MissingData` before ``cxlab voice analyze`` has run."""
    if not has_table(store.con, "voice_texts"):
        raise MissingData(f"Feedback themes {NOT_ANALYSED}")
    return store.memo("themes", lambda: find_themes(store))


def themes_section(store: Store) -> Section:
    """Feedback themes per sentiment with keywords, real quotes, topic and emerging flags."""
    res = shop_themes(store)
    t = res.table
    shown = pd.DataFrame(
        {
            "theme": t["label"],
            "sentiment": t["sentiment"],
            "texts": t["size"].map(count),
            "topic → touchpoint": [f"{a} → {b}" for a, b in zip(t["topic"], t["touchpoint"], strict=True)],
            "emerging": t["emerging"].map({True: "yes", False: ""}),
            "keywords": [" | ".join(f"{k or '?'}: {', '.join(v)}" for k, v in kw.items()) for kw in t["keywords"]],
            "quotes": [" ¶ ".join(q) for q in t["quotes"]],
        }
    )  # fmt: skip
    return Section("voice-themes", "Feedback themes", res.summary(), [res.figure()], shown)


SECTIONS: list[Callable[[Store], Section]] = [scores_section, sentiment_section, themes_section]
