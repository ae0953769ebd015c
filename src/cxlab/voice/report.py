"""The voice-of-the-customer part of the HTML report: survey scores, sentiment per touchpoint and themes
with real quotes (the report escapes every cell). Sentiment and themes need ``cxlab voice analyze`` (the demo
runs it); without it the section says so."""

from __future__ import annotations

import pandas as pd

from cxlab.report.section import Section
from cxlab.store import Store
from cxlab.voice.emotion import touchpoint_sentiment
from cxlab.voice.scores import KINDS, score
from cxlab.voice.tables import has_table
from cxlab.voice.themes import find_themes


def _ci(lo: float, hi: float) -> str:
    return "–" if pd.isna(lo) else f"{lo:.1f} – {hi:.1f}"


def scores_section(store: Store) -> Section:
    con = store.ibis()
    rows = []
    for kind in KINDS:
        t = score(con, kind).table
        if len(t):
            r = t.iloc[0]
            what = (
                "NPS"
                if kind == "nps"
                else f"{kind.upper()} (% answering {'4–5' if kind == 'csat' else '5–7'})"
            )
            rows.append(
                (
                    what,
                    f"{r['score']:.1f}",
                    _ci(r["ci_low"], r["ci_high"]),
                    f"{r['mean_score']:.2f}",
                    f"{int(r['n']):,}",
                )
            )
    table = pd.DataFrame(rows, columns=["score", "value", "95% CI", "mean answer", "answers"])
    trend = score(con, "nps", period="month", config=store.config)
    return Section(
        "voice-scores", "Survey scores: NPS, CSAT, CES", trend.summary().split(";")[0] + "; " + "; ".join(
            f"{r[0]} {r[1]} (95% CI {r[2]}, n={r[4]})" for r in rows
        ) + ".", [trend.figure()], table,
    )  # fmt: skip


def sentiment_section(store: Store) -> Section:
    res = touchpoint_sentiment(store.ibis())
    if res is None:
        return Section(
            "voice-sentiment", "Sentiment per touchpoint", "Not analysed: run `cxlab voice analyze`."
        )
    t = res.table.sort_values("negative_share", ascending=False)
    shown = pd.DataFrame(
        {
            "touchpoint": t["touchpoint"],
            "texts": t["texts"].map("{:,}".format),
            "% negative": (100 * t["negative_share"]).map("{:.1f}".format),
            "95% CI": [
                f"{100 * lo:.1f} – {100 * hi:.1f}" for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)
            ],
            "net sentiment (−1…+1)": t["net_sentiment"].map("{:+.2f}".format),
        }
    )
    return Section("voice-sentiment", "Sentiment per touchpoint", res.summary(), [res.figure()], shown)


def themes_section(store: Store) -> Section:
    if not has_table(store.con, "voice_texts"):
        return Section("voice-themes", "Feedback themes", "Not analysed: run `cxlab voice analyze`.")
    res = find_themes(store)
    t = res.table
    shown = pd.DataFrame(
        {
            "theme": t["label"],
            "sentiment": t["sentiment"],
            "texts": t["size"].map("{:,}".format),
            "topic → touchpoint": [f"{a} → {b}" for a, b in zip(t["topic"], t["touchpoint"], strict=True)],
            "emerging": t["emerging"].map({True: "yes", False: ""}),
            "keywords": [" | ".join(f"{k}: {', '.join(v)}" for k, v in kw.items()) for kw in t["keywords"]],
            "quotes": [" ¶ ".join(q) for q in t["quotes"]],
        }
    )
    return Section("voice-themes", "Feedback themes", res.summary(), [res.figure()], shown)


def section(store: Store) -> list[Section]:
    return [scores_section(store), sentiment_section(store), themes_section(store)]
