"""Sentiment on the hand-labelled review set (tests/voice/data, written independently of the anchors and the
demo generator): accuracy per language, the shipped head, the supervised head, the CLI contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner
from voice_helpers import STORY_KINDS, labelled_reviews, polar_accuracy

from cxlab.cli import app
from cxlab.voice.anchor_head import fit_anchor_head
from cxlab.voice.embeddings import get_embedder
from cxlab.voice.reading import labeller, read, split
from cxlab.voice.sentiment import LABELS, shipped_anchor_head
from cxlab.voice.shop_head import ShopHead, ShopSentiment
from cxlab.voice.text import clean_text

STARS = {"negative": 1.0, "neutral": 3.0, "positive": 5.0}
# Positive vs negative on the test split, read clause by clause with the shipped head (bench/RESULTS.md,
# `python bench/voice_accuracy.py`). The target is 0.90 per language; these floors guard against
# regressions (about two texts below the measured figure), they do not claim the target.
DIRECT_FLOOR = {"en": 0.83, "nl": 0.84, "da": 0.87, "de": 0.76, "fr": 0.79}
STORY_FLOOR = {"en": 0.87, "nl": 0.75, "da": 0.76, "de": 0.77, "fr": 0.78}


@pytest.fixture(scope="module")
def labelled() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The labelled texts with stories, their whole-text vectors and their clause-by-clause probabilities."""
    d = labelled_reviews(stories=True)
    texts = [clean_text(t) for t in d["text"]]
    embedder = get_embedder()
    head = shipped_anchor_head(embedder.name)
    assert head is not None, "anchors changed: run python -m cxlab.voice.anchor_head"
    languages = d["language"].tolist()
    reading = read(texts, split(texts, languages), embedder.embed, labeller(head), languages=languages)
    assert reading.vectors is not None
    return d, reading.vectors, reading.proba


def test_labelled_set_is_what_its_readme_says(labelled: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> None:
    d, _, _ = labelled
    assert d["id"].is_unique and d["text"].is_unique
    assert set(d["label"]) == set(LABELS)
    test = d[d["split"] == "test"]
    direct = test[~test["kind"].isin([*STORY_KINDS, "balanced"])].groupby("language").size()
    assert all(direct[lang] >= 100 for lang in ("nl", "da", "en"))
    stories = test[test["kind"].isin(STORY_KINDS)].groupby("language").size()
    assert all(stories[lang] >= 80 for lang in ("nl", "da", "en", "de", "fr")), stories


def _accuracy(d: pd.DataFrame, proba: np.ndarray, stories: bool) -> dict[str, float]:
    m = ((d["split"] == "test") & (d["kind"].isin(STORY_KINDS) == stories)).to_numpy()
    return polar_accuracy(d[m].reset_index(drop=True), proba[m])


def test_accuracy_per_language_on_direct_texts_and_stories(
    labelled: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    d, _, proba = labelled
    direct, stories = _accuracy(d, proba, False), _accuracy(d, proba, True)
    for lang, floor in DIRECT_FLOOR.items():
        assert direct[lang] >= floor, (lang, direct)
    for lang, floor in STORY_FLOOR.items():
        assert stories[lang] >= floor, (lang, stories)


def test_reading_clause_by_clause_beats_the_whole_text_on_stories(
    labelled: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    d, X, proba = labelled
    head = shipped_anchor_head(get_embedder().name)
    assert head is not None
    whole = head.predict_proba(X)
    polar = (d["label"] != "neutral").to_numpy()
    test = (d["split"] == "test").to_numpy()

    def hits(p: np.ndarray, m: np.ndarray) -> int:
        pred = np.where(p[:, 2] > p[:, 0], "positive", "negative")
        return int((pred[m & polar & test] == d["label"].to_numpy()[m & polar & test]).sum())

    story = d["kind"].isin(STORY_KINDS).to_numpy()
    # measured: 387 against 374 of 480 stories; on the 326 direct texts 283 against 283
    assert hits(proba, story) >= hits(whole, story) + 8
    assert hits(proba, ~story) >= hits(whole, ~story) - 6


def test_probabilities_are_calibrated_on_held_out_texts(
    labelled: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    # temperature scaling: mean confidence should be near accuracy (within 10 points) on unseen texts
    d, _, p = labelled
    test = (d["split"] == "test").to_numpy()
    acc = (np.asarray(LABELS)[p[test].argmax(1)] == d.loc[test, "label"].to_numpy()).mean()
    assert abs(p[test].max(1).mean() - acc) < 0.10


def test_supervised_head_learns_from_the_shops_ratings(
    labelled: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    d, X, prior = labelled
    original = (~d["kind"].isin([*STORY_KINDS, "balanced"])).to_numpy()
    dev = original & (d["split"] == "dev").to_numpy()
    stars = d.loc[dev, "label"].map(STARS).to_numpy()
    texts = [clean_text(t) for t in d["text"]]
    assert not ShopSentiment().enough(stars)  # 150 reviews are below the default 300
    fitted = ShopSentiment(min_reviews=100).fit(
        X[dev],
        [t for t, m in zip(texts, dev, strict=True) if m],
        stars,
        d.loc[dev, "language"].tolist(),
        prior[dev],
    )
    q = fitted.quality_
    assert set(q["accuracy"]) == {"nl", "da", "en", "all"}
    assert q["n"] == {"nl": 50, "da": 50, "en": 50}
    assert set(q["candidates"]) == {"embedding", "tfidf", "stacked"} and q["baseline"] == "tfidf"
    # the chosen head is the best of the three in cross-validation, the baseline included
    best = max(c["polar_accuracy"]["all"] for c in q["candidates"].values())
    assert q["polar_accuracy"]["all"] == best
    test = original & (d["split"] == "test").to_numpy()
    test_texts = [t for t, m in zip(texts, test, strict=True) if m]
    head = fitted.head_
    p = head.predict_proba(X[test], test_texts, d.loc[test, "language"].tolist(), prior[test])
    acc = polar_accuracy(d[test].reset_index(drop=True), p)
    assert min(acc.values()) >= 0.75, acc
    again = ShopHead.from_json(head.to_json())
    args = (X[test][:5], test_texts[:5], d.loc[test, "language"].tolist()[:5], prior[test][:5])
    assert np.allclose(again.predict_proba(*args), head.predict_proba(*args))


def test_shipped_head_is_a_fresh_fit_of_the_anchors(
    labelled: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    _, X, _ = labelled
    shipped = shipped_anchor_head(get_embedder().name)
    assert shipped is not None, "anchors.toml changed: run python -m cxlab.voice.anchor_head"
    fresh = fit_anchor_head(get_embedder())
    assert fresh.meta == shipped.meta
    agree = (fresh.predict_proba(X).argmax(1) == shipped.predict_proba(X).argmax(1)).mean()
    assert agree >= 0.99
    assert np.abs(fresh.predict_proba(X) - shipped.predict_proba(X)).max() < 0.02


def test_cli_text_contract(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        [
            "voice",
            "sentiment",
            "--text",
            "Niet slecht, snel geleverd!",
            "--db",
            str(tmp_path / "x.duckdb"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert set(doc) == {"language", "label", "scores"}
    assert doc["language"] == "nl" and doc["label"] in LABELS
    assert set(doc["scores"]) == set(LABELS) and sum(doc["scores"].values()) == pytest.approx(1.0, abs=1e-5)


def test_cli_file_contract_keeps_input_order(tmp_path: Path) -> None:
    f = tmp_path / "texts.csv"
    texts = [
        "Pakken kom aldrig frem, og ingen svarer.",
        "Lovely quality, thank you!",
        'He said "great", then <b>broke</b>',
    ]
    pd.DataFrame({"id": [1, 2, 3], "body": texts}).to_csv(f, index=False)
    r = CliRunner().invoke(
        app,
        [
            "voice",
            "sentiment",
            "--file",
            str(f),
            "--column",
            "body",
            "--db",
            str(tmp_path / "x.duckdb"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    docs = json.loads(r.stdout)
    assert [d["language"] for d in docs[:2]] == ["da", "en"]
    assert docs[0]["label"] == "negative" and docs[1]["label"] == "positive"
    assert len(docs) == 3 and [d["row"] for d in docs] == [1, 2, 3]


def test_cli_bad_file_names_the_column(tmp_path: Path) -> None:
    f = tmp_path / "texts.csv"
    f.write_text("id,body\n1,hello\n", encoding="utf-8")
    r = CliRunner().invoke(
        app, ["voice", "sentiment", "--file", str(f), "--column", "text", "--db", str(tmp_path / "x.duckdb")]
    )
    assert r.exit_code == 2
    assert "no column 'text'" in r.output and "texts.csv" in r.output
    # an empty comment is a row without words, not a broken file
    f.write_text("id,text\n1,Great shop\n2,\n", encoding="utf-8")
    r = CliRunner().invoke(
        app, ["voice", "sentiment", "--file", str(f), "--db", str(tmp_path / "x.duckdb"), "--json"]
    )
    assert r.exit_code == 0, r.output
    docs = json.loads(r.stdout)
    assert [d["row"] for d in docs] == [1, 2] and docs[1]["label"] is None and docs[0]["label"] is not None
    f.write_text("id,text\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["voice", "sentiment", "--file", str(f), "--db", str(tmp_path / "x.duckdb")])
    assert r.exit_code != 0 and "no rows to classify" in r.output and "Traceback" not in r.output
