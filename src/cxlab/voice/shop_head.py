"""The shop's own sentiment head, trained on its star-rated reviews, that never loses to TF-IDF + logistic
regression.

An embedding-only logistic regression (multilingual-e5-small, 384-d) reads *how* a review is phrased but blurs
the shop's own words (its products, its courier, its loyalty programme, the phrases its customers use for "late"
and "broken"), which a bag of n-grams trained on the same reviews picks up at once: on 2,100 real Danish reviews
the embedding head scored 0.83 positive-vs-negative, TF-IDF + logistic regression 0.89–0.92. So
:class:`ShopSentiment` cross-validates three candidates on the SAME stratified folds and keeps the best:

* ``embedding``: a logistic regression on the embeddings (the old head);
* ``tfidf`` (the baseline): TF-IDF word 1–2-grams + logistic regression on the texts, one pooled model with
  scikit-learn's defaults, i.e. what a data scientist tries first;
* ``stacked``: per language (languages with too few reviews fall back to one pooled model) a TF-IDF linear model
  over word 1–2-grams and character 2–5-grams (``char_wb``, sublinear tf, capped vocabularies), whose
  out-of-fold logits are stacked with the embedding model's (and, when given, the zero-shot ``prior``'s log
  probabilities) in a small meta logistic regression. Character n-grams survive typos and Danish/Dutch
  compounds; the embeddings carry negation and phrasing the n-grams miss.

The winner (best cross-validated positive-vs-negative accuracy; ties go to ``stacked``) is refitted on all rows
and temperature-scaled on its out-of-fold logits (:func:`cxlab.voice.sentiment.fit_temperature`). What is
stored and applied is a :class:`ShopHead`: vocabularies, idf weights and coefficients as plain JSON lists, so
applying it is a sparse matrix product and no pickle is ever loaded.

"Positive-vs-negative accuracy" is measured on the reviews rated 1–2 or 4–5 stars: a review counts as right
when the head gives its own side the larger of p(negative) and p(positive) (a neutral guess does not count
against it, as in ``bench/voice_accuracy.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from cxlab.voice.sentiment import LABELS, fit_temperature, stars_to_label

FloatArray = NDArray[np.float64]
Labels = NDArray[np.int64]
CANDIDATES: tuple[str, str, str] = ("stacked", "embedding", "tfidf")  # order = preference on ties
BASELINE = "tfidf"
POOLED = "*"
"""Key of the pooled text model: languages without their own model, unknown languages, new languages."""
UNKNOWN = "(unknown)"
FORMAT = 1

#: TF-IDF settings of the stacked candidate's text model: word 1–2-grams and character 2–5-grams, both with
#: sublinear tf and capped vocabularies (about 1 MB of JSON per language model).
WORD_NGRAMS: dict[str, Any] = {
    "analyzer": "word",
    "ngram_range": (1, 2),
    "sublinear_tf": True,
    "max_features": 15_000,
}
CHAR_NGRAMS: dict[str, Any] = {
    "analyzer": "char_wb",
    "ngram_range": (2, 5),
    "sublinear_tf": True,
    "min_df": 2,
    "max_features": 25_000,
}
#: The baseline's TF-IDF: scikit-learn's defaults with word 1–2-grams, and LogisticRegression's default C.
BASELINE_NGRAMS: dict[str, Any] = {"analyzer": "word", "ngram_range": (1, 2)}
BASELINE_C = 1.0
#: Small fixed grids of inverse regularisation strengths, chosen by out-of-fold log loss on the same folds.
EMBEDDING_C: tuple[float, ...] = (1.0, 10.0, 100.0)
TEXT_C: tuple[float, ...] = (3.0, 10.0, 30.0)
META_C = 1.0
#: A language gets its own text model from this many reviews (and ``min_per_label`` of each label) on.
MIN_LANGUAGE = 150
DECIMALS = 6
"""Stored arrays are rounded to this many decimals (JSON a third the size; logits move by < 1e-4)."""


# ----------------------------------------------------------------------------------------------------------
# stored parts: plain arrays, JSON in and out


def _rounded(a: Any) -> FloatArray:
    return np.asarray(np.round(np.asarray(a, dtype=np.float64), DECIMALS), dtype=np.float64)


def _tfidf(counts: Any, idf: FloatArray, sublinear_tf: bool) -> sp.csr_matrix:
    """Raw counts → ``l2normalise(tf × idf)``, tf sublinear (1 + log count) or raw: TfidfTransformer's sum."""
    tf = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    if sublinear_tf:
        np.log(tf.data, tf.data)
        tf.data += 1.0
    return sp.csr_matrix(normalize(sp.csr_matrix(tf.multiply(idf[None, :])), norm="l2", copy=False))


def _array(d: Mapping[str, Any], key: str, where: str, ndim: int) -> FloatArray:
    try:
        a = np.asarray(_need(d, key, where), dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"shop head JSON: {where}.{key} is not an array of numbers") from e
    if a.ndim != ndim or not np.isfinite(a).all():
        raise ValueError(
            f"shop head JSON: {where}.{key} must be a finite {ndim}-d array, got shape {a.shape}"
        )
    return a


def _need(d: Any, key: str, where: str) -> Any:
    if not isinstance(d, Mapping):
        raise ValueError(f"shop head JSON: {where} must be an object")
    if key not in d:
        raise ValueError(f"shop head JSON: {where} has no {key!r}")
    return d[key]


@dataclass(frozen=True)
class Linear:
    """``Z @ coef.T + intercept``: a fitted logistic regression's logits over LABELS."""

    coef: FloatArray
    intercept: FloatArray

    @classmethod
    def of(cls, model: LogisticRegression) -> Linear:
        return cls(_rounded(model.coef_), _rounded(model.intercept_))

    def logits(self, Z: Any) -> FloatArray:
        return np.asarray(Z @ self.coef.T, dtype=np.float64) + self.intercept

    def to_dict(self) -> dict[str, Any]:
        return {"coef": self.coef.tolist(), "intercept": self.intercept.tolist()}

    @classmethod
    def from_dict(cls, d: Any, where: str, n_features: int | None = None) -> Linear:
        coef, intercept = _array(d, "coef", where, 2), _array(d, "intercept", where, 1)
        if coef.shape[0] != len(LABELS) or intercept.shape != (len(LABELS),):
            raise ValueError(f"shop head JSON: {where} must have {len(LABELS)} rows (one per label)")
        if n_features is not None and coef.shape[1] != n_features:
            raise ValueError(
                f"shop head JSON: {where}.coef has {coef.shape[1]} columns, expected {n_features}"
            )
        return cls(coef, intercept)


@dataclass(frozen=True)
class TfidfPart:
    """A fitted TfidfVectorizer as data: ``l2normalise(tf × idf)`` over a fixed vocabulary (tf sublinear or
    raw), the same matrix scikit-learn's ``transform`` gives."""

    analyzer: str
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    vocabulary: tuple[str, ...]
    idf: FloatArray

    @classmethod
    def of(cls, vec: TfidfVectorizer) -> TfidfPart:
        lo, hi = vec.ngram_range
        terms = tuple(str(t) for t in vec.get_feature_names_out())
        return cls(str(vec.analyzer), (int(lo), int(hi)), bool(vec.sublinear_tf), terms, _rounded(vec.idf_))

    @cached_property
    def _counter(self) -> CountVectorizer:
        return CountVectorizer(
            analyzer=self.analyzer,
            ngram_range=self.ngram_range,
            vocabulary={t: i for i, t in enumerate(self.vocabulary)},
            dtype=np.float64,
        )

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return _tfidf(self._counter.transform(texts), self.idf, self.sublinear_tf)

    def to_dict(self) -> dict[str, Any]:
        return {
            "analyzer": self.analyzer,
            "ngram_range": list(self.ngram_range),
            "sublinear_tf": self.sublinear_tf,
            "vocabulary": list(self.vocabulary),
            "idf": self.idf.tolist(),
        }

    @classmethod
    def from_dict(cls, d: Any, where: str) -> TfidfPart:
        analyzer = _need(d, "analyzer", where)
        if analyzer not in ("word", "char_wb", "char"):
            raise ValueError(
                f"shop head JSON: {where}.analyzer must be word, char_wb or char, not {analyzer!r}"
            )
        ngrams = _need(d, "ngram_range", where)
        if not (isinstance(ngrams, list) and len(ngrams) == 2 and all(isinstance(k, int) for k in ngrams)):
            raise ValueError(f"shop head JSON: {where}.ngram_range must be two integers")
        vocabulary = _need(d, "vocabulary", where)
        if not (isinstance(vocabulary, list) and all(isinstance(t, str) for t in vocabulary)):
            raise ValueError(f"shop head JSON: {where}.vocabulary must be a list of strings")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError(f"shop head JSON: {where}.vocabulary has duplicate terms")
        idf = _array(d, "idf", where, 1)
        if len(idf) != len(vocabulary):
            raise ValueError(f"shop head JSON: {where}.idf has {len(idf)} values for {len(vocabulary)} terms")
        sublinear = _need(d, "sublinear_tf", where)
        return cls(str(analyzer), (ngrams[0], ngrams[1]), bool(sublinear), tuple(vocabulary), idf)


@dataclass(frozen=True)
class TextModel:
    """A linear model over the concatenated TF-IDF parts of a text (each part L2-normalised on its own)."""

    parts: tuple[TfidfPart, ...]
    linear: Linear

    def logits(self, texts: Sequence[str]) -> FloatArray:
        return self.linear.logits(sp.hstack([p.transform(texts) for p in self.parts], format="csr"))

    def to_dict(self) -> dict[str, Any]:
        return {"parts": [p.to_dict() for p in self.parts]} | self.linear.to_dict()

    @classmethod
    def from_dict(cls, d: Any, where: str) -> TextModel:
        raw = _need(d, "parts", where)
        if not isinstance(raw, list) or not raw:
            raise ValueError(f"shop head JSON: {where}.parts must be a non-empty list")
        parts = tuple(TfidfPart.from_dict(p, f"{where}.parts[{i}]") for i, p in enumerate(raw))
        return cls(parts, Linear.from_dict(d, where, sum(len(p.vocabulary) for p in parts)))


@dataclass(frozen=True)
class ShopHead:
    """The fitted shop head: ``softmax(logits / temperature)`` over LABELS, where the logits come from the
    chosen candidate (``method``): the embedding model, the pooled TF-IDF model, or the meta model over the
    per-language text model's, the embedding model's and (``uses_prior``) the prior's log probabilities."""

    kind: ClassVar[str] = "reviews"
    n_train: int
    quality: Mapping[str, Any]
    temperature: float
    method: str
    embedding: Linear | None
    text: Mapping[str, TextModel]
    meta: Linear | None
    uses_prior: bool

    def logits(
        self, X: Any, texts: Sequence[str], languages: Sequence[str | None], prior: Any = None
    ) -> FloatArray:
        n = len(texts)
        if len(languages) != n or (X is not None and len(X) != n):
            raise ValueError(f"texts ({n}), languages ({len(languages)}) and X must have the same length")
        if self.method == "tfidf":
            return self.text[POOLED].logits(list(texts))
        if X is None or self.embedding is None:
            raise ValueError(f"the {self.method} head needs the texts' embeddings X")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.embedding.coef.shape[1]:
            raise ValueError(f"X must have shape (n, {self.embedding.coef.shape[1]}), got {X.shape}")
        emb = self.embedding.logits(X)
        if self.method == "embedding":
            return emb
        assert self.meta is not None
        features = [_text_logits(self.text, texts, languages), emb]
        if self.uses_prior:
            if prior is None:
                raise ValueError(
                    "this head was fitted with the zero-shot prior: pass prior=(n, 3) probabilities"
                )
            features.append(_log_prior(prior, n))
        return self.meta.logits(np.hstack(features))

    def predict_proba(
        self, X: Any, texts: Sequence[str], languages: Sequence[str | None], prior: Any = None
    ) -> FloatArray:
        """(n, 3) probabilities over LABELS (negative, neutral, positive); rows sum to 1."""
        return np.asarray(softmax(self.logits(X, texts, languages, prior) / self.temperature, axis=1))

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "format": FORMAT,
                "method": self.method,
                "n_train": self.n_train,
                "temperature": self.temperature,
                "uses_prior": self.uses_prior,
                "quality": self.quality,
                "embedding": self.embedding.to_dict() if self.embedding else None,
                "text": {lang: m.to_dict() for lang, m in self.text.items()},
                "meta": self.meta.to_dict() if self.meta else None,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, s: str) -> ShopHead:
        """The head ``to_json`` wrote; ValueError naming the problem when ``s`` is not one."""
        try:
            d = json.loads(s)
        except (TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"shop head JSON: not valid JSON ({e})") from e
        if _need(d, "kind", "head") != cls.kind:
            raise ValueError(f"shop head JSON: kind must be {cls.kind!r}, not {d['kind']!r}")
        if _need(d, "format", "head") != FORMAT:
            raise ValueError(f"shop head JSON: unknown format {d['format']!r} (this cxlab reads {FORMAT})")
        method = _need(d, "method", "head")
        if method not in CANDIDATES:
            raise ValueError(f"shop head JSON: method must be one of {', '.join(CANDIDATES)}, not {method!r}")
        temperature = _need(d, "temperature", "head")
        if not isinstance(temperature, int | float) or not temperature > 0:
            raise ValueError(f"shop head JSON: temperature must be a positive number, not {temperature!r}")
        n_train, uses_prior = _need(d, "n_train", "head"), _need(d, "uses_prior", "head")
        if not isinstance(n_train, int) or not isinstance(uses_prior, bool):
            raise ValueError("shop head JSON: n_train must be an integer and uses_prior true or false")
        quality = _need(d, "quality", "head")
        if not isinstance(quality, Mapping):
            raise ValueError("shop head JSON: quality must be an object")
        raw_text = _need(d, "text", "head")
        if not isinstance(raw_text, Mapping):
            raise ValueError("shop head JSON: text must be an object (language → model)")
        text = {str(k): TextModel.from_dict(v, f"text[{k!r}]") for k, v in raw_text.items()}
        emb = _need(d, "embedding", "head")
        embedding = None if emb is None else Linear.from_dict(emb, "embedding")
        raw_meta = _need(d, "meta", "head")
        meta = None
        if raw_meta is not None:
            meta = Linear.from_dict(raw_meta, "meta", 3 * len(LABELS) if uses_prior else 2 * len(LABELS))
        if method in ("tfidf", "stacked") and POOLED not in text:
            raise ValueError(f"shop head JSON: a {method} head needs the pooled text model text[{POOLED!r}]")
        if method in ("embedding", "stacked") and embedding is None:
            raise ValueError(f"shop head JSON: a {method} head needs its embedding model")
        if method == "stacked" and meta is None:
            raise ValueError("shop head JSON: a stacked head needs its meta model")
        return cls(int(n_train), dict(quality), float(temperature), method, embedding, text, meta, uses_prior)


def _text_logits(
    models: Mapping[str, TextModel], texts: Sequence[str], languages: Sequence[str | None]
) -> FloatArray:
    """Each text's logits from its language's model, the pooled model for the others."""
    keys = np.array([lang if lang in models else POOLED for lang in languages], dtype=object)
    out = np.zeros((len(texts), len(LABELS)))
    for key in set(keys.tolist()):
        rows = np.flatnonzero(keys == key)
        out[rows] = models[key].logits([texts[int(i)] for i in rows])
    return out


def _log_prior(prior: Any, n: int) -> FloatArray:
    p = np.asarray(prior, dtype=np.float64)
    if p.shape != (n, len(LABELS)) or not np.isfinite(p).all():
        raise ValueError(f"prior must be finite probabilities of shape ({n}, {len(LABELS)}), got {p.shape}")
    return np.log(np.clip(p, 1e-6, 1.0))


# ----------------------------------------------------------------------------------------------------------
# fitting


def _logistic(C: float, warm_start: bool = False) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=3000, warm_start=warm_start)


def _grid_logits(F_train: Any, y_train: Labels, F_test: Any, grid: Sequence[float]) -> list[FloatArray]:
    """Test logits of a logistic regression for each C in ``grid`` (ascending), each fit warm-started from
    the previous one."""
    model = _logistic(grid[0], warm_start=True)
    out = []
    for c in grid:
        model.set_params(C=c).fit(F_train, y_train)
        out.append(np.asarray(model.decision_function(F_test), dtype=np.float64))
    return out


def _calibrated_nll(logits: FloatArray, y: Labels) -> float:
    t = fit_temperature(logits, y)
    return float(-log_softmax(logits / t, axis=1)[np.arange(len(y)), y].mean())


class _Ngrams:
    """The n-gram counts of all texts for one TF-IDF setting, analysed once; the TF-IDF matrix of a model
    trained on some rows is a column selection of them (TfidfVectorizer's vocabulary rules: ``min_df``, then the
    ``max_features`` most frequent terms, of those rows), so cross-validation never re-tokenises."""

    def __init__(self, texts: Sequence[str], spec: Mapping[str, Any]) -> None:
        self.spec = spec
        cv = CountVectorizer(analyzer=spec["analyzer"], ngram_range=spec["ngram_range"], dtype=np.float64)
        self.counts = sp.csr_matrix(cv.fit_transform(texts))
        self.terms = cv.get_feature_names_out()

    def vocabulary(self, rows: NDArray[np.intp]) -> tuple[NDArray[np.intp], FloatArray]:
        """The columns a vectorizer fitted on ``rows`` keeps, and their (smoothed) idf."""
        sub = self.counts[rows]
        df = np.bincount(sub.indices, minlength=sub.shape[1])
        keep = np.flatnonzero(df >= max(1, int(self.spec.get("min_df", 1))))
        limit = self.spec.get("max_features")
        if limit is not None and len(keep) > limit:
            tf = np.asarray(sub.sum(axis=0)).ravel()
            keep = np.sort(keep[np.argsort(-tf[keep], kind="stable")[:limit]])
        idf = np.log((1.0 + len(rows)) / (1.0 + df[keep])) + 1.0
        return keep, idf

    def tfidf(self, rows: NDArray[np.intp], cols: NDArray[np.intp], idf: FloatArray) -> sp.csr_matrix:
        return _tfidf(self.counts[rows][:, cols], idf, bool(self.spec.get("sublinear_tf", False)))

    def part(self, cols: NDArray[np.intp], idf: FloatArray) -> TfidfPart:
        lo, hi = self.spec["ngram_range"]
        terms = tuple(str(t) for t in self.terms[cols])
        sublinear = bool(self.spec.get("sublinear_tf", False))
        return TfidfPart(str(self.spec["analyzer"]), (int(lo), int(hi)), sublinear, terms, _rounded(idf))


def _text_features(
    ngrams: Sequence[_Ngrams], train: NDArray[np.intp], rows: Sequence[NDArray[np.intp]]
) -> tuple[list[sp.csr_matrix], list[tuple[NDArray[np.intp], FloatArray]]]:
    """The TF-IDF matrices (word and char blocks side by side) of each of ``rows`` for a model trained on
    ``train``, and each block's vocabulary (columns, idf)."""
    vocab = [g.vocabulary(train) for g in ngrams]
    mats = [
        sp.hstack([g.tfidf(r, *v) for g, v in zip(ngrams, vocab, strict=True)], format="csr") for r in rows
    ]
    return mats, vocab


Fold = tuple[NDArray[np.intp], NDArray[np.intp]]


def _oof(
    fit_predict: Callable[[NDArray[np.intp], NDArray[np.intp]], list[FloatArray]],
    folds: Sequence[Fold],
    n: int,
) -> list[FloatArray]:
    """Out-of-fold logits, one array per C value: ``fit_predict(train, test)`` returns one (len(test), 3)
    array per C value of its grid (so a fold's features are built once for the whole grid)."""
    out: list[FloatArray] = []
    for train, test in folds:
        logits = fit_predict(train, test)
        out = out or [np.zeros((n, len(LABELS))) for _ in logits]
        for o, z in zip(out, logits, strict=True):
            o[test] = z
    return out


def _best_c(grid: Sequence[float], oofs: Sequence[FloatArray], y: Labels) -> tuple[float, FloatArray]:
    """The C whose out-of-fold logits have the smallest log loss after temperature scaling, and those logits."""
    i = int(np.argmin([_calibrated_nll(o, y) for o in oofs]))
    return grid[i], oofs[i]


class ShopSentiment:
    """Trains the shop's sentiment head on its star-rated reviews (see the module docstring); scikit-learn
    conventions: parameters in ``__init__``, what is learned in ``head_`` and ``quality_``."""

    def __init__(
        self, folds: int = 5, min_reviews: int = 300, min_per_label: int = 20, seed: int = 0
    ) -> None:
        self.folds = folds
        self.min_reviews = min_reviews
        self.min_per_label = min_per_label
        self.seed = seed

    def enough(self, stars: Any) -> bool:
        """Whether these ratings can train the head (enough reviews, and of every label)."""
        y = stars_to_label(np.asarray(stars))
        counts = np.bincount(y, minlength=len(LABELS))
        return len(y) >= self.min_reviews and bool((counts >= self.min_per_label).all())

    def fit(
        self, X: Any, texts: Sequence[str], stars: Any, languages: Sequence[str | None], prior: Any = None
    ) -> ShopSentiment:
        """Cross-validate the three candidates on the same folds, keep the best (see the module docstring).
        Runs on one BLAS/OpenMP thread: these small fits are several times faster than with threads that
        fight each other (and the embedding engine) for two cores."""
        with threadpool_limits(1):
            return self._fit(X, texts, stars, languages, prior)

    def _fit(
        self, X: Any, texts: Sequence[str], stars: Any, languages: Sequence[str | None], prior: Any
    ) -> ShopSentiment:
        X = np.asarray(X, dtype=np.float64)
        texts = [str(t) for t in texts]
        stars = np.asarray(stars, dtype=np.float64)
        n = len(texts)
        if X.ndim != 2 or len(X) != n or len(stars) != n or len(languages) != n:
            raise ValueError(
                f"X (shape {X.shape}), texts ({n}), stars ({len(stars)}) and languages ({len(languages)}) "
                "must describe the same reviews"
            )
        if np.isnan(stars).any() or (stars < 1).any() or (stars > 5).any():
            raise ValueError("stars must be ratings from 1 to 5 (no missing values)")
        log_prior = None if prior is None else _log_prior(prior, n)
        y = stars_to_label(stars)
        if not self.enough(stars):
            raise ValueError(
                f"too few star-rated reviews to train a sentiment head: {n} "
                f"(need {self.min_reviews}, at least {self.min_per_label} of each of {', '.join(LABELS)})"
            )
        lang = np.array([x or UNKNOWN for x in languages], dtype=object)
        folds: list[Fold] = list(
            StratifiedKFold(self.folds, shuffle=True, random_state=self.seed).split(X, y)
        )

        # 1. embedding: LR on X, C from a small grid
        emb_c, emb_oof = _best_c(
            EMBEDDING_C, _oof(lambda tr, te: _grid_logits(X[tr], y[tr], X[te], EMBEDDING_C), folds, n), y
        )

        # 2. tfidf: the baseline, one pooled scikit-learn pipeline with the defaults
        def baseline(train: NDArray[np.intp], test: NDArray[np.intp]) -> list[FloatArray]:
            vec = TfidfVectorizer(**BASELINE_NGRAMS)
            F_train = vec.fit_transform([texts[i] for i in train])
            return _grid_logits(F_train, y[train], vec.transform([texts[i] for i in test]), [BASELINE_C])

        (base_oof,) = _oof(baseline, folds, n)

        # 3. stacked: per-language word + char TF-IDF models, stacked with the embedding LR (and the prior)
        groups = self._language_groups(lang, y)
        keys = np.array([g if g in groups else POOLED for g in lang], dtype=object)
        ngrams = [_Ngrams(texts, WORD_NGRAMS), _Ngrams(texts, CHAR_NGRAMS)]

        def text_fold(train: NDArray[np.intp], test: NDArray[np.intp]) -> list[FloatArray]:
            out = [np.zeros((len(test), len(LABELS))) for _ in TEXT_C]
            for key in sorted(set(keys[test].tolist())):
                tr = train if key == POOLED else train[keys[train] == key]
                te = np.flatnonzero(keys[test] == key)
                (F_train, F_test), _ = _text_features(ngrams, tr, [tr, test[te]])
                for o, z in zip(out, _grid_logits(F_train, y[tr], F_test, TEXT_C), strict=True):
                    o[te] = z
            return out

        text_c, text_oof = _best_c(TEXT_C, _oof(text_fold, folds, n), y)
        stack = np.hstack([text_oof, emb_oof] + ([] if log_prior is None else [log_prior]))
        (stacked_oof,) = _oof(lambda tr, te: _grid_logits(stack[tr], y[tr], stack[te], [META_C]), folds, n)

        oof = {"stacked": stacked_oof, "embedding": emb_oof, "tfidf": base_oof}
        scores = {name: _scores(oof[name], y, lang) for name in CANDIDATES}
        chosen = max(CANDIDATES, key=lambda c: (scores[c]["polar_accuracy"]["all"], -CANDIDATES.index(c)))

        # refit the chosen candidate on all rows
        embedding = meta = None
        text_models: dict[str, TextModel] = {}
        if chosen in ("embedding", "stacked"):
            embedding = Linear.of(_logistic(emb_c).fit(X, y))
        if chosen == "tfidf":
            vec = TfidfVectorizer(**BASELINE_NGRAMS)
            model = _logistic(BASELINE_C).fit(vec.fit_transform(texts), y)
            text_models[POOLED] = TextModel((TfidfPart.of(vec),), Linear.of(model))
        if chosen == "stacked":
            for key in [*sorted(groups), POOLED]:
                rows = np.arange(n) if key == POOLED else np.flatnonzero(keys == key)
                (F,), vocab = _text_features(ngrams, rows, [rows])
                parts = tuple(g.part(*v) for g, v in zip(ngrams, vocab, strict=True))
                text_models[key] = TextModel(parts, Linear.of(_logistic(text_c).fit(F, y[rows])))
            meta = Linear.of(_logistic(META_C).fit(stack, y))

        own = ", ".join(sorted(groups)) or "none"
        how = {
            "stacked": f"per-language TF-IDF word+char models (own model: {own}; others pooled; C={text_c:g}) "
            f"stacked with the embedding logistic regression (C={emb_c:g})"
            + (" and the zero-shot prior" if log_prior is not None else ""),
            "embedding": f"logistic regression on the text embeddings (C={emb_c:g})",
            "tfidf": "TF-IDF word 1–2-grams + logistic regression (the baseline)",
        }[chosen]
        others = ", ".join(f"{c} {scores[c]['polar_accuracy']['all']:.3f}" for c in CANDIDATES if c != chosen)
        quality: dict[str, Any] = {
            "method": (
                f"{chosen}: {how}; chosen by {self.folds}-fold cross-validated positive-vs-negative accuracy on "
                f"the shop's star-rated reviews ({scores[chosen]['polar_accuracy']['all']:.3f}; {others})"
            ),
            "accuracy": scores[chosen]["accuracy"],
            "polar_accuracy": scores[chosen]["polar_accuracy"],
            "n": {str(k): int(v) for k, v in pd.Series(lang).value_counts().items()},
            "chosen": chosen,
            "baseline": BASELINE,
            "candidates": scores,
            "folds": self.folds,
        }
        self.quality_ = quality
        self.head_ = ShopHead(
            n_train=n,
            quality=quality,
            temperature=fit_temperature(oof[chosen], y),
            method=chosen,
            embedding=embedding,
            text=text_models,
            meta=meta,
            uses_prior=chosen == "stacked" and log_prior is not None,
        )
        return self

    def _language_groups(self, lang: NDArray[Any], y: Labels) -> set[str]:
        """Languages with enough reviews (and of every label) for a text model of their own."""
        out = set()
        for g in set(lang.tolist()) - {UNKNOWN}:
            counts = np.bincount(y[lang == g], minlength=len(LABELS))
            if counts.sum() >= MIN_LANGUAGE and (counts >= self.min_per_label).all():
                out.add(str(g))
        return out

    def predict_proba(
        self, X: Any, texts: Sequence[str], languages: Sequence[str | None], prior: Any = None
    ) -> FloatArray:
        return self.head_.predict_proba(X, texts, languages, prior)


def _scores(logits: FloatArray, y: Labels, lang: NDArray[Any]) -> dict[str, dict[str, float]]:
    """Out-of-fold accuracy (three labels) and positive-vs-negative accuracy, per language and "all"."""
    hit = pd.Series(np.argmax(logits, axis=1) == y)
    polar = y != 1
    polar_hit = pd.Series((logits[:, 2] > logits[:, 0])[polar] == (y[polar] == 2))
    lg = pd.Series(lang)

    def by_lang(h: pd.Series, g: pd.Series) -> dict[str, float]:
        return {str(k): float(v) for k, v in h.groupby(g.to_numpy()).mean().items()} | {
            "all": float(h.mean())
        }

    return {
        "accuracy": by_lang(hit, lg),
        "polar_accuracy": by_lang(polar_hit, lg[polar].reset_index(drop=True)),
    }
