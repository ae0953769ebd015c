"""Themes across languages: the same complaint in Dutch, Danish and English lands in one theme (hand-written
texts in tests/voice/data/themes_multilingual.csv), praise and complaints never merge, emerging themes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from voice_helpers import feedback_frame, load

from cxlab.store import Store
from cxlab.voice.analysis import analyze_feedback
from cxlab.voice.embeddings import get_embedder
from cxlab.voice.text import clean_text
from cxlab.voice.themes import centre_by_language, emerging, find_themes, keywords

DATA = Path(__file__).parent / "data" / "themes_multilingual.csv"
COMPLAINTS = ["damaged_parcel", "late_delivery", "refund_slow", "rude_service", "wrong_size"]
TOPIC = {  # the default taxonomy's topic each hand-written issue belongs to
    "damaged_parcel": "packaging",
    "late_delivery": "delivery",
    "refund_slow": "returns",
    "rude_service": "customer_service",
    "wrong_size": "product_quality",
    "helpful_service": "customer_service",
}


@pytest.fixture(scope="module")
def texts() -> pd.DataFrame:
    return pd.read_csv(DATA)


def test_language_centring_groups_complaints_by_issue(texts: pd.DataFrame) -> None:
    neg = texts[texts["theme"].isin(COMPLAINTS)].reset_index(drop=True)
    X = get_embedder().embed([clean_text(t) for t in neg["text"]])
    raw = KMeans(5, n_init=10, random_state=0).fit_predict(X)
    centred = KMeans(5, n_init=10, random_state=0).fit_predict(
        centre_by_language(X, neg["language"].tolist())
    )
    ari_raw, ari = adjusted_rand_score(neg["theme"], raw), adjusted_rand_score(neg["theme"], centred)
    assert ari > ari_raw and ari >= 0.75, (ari_raw, ari)
    for theme, g in neg.assign(cluster=centred).groupby("theme"):
        modal = g["cluster"].mode().iloc[0]
        per_lang = g[g["cluster"] == modal].groupby("language").size()
        assert set(per_lang.index) == {"nl", "da", "en"}, theme
        assert per_lang.min() >= 3, (theme, per_lang.to_dict())


def test_themes_in_a_store(store: Store, texts: pd.DataFrame) -> None:
    f = feedback_frame(
        "ticket", [np.nan] * len(texts), texts=texts["text"].tolist(), languages=texts["language"].tolist(),
        touchpoints=[None] * len(texts), days=list(np.arange(len(texts)) % 28),
    )  # fmt: skip
    load(store, f)
    analyze_feedback(store)
    res = find_themes(store, k_range=(3, 8), min_texts=10)
    a = res.assignments.merge(f[["feedback_id"]].assign(truth=texts["theme"], language=texts["language"]))
    sentiment = res.table.set_index("theme")["sentiment"]
    a["sentiment"] = a["theme"].map(sentiment)
    # praise and complaints about the service never share a theme
    rude = set(a.loc[a["truth"] == "rude_service", "theme"].mode())
    helpful = set(a.loc[a["truth"] == "helpful_service", "theme"].mode())
    assert rude.isdisjoint(helpful)
    topic = res.table.set_index("theme")["topic"]
    for issue in COMPLAINTS:
        g = a[a["truth"] == issue]
        modal = g["theme"].mode().iloc[0]
        assert set(g.loc[g["theme"] == modal, "language"]) == {"nl", "da", "en"}, issue
    mix = (
        a[a["theme"] >= 0]
        .groupby("theme")["truth"]
        .agg(lambda x: (x.mode().iloc[0], x.eq(x.mode().iloc[0]).mean()))
    )
    pure = {th: issue for th, (issue, share) in mix.items() if share >= 0.8 and (a["theme"] == th).sum() >= 5}
    assert len(pure) >= 3, mix
    for th, issue in pure.items():  # a theme made of one hand-written issue maps to that issue's topic
        assert topic[th] == TOPIC[issue], (issue, topic[th])
    t = res.table
    unclustered = int((res.assignments["theme"] == -1).sum())  # a class too small to cluster (neutral here)
    assert t["size"].sum() + unclustered == res.n_texts == len(texts) and unclustered <= 10
    for row in t.itertuples():
        assert 1 <= len(row.quotes) <= 3 and all(q in set(texts["text"]) for q in row.quotes)
        assert row.label and row.topic
    d = res.to_dict()
    assert d["n_texts"] == len(texts) and len(d["themes"]) == len(t)


def test_keywords_are_per_language_and_specific() -> None:
    docs = [
        "late parcel late delivery",
        "late again parcel",
        "rude staff rude",
        "staff was rude",
        "te laat pakket",
    ]
    theme = np.array([0, 0, 1, 1, 0])
    kw = keywords(docs, theme, ["en", "en", "en", "en", "nl"], top=2)
    assert kw[0]["en"][0] == "late" and kw[1]["en"][0] == "rude"
    assert set(kw[0]["nl"]) <= {"laat", "pakket"}  # "te" is a Dutch stop word


def test_emerging_theme_is_flagged_only_when_it_really_grows() -> None:
    weeks = pd.date_range("2025-01-06", periods=5, freq="W-MON")
    counts = pd.DataFrame({"late": [10, 12, 9, 11, 45], "rude": [10, 9, 11, 10, 11]}, index=weeks)
    totals = pd.Series([200, 210, 190, 205, 200], index=weeks)
    out = emerging(counts, totals).set_index("theme")
    assert bool(out.loc["late", "emerging"]) and not bool(out.loc["rude", "emerging"])
    assert out.loc["late", "growth"] > 2
