"""Sentiment on the hand-labelled review set (tests/voice/data, written independently of the anchors and the
demo generator): accuracy per language, the shipped head, the supervised head, the CLI contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner
from voice_helpers import labelled_reviews, polar_accuracy

from cxlab.cli import app
from cxlab.voice.anchor_head import fit_anchor_head
from cxlab.voice.embeddings import get_embedder
from cxlab.voice.sentiment import LABELS, LinearHead, ReviewSentiment, shipped_anchor_head
from cxlab.voice.text import clean_text

STARS = {"negative": 1.0, "neutral": 3.0, "positive": 5.0}
# Measured on the test split (bench/RESULTS.md): en 0.93, nl 0.90, da 0.87, de 0.88, fr 0.91. The target is 0.90 per
# language; these floors guard against regressions, they do not claim the target.
FLOOR = {"en": 0.88, "nl": 0.85, "da": 0.84, "de": 0.80, "fr": 0.80}


@pytest.fixture(scope="module")
def labelled() -> tuple[pd.DataFrame, np.ndarray]:
    d = labelled_reviews()
    return d, get_embedder().embed([clean_text(t) for t in d["text"]])


def test_labelled_set_is_what_its_readme_says(labelled: tuple[pd.DataFrame, np.ndarray]) -> None:
    d, _ = labelled
    counts = d[d["split"] == "test"].groupby("language").size()
    assert all(counts[lang] >= 100 for lang in ("nl", "da", "en"))
    assert d["id"].is_unique and d["text"].is_unique
    assert set(d["label"]) == set(LABELS)


def test_zero_shot_accuracy_per_language(labelled: tuple[pd.DataFrame, np.ndarray]) -> None:
    d, X = labelled
    head = shipped_anchor_head(get_embedder().name)
    assert head is not None
    test = (d["split"] == "test").to_numpy()
    acc = polar_accuracy(d[test].reset_index(drop=True), head.predict_proba(X[test]))
    for lang, floor in FLOOR.items():
        assert acc[lang] >= floor, (lang, acc)


def test_shipped_head_is_a_fresh_fit_of_the_anchors(labelled: tuple[pd.DataFrame, np.ndarray]) -> None:
    _, X = labelled
    shipped = shipped_anchor_head(get_embedder().name)
    assert shipped is not None, "anchors.toml changed: run python -m cxlab.voice.anchor_head"
    fresh = fit_anchor_head(get_embedder())
    assert fresh.meta == shipped.meta
    agree = (fresh.predict_proba(X).argmax(1) == shipped.predict_proba(X).argmax(1)).mean()
    assert agree >= 0.99
    assert np.abs(fresh.predict_proba(X) - shipped.predict_proba(X)).max() < 0.02


def test_probabilities_are_calibrated_on_held_out_texts(labelled: tuple[pd.DataFrame, np.ndarray]) -> None:
    # temperature scaling: mean confidence should be near accuracy (within 10 points) on unseen texts
    d, X = labelled
    head = shipped_anchor_head(get_embedder().name)
    assert head is not None
    p = head.predict_proba(X)
    acc = (np.asarray(LABELS)[p.argmax(1)] == d["label"].to_numpy()).mean()
    assert abs(p.max(1).mean() - acc) < 0.10


def test_supervised_head_learns_from_the_shops_ratings(labelled: tuple[pd.DataFrame, np.ndarray]) -> None:
    d, X = labelled
    dev = (d["split"] == "dev").to_numpy()
    stars = d.loc[dev, "label"].map(STARS).to_numpy()
    trainer = ReviewSentiment(min_reviews=100)
    assert not ReviewSentiment().enough(stars)  # 150 reviews are below the default 300
    head = trainer.fit(X[dev], stars, d.loc[dev, "language"].tolist()).head_
    q = head.quality
    assert q is not None and set(q["accuracy"]) == {"nl", "da", "en", "all"}
    assert q["n"] == {"nl": 50, "da": 50, "en": 50}
    # cross-validated on 50 reviews per language (measured: da .76, en .86, nl .71, all .78); a head that
    # ignores the ratings scores about 0.5 in each language
    assert all(0.65 <= v <= 1.0 for v in q["polar_accuracy"].values()), q["polar_accuracy"]
    test = ~dev
    acc = polar_accuracy(d[test].reset_index(drop=True), head.predict_proba(X[test]))
    assert min(acc.values()) >= 0.75, acc
    again = LinearHead.from_json(head.to_json())
    assert np.allclose(again.predict_proba(X[:5]), head.predict_proba(X[:5]))


def test_too_few_ratings_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too few star-rated reviews"):
        ReviewSentiment().fit(np.zeros((10, 384), np.float32), np.full(10, 5.0), ["en"] * 10)


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
    assert len(docs) == 3


def test_cli_bad_file_names_the_column(tmp_path: Path) -> None:
    f = tmp_path / "texts.csv"
    f.write_text("id,body\n1,hello\n", encoding="utf-8")
    r = CliRunner().invoke(
        app, ["voice", "sentiment", "--file", str(f), "--column", "text", "--db", str(tmp_path / "x.duckdb")]
    )
    assert r.exit_code == 2
    assert "no column 'text'" in r.output and "texts.csv" in r.output
    f.write_text("id,text\n1,hello\n2,\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["voice", "sentiment", "--file", str(f), "--db", str(tmp_path / "x.duckdb")])
    assert r.exit_code == 2 and "texts.csv:3: text: missing required value" in r.output
