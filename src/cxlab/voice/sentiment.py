"""Sentiment per text: negative / neutral / positive, each with a probability.

:class:`AnchorSentiment` (zero-shot, always available) is a multinomial logistic regression (scikit-learn) over
the embeddings whose logits are temperature-scaled (Guo et al., 2017) so its probabilities are calibrated; the
fitted head is a few arrays (:class:`LinearHead`, shipped as JSON). It is trained on the shipped anchor
sentences (``anchors.toml``: plain statements, idioms, negations, sarcasm; ``anchors_stories.toml``: stories of
problems solved or not and their clauses, understatement, rhetorical questions; ``anchors_clauses.toml``: single
clauses of the shapes still misread on the dev split; per language). Because
the embedding model is multilingual, anchors of every language teach every language. Texts are read clause by
clause with it (:mod:`cxlab.voice.reading`).

The shop's own head, trained on its star-rated reviews when it has enough, is
:class:`cxlab.voice.shop_head.ShopSentiment`: the embedding stacked with TF-IDF word and character n-gram models.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from cxlab.voice.embeddings import Vectors

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
MIXED = "mixed"
"""The label of a text whose clauses pull both ways while its verdict stays close (:mod:`cxlab.voice.reading`);
its probabilities are still over LABELS."""
SHIPPED_HEAD = "anchor_head.json"
Anchors = Mapping[str, Mapping[str, Sequence[str]]]
FloatArray = NDArray[np.float64]


ANCHOR_FILES = ("anchors.toml", "anchors_stories.toml", "anchors_clauses.toml")
"""Plain statements, idioms, negations and sarcasm; stories of problems solved or not and their clauses,
understatement and rhetorical questions; single clauses of the shapes the model still misread on the dev split
(verdicts without a positive word, questions answered by a fact, understatement, slang)."""


def default_anchors() -> dict[str, dict[str, list[str]]]:
    """The shipped anchor sentences (:data:`ANCHOR_FILES` merged): ``{language: {label: [sentences]}}``."""
    out: dict[str, dict[str, list[str]]] = {}
    for name in ANCHOR_FILES:
        text = resources.files("cxlab.voice").joinpath(name).read_text(encoding="utf-8")
        for lang, by_label in tomllib.loads(text).items():
            for label, sentences in by_label.items():
                out.setdefault(lang, {}).setdefault(label, []).extend(sentences)
    return out


def stars_to_label(stars: NDArray[Any]) -> NDArray[np.int64]:
    """Review stars (1–5) → label index: 1–2 negative, 3 neutral, 4–5 positive."""
    s = np.asarray(stars, dtype=float)
    return np.where(s <= 2, 0, np.where(s >= 4, 2, 1)).astype(np.int64)


def fit_temperature(logits: FloatArray, y: NDArray[np.int64]) -> float:
    """The temperature T minimising the log loss of softmax(logits / T) (temperature scaling)."""

    def nll(log_t: float) -> float:
        lp = log_softmax(logits / np.exp(log_t), axis=1)
        return float(-lp[np.arange(len(y)), y].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


@dataclass(frozen=True)
class LinearHead:
    """A fitted head: ``softmax((X @ coef.T + intercept) / temperature)`` over LABELS."""

    kind: str  # "anchors" or "reviews"
    coef: FloatArray
    intercept: FloatArray
    temperature: float
    n_train: int
    quality: Mapping[str, Any] | None = None
    meta: Mapping[str, Any] | None = None  # what it was fitted on: embedding model, anchors digest

    def logits(self, X: Vectors) -> FloatArray:
        return np.asarray(X, dtype=float) @ self.coef.T + self.intercept

    def predict_proba(self, X: Vectors) -> FloatArray:
        return np.asarray(softmax(self.logits(X) / self.temperature, axis=1), dtype=float)

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "coef": self.coef.tolist(),
                "intercept": self.intercept.tolist(),
                "temperature": self.temperature,
                "n_train": self.n_train,
                "quality": self.quality,
                "meta": self.meta,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> LinearHead:
        d = json.loads(text)
        return cls(
            d["kind"], np.asarray(d["coef"], float), np.asarray(d["intercept"], float), float(d["temperature"]),
            int(d["n_train"]), d.get("quality"), d.get("meta"),
        )  # fmt: skip


def _calibrated(X: Vectors, y: NDArray[np.int64], C: float, folds: int) -> tuple[LogisticRegression, float]:
    """A logistic regression on all of ``X`` and the temperature fitted on its out-of-fold logits."""
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    model = LogisticRegression(C=C, max_iter=3000)
    oof = np.asarray(cross_val_predict(model, X, y, cv=cv, method="decision_function"), float)
    return model.fit(X, y), fit_temperature(oof, y)


def anchors_digest(anchors: Anchors) -> str:
    """A fingerprint of an anchor set: a head fitted on other anchors is stale."""
    return hashlib.blake2b(json.dumps(anchors, sort_keys=True).encode(), digest_size=12).hexdigest()


def shipped_anchor_head(model: str) -> LinearHead | None:
    """The anchor head shipped with cxlab (``anchor_head.json``), if it was fitted on this embedding model
    and on the current ``anchors.toml``; ``python -m cxlab.voice.anchor_head`` rebuilds it."""
    res = resources.files("cxlab.voice").joinpath(SHIPPED_HEAD)
    if not res.is_file():
        return None
    head = LinearHead.from_json(res.read_text(encoding="utf-8"))
    meta = head.meta or {}
    if meta.get("model") != model or meta.get("anchors") != anchors_digest(default_anchors()):
        return None
    return head


class AnchorSentiment:
    """Zero-shot head from anchor sentences (see the module docstring)."""

    def __init__(self, C: float = 1.0, folds: int = 5) -> None:
        self.C = C
        self.folds = folds

    @staticmethod
    def training_set(anchors: Anchors) -> tuple[list[str], NDArray[np.int64]]:
        """Anchor texts and their label indices; checks the labels."""
        texts: list[str] = []
        labels: list[int] = []
        for by_label in anchors.values():
            for label, sentences in by_label.items():
                if label not in LABELS:
                    raise ValueError(f"anchors: unknown label {label!r}: expected one of {', '.join(LABELS)}")
                texts += list(sentences)
                labels += [LABELS.index(label)] * len(sentences)
        if len(set(labels)) < len(LABELS):
            raise ValueError("anchors: every label needs at least one sentence")
        return texts, np.asarray(labels, np.int64)

    def fit(self, X: Vectors, y: NDArray[np.int64], meta: Mapping[str, Any] | None = None) -> AnchorSentiment:
        """Fit on the anchors' embeddings ``X`` and labels ``y``; temperature from out-of-fold logits."""
        model, temperature = _calibrated(X, y, self.C, self.folds)
        coef, intercept = np.asarray(model.coef_, float), np.asarray(model.intercept_, float)
        self.head_ = LinearHead("anchors", coef, intercept, temperature, len(y), None, meta)
        return self

    def predict_proba(self, X: Vectors) -> FloatArray:
        return self.head_.predict_proba(X)
