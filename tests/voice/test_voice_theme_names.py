"""Themes a shop owner can read: English names even for Dutch and Danish texts, no filler words, one short
real quote, and a sentiment that agrees with most of the theme's texts (hand-written texts in
tests/voice/data/themes_multilingual.csv, written without looking at cxlab's theme names)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from voice_helpers import feedback_frame, load

from cxlab.errors import MissingData
from cxlab.store import Store
from cxlab.voice.analysis import analyze_feedback
from cxlab.voice.report import scores_section, sentiment_section, themes_section
from cxlab.voice.themes import (
    QUOTE_CHARS,
    Themes,
    filler_words,
    find_themes,
    keywords,
    short_quote,
    text_classes,
    theme_names,
)

DATA = Path(__file__).parent / "data" / "themes_multilingual.csv"
EVERY_FILLER = frozenset().union(*filler_words().values())
TOPIC = {  # the default taxonomy's topic each hand-written issue belongs to
    "damaged_parcel": "packaging",
    "late_delivery": "delivery",
    "refund_slow": "returns",
    "rude_service": "customer_service",
    "wrong_size": "product_quality",
    "helpful_service": "customer_service",
}
SHIPPED = {n for by_class in theme_names().values() for names in by_class.values() for n in names}


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.lower())


@pytest.fixture(scope="module")
def texts() -> pd.DataFrame:
    """The hand-written Dutch and Danish texts only: no English text to borrow names from."""
    t = pd.read_csv(DATA)
    return t[t["language"].isin(["nl", "da"])].reset_index(drop=True)


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory, texts: pd.DataFrame) -> Iterator[tuple[Store, Themes]]:
    n = len(texts)
    stars = np.where(
        texts["theme"] == "helpful_service", 5.0, 1.0
    )  # each review's stars agree with its words
    f = feedback_frame(
        "review", list(stars), texts=texts["text"].tolist(), languages=texts["language"].tolist(),
        touchpoints=["delivery"] * n, days=list(np.arange(n) % 28),
    )  # fmt: skip
    with Store(tmp_path_factory.mktemp("names") / "cxlab.duckdb") as store:
        load(store, f)
        analyze_feedback(store)
        yield store, find_themes(store, k_range=(3, 8), min_texts=10)


def test_shipped_names_hold_no_filler_word_of_any_language() -> None:
    assert len(SHIPPED) >= 40
    for name in SHIPPED:
        assert not set(_words(name)) & EVERY_FILLER, name
    assert {"erg", "echt", "heel", "helemaal", "meget", "rigtig", "sehr", "wirklich", "très", "vraiment"} <= (
        EVERY_FILLER
    )


def test_dutch_and_danish_texts_get_english_names_without_fillers(found: tuple[Store, Themes]) -> None:
    _, res = found
    t = res.table
    assert len(t) >= 3
    for row in t.to_dict(orient="records"):
        assert row["label"] in SHIPPED, row[
            "label"
        ]  # English, from cxlab's names, not a Dutch or Danish keyword
        assert not set(_words(row["label"])) & EVERY_FILLER
        for lang, words in row["keywords"].items():
            assert not set(words) & filler_words().get(lang, frozenset()), (lang, words)


def test_themes_are_named_after_what_most_of_their_texts_say(
    found: tuple[Store, Themes], texts: pd.DataFrame
) -> None:
    _, res = found
    truth = res.assignments.assign(truth=texts["theme"].to_numpy())
    checked = 0
    for row in res.table.to_dict(orient="records"):
        issues = truth.loc[truth["theme"] == row["theme"], "truth"].value_counts()
        if issues.sum() >= 5 and issues.iloc[0] > issues.sum() / 2:  # a theme mostly about one written issue
            assert row["topic"] == TOPIC[str(issues.index[0])], (row["label"], issues.to_dict())
            checked += 1
    assert checked >= 4


def test_each_theme_quotes_one_short_text_of_its_own(
    found: tuple[Store, Themes], texts: pd.DataFrame
) -> None:
    _, res = found
    own = res.assignments.assign(text=texts["text"].to_numpy())
    for row in res.table.to_dict(orient="records"):
        mine = set(own.loc[own["theme"] == row["theme"], "text"])
        assert row["quote"] in mine and len(row["quote"]) <= QUOTE_CHARS
        assert all(q in mine for q in row["quotes"])


def test_a_theme_has_the_sentiment_of_most_of_its_texts(
    found: tuple[Store, Themes], texts: pd.DataFrame
) -> None:
    # the model alone reads a few of these complaints as praise; the customers' stars settle it
    _, res = found
    truth = res.assignments.assign(
        truth=np.where(texts["theme"].to_numpy() == "helpful_service", "positive", "negative")
    )
    checked = 0
    for row in res.table.to_dict(orient="records"):
        mine = truth.loc[truth["theme"] == row["theme"], "truth"]
        if len(mine) >= 5:
            assert row["sentiment"] == mine.mode().iloc[0], (
                row["label"],
                row["sentiment"],
                mine.value_counts().to_dict(),
            )
            checked += 1
    assert checked >= 3


def test_the_customers_own_clear_score_sets_a_texts_sentiment() -> None:
    labels = ["negative", "negative", "positive", "neutral", "positive", "negative"]
    sources = ["ces", "review", "nps", "csat", "ticket", "nps"]
    scores = [7.0, 3.0, 2.0, 1.0, float("nan"), 8.0]
    got = text_classes(labels, sources, scores)
    # easy CES answer: praise; 3 stars and NPS 8 say nothing clear: the model's label; no score: the model's
    assert list(got) == ["positive", "negative", "negative", "negative", "positive", "negative"]


def test_short_quote_prefers_a_short_text_and_cuts_only_when_it_must() -> None:
    long = "word " * 60
    assert short_quote([long.strip(), "Short and clear."]) == "Short and clear."
    cut = short_quote([long.strip()])
    assert cut.endswith("…") and len(cut) <= QUOTE_CHARS and long.startswith(cut[:-1])


def test_filler_words_are_not_keywords() -> None:
    docs = ["echt heel erg laat pakket", "pakket echt laat", "heel erg onvriendelijk personeel"]
    kw = keywords(docs, np.array([0, 0, 1]), ["nl", "nl", "nl"], top=3)
    assert {"echt", "heel", "erg"}.isdisjoint(kw[0]["nl"] + kw[1]["nl"])
    assert kw[0]["nl"][0] in {"laat", "pakket"} and kw[1]["nl"][0] in {"onvriendelijk", "personeel"}


def test_sections_say_what_they_found_without_holes(found: tuple[Store, Themes]) -> None:
    store, _ = found
    with pytest.raises(MissingData, match=r"NPS, CSAT or CES|feedback with score"):
        scores_section(store)  # texts but no survey answers: a one-line reason, not an empty chart
    for make in (sentiment_section, themes_section):
        sec = make(store)
        assert sec.summary and sec.details and sec.table is not None and len(sec.table.columns) <= 6
        assert not re.search(r"[;,(]\s*[.;)]|\s\.|\.\.", sec.summary), sec.summary
        assert "Holm" not in sec.summary and "Wilson" not in sec.summary  # method goes to the details
