"""The assistant's index: every way of asking (FAQ and built-in intents, all languages) as a vector, a
character n-gram model for typing errors, and the calibrated hand-over.

Two questions are asked of every message, each answered by what worked best on the evaluation set's dev split:

* **Which intent?** Nearest neighbours: the message's best cosine to any of an intent's questions (multilingual
  e5, so a Danish message finds an intent written in English too), plus ``CHAR_WEIGHT`` × its best character
  2–4-gram TF-IDF cosine (typos and missing accents barely move n-grams), plus ``LR_WEIGHT`` × the log
  probability of a logistic regression over the intents fitted on the questions' vectors (clean and noisy). The
  regression generalises from all of an intent's questions at once, where a neighbour is one question: on dev it
  lifted Dutch from 0.85 to 0.93 right.
* **Answer or hand over?** A logistic regression on the neighbour scores alone (best, margin to the next
  intent, closeness to messages no FAQ answers) gives P(the message is one the FAQ answers rightly). It is
  fitted when the index is built, on the FAQ's own questions asked again without their own row, clean and with
  typing noise (:mod:`cxlab.assist.noise`), against ``outside.toml``'s messages, so the confidence is calibrated
  for this shop's FAQ. (The intent regression's own probability is left out of it: it is sure of itself on
  messages far from every question, so with it the hand-over of unanswerable messages fell from 0.95–1.0 to
  0.75–0.9 on dev.)

scikit-learn does the n-grams and both regressions; the neighbours are a matrix product.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import duckdb
import numpy as np
from numpy.typing import NDArray
from scipy.special import log_softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from cxlab.assist.knowledge import Entry
from cxlab.assist.noise import noisy_copy, strip_accents
from cxlab.errors import MissingData
from cxlab.progress import Progress
from cxlab.voice.embeddings import Embedder, Vectors, embed_all

TABLE = "_cxlab_assist_index"
DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
  built_at TIMESTAMP, model VARCHAR, digest VARCHAR, meta VARCHAR, arrays BLOB
)"""
CHAR_WEIGHT = 0.3
LR_WEIGHT = 0.2
#: Hand over below this P(right answer) unless ``[assist] min_confidence`` says otherwise; chosen on the
#: evaluation set's dev split (bench/assist.py).
DEFAULT_MIN_CONFIDENCE = 0.5
FEATURES = ("best", "margin", "embedding", "characters", "outside", "above_outside")
SEED = 19
EMBEDDING = "embedding the FAQ"
"""The progress step of :meth:`AssistIndex.build`."""
FloatArray = NDArray[np.float64]
SHIPPED_VECTORS = "shipped_vectors.npz"
"""Vectors of the questions that ship with cxlab (built-in intents, outside messages, clean and noisy), so an
index embeds only the shop's own FAQ; ``python -m cxlab.assist.shipped`` rebuilds it."""


@lru_cache(maxsize=2)
def shipped_vectors(model: str) -> dict[str, Vectors]:
    """Text → vector of the shipped questions, if the file was made with ``model`` (else empty)."""
    res = resources.files("cxlab.assist").joinpath(SHIPPED_VECTORS)
    if not res.is_file():
        return {}
    with res.open("rb") as f:
        npz = np.load(f, allow_pickle=False)
        if str(npz["model"]) != model:
            return {}
        return dict(zip(npz["texts"].tolist(), np.asarray(npz["vectors"], np.float32), strict=True))


def embed_cached(embedder: Embedder, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
    """Vectors of ``texts``: the shipped ones looked up, the others embedded (each distinct text once)."""
    known = shipped_vectors(embedder.name)
    todo = [t for t in dict.fromkeys(texts) if t not in known]
    fresh = dict(zip(todo, embed_all(embedder, todo, progress, EMBEDDING), strict=True))
    return np.vstack([known[t] if t in known else fresh[t] for t in texts]).astype(np.float32)


def _normalise(text: str) -> str:
    return strip_accents(text.lower())


@dataclass
class Scores:
    """A batch of questions scored against every intent."""

    intents: list[str]
    combined: FloatArray
    """Questions × intents."""
    features: FloatArray
    """Questions × :data:`FEATURES`."""
    nearest_language: list[str]
    """Per question, the language of its closest FAQ question by characters (words are a language's own;
    the multilingual vectors find the same question in any language)."""
    nearest_similarity: list[float] = field(default_factory=list)
    """Per question, its character similarity to that closest question (1: the same words)."""
    neighbour_best: list[str] = field(default_factory=list)
    """Per question, the intent of the neighbour scores alone (what the hand-over is calibrated on)."""

    @property
    def best(self) -> list[str]:
        return [self.intents[i] for i in self.combined.argmax(axis=1)]


@dataclass
class AssistIndex:
    """Vectors and metadata of every known question; ``fit`` builds it, ``score`` uses it."""

    model: str
    entries: list[Entry]
    row_intent: list[str]
    row_language: list[str]
    row_text: list[str]
    vectors: Vectors
    outside: Vectors
    intent_coef: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    """The intent regression: intents × dimensions (rows in :attr:`intents` order), and its intercepts."""
    intent_intercept: FloatArray = field(default_factory=lambda: np.zeros(0))
    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0
    built_at: str = ""
    quality: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        entries: Sequence[Entry],
        outside: dict[str, list[str]],
        embedder: Embedder,
        progress: Progress | None = None,
    ) -> AssistIndex:
        """Embed every question of ``entries`` and the ``outside`` messages, and calibrate the hand-over."""
        rows = sorted(
            ((e.id, e.language, q) for e in entries for q in e.questions), key=lambda r: (r[0], r[1])
        )
        if not rows:
            raise MissingData("the assistant needs questions: the FAQ and the built-in intents are empty")
        out_texts = [t for lang in sorted(outside) for t in outside[lang]]
        noisy_rows = [noisy_copy(r[2], SEED) for r in rows]
        noisy_out = [noisy_copy(t, SEED) for t in out_texts]
        texts = [r[2] for r in rows] + out_texts + noisy_rows + noisy_out
        vectors = embed_cached(embedder, texts, progress)
        n, m = len(rows), len(out_texts)
        index = cls(
            model=embedder.name,
            entries=list(entries),
            row_intent=[r[0] for r in rows],
            row_language=[r[1] for r in rows],
            row_text=[r[2] for r in rows],
            vectors=vectors[:n],
            outside=vectors[n : n + m],
            built_at=dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        )
        index._fit_intents(np.vstack([vectors[:n], vectors[n + m : 2 * n + m]]))
        index._calibrate(vectors, texts, n, m)
        return index

    def _fit_intents(self, X: Vectors) -> None:
        """The intent regression on every question's vector, clean then noisy (``X``: both, in row order)."""
        names = self.intents
        y = np.tile([names.index(i) for i in self.row_intent], 2)
        if len(names) < 2:
            self.intent_coef, self.intent_intercept = np.zeros((1, X.shape[1])), np.zeros(1)
            return
        model = LogisticRegression(C=10.0, max_iter=3000).fit(X, y)
        coef, intercept = np.asarray(model.coef_, float), np.asarray(model.intercept_, float)
        if len(names) == 2:  # scikit-learn's binary form: one row for the second class
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.r_[-intercept / 2, intercept / 2]
        self.intent_coef, self.intent_intercept = coef, intercept

    def _calibrate(self, vectors: Vectors, texts: list[str], n: int, m: int) -> None:
        """Fit P(right answer) on the FAQ's questions asked again (clean and noisy) without their own row,
        against the outside messages (without themselves)."""
        q_rows = np.r_[np.arange(n), np.arange(n)]  # the row each FAQ query leaves out
        faq_idx = np.r_[np.arange(n), n + m + np.arange(n)]
        out_idx = np.r_[n + np.arange(m), 2 * n + m + np.arange(m)]
        out_self = np.r_[np.arange(m), np.arange(m)]
        s_faq = self.score(vectors[faq_idx], [texts[i] for i in faq_idx], leave_row=q_rows)
        s_out = self.score(vectors[out_idx], [texts[i] for i in out_idx], leave_outside=out_self)
        truth = [self.row_intent[r] for r in q_rows]
        right = np.array([b == t for b, t in zip(s_faq.neighbour_best, truth, strict=True)], float)
        X = np.vstack([s_faq.features, s_out.features])
        y = np.r_[right, np.zeros(len(out_idx))]
        model = LogisticRegression(C=1.0, max_iter=2000).fit(X, y)
        self.coef = [float(c) for c in model.coef_[0]]
        self.intercept = float(model.intercept_[0])
        p = self.confidence(X)
        self.quality = {
            "questions": n,
            "outside": m,
            "retrieval_accuracy": float(right.mean()),
            "answered_right_at_default": float(
                ((p >= DEFAULT_MIN_CONFIDENCE) & (y == 1)).sum() / max(1, y[: 2 * n].sum())
            ),
        }

    # ------------------------------------------------------------------ scoring

    @property
    def intents(self) -> list[str]:
        return list(dict.fromkeys(self.row_intent))

    def _chars(self) -> tuple[TfidfVectorizer, Any]:
        cached = self.__dict__.get("_char_model")
        if cached is None:
            vec = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, preprocessor=_normalise
            )
            cached = (vec, vec.fit_transform(self.row_text))
            self.__dict__["_char_model"] = cached
        return cached

    def score(
        self,
        vectors: Vectors,
        texts: Sequence[str],
        *,
        parts: NDArray[np.int64] | None = None,
        leave_row: NDArray[np.int64] | None = None,
        leave_outside: NDArray[np.int64] | None = None,
    ) -> Scores:
        """Scores of questions (their vectors and texts). ``parts``: the question each vector belongs to, the
        whole question first, then its sentences: a question scores its best part per intent (the sentence
        that asks, not the story around it); the intent regression reads the whole. ``leave_row[i]``: a row
        question ``i`` may not use (itself, when calibrating), likewise ``leave_outside``."""
        vec, char_rows = self._chars()
        emb = np.asarray(vectors @ self.vectors.T, float)
        chars = np.asarray((vec.transform(list(texts)) @ char_rows.T).todense(), float)
        outside = (
            np.asarray(vectors @ self.outside.T, float) if len(self.outside) else np.zeros((len(texts), 1))
        )
        p = np.arange(len(texts))
        if leave_row is not None:
            emb[p, leave_row] = -1.0
            chars[p, leave_row] = 0.0
        if leave_outside is not None and len(self.outside):
            outside[p, leave_outside] = -1.0
        starts = np.r_[
            0, np.flatnonzero(np.asarray(self.row_intent[1:]) != np.asarray(self.row_intent[:-1])) + 1
        ]
        e_int = np.maximum.reduceat(emb, starts, axis=1)
        c_int = np.maximum.reduceat(chars, starts, axis=1)
        o_max = outside.max(axis=1)
        if parts is not None:  # each question's best part; the parts of a question are consecutive
            first = np.r_[0, np.flatnonzero(parts[1:] != parts[:-1]) + 1]
            e_int = np.maximum.reduceat(e_int, first, axis=0)
            c_int = np.maximum.reduceat(c_int, first, axis=0)
            o_max = np.maximum.reduceat(o_max, first)
            chars, vectors = chars[first], vectors[first]
        q = np.arange(len(e_int))
        neighbours = e_int + CHAR_WEIGHT * c_int
        order = np.argsort(-neighbours, axis=1)
        top = order[:, 0]
        second = order[:, 1] if neighbours.shape[1] > 1 else order[:, 0]
        best = neighbours[q, top]
        feats = np.column_stack(
            [
                best,
                best - neighbours[q, second] if neighbours.shape[1] > 1 else np.ones(len(q)),
                e_int[q, top],
                c_int[q, top],
                o_max,
                e_int[q, top] - o_max,
            ]
        )
        logits = np.asarray(vectors, float) @ self.intent_coef.T + self.intent_intercept
        combined = neighbours + LR_WEIGHT * log_softmax(logits, axis=1)
        nearest = chars.argmax(axis=1)
        names = self.intents
        return Scores(
            names,
            combined,
            feats,
            [self.row_language[i] for i in nearest],
            [float(x) for x in chars[q, nearest]],
            [names[i] for i in top],
        )

    def confidence(self, features: FloatArray) -> FloatArray:
        """Calibrated P(the best intent is the right answer) per question."""
        z = features @ np.asarray(self.coef) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), float)

    # ------------------------------------------------------------------ storing

    def digest(self) -> str:
        blob = json.dumps([asdict(e) for e in self.entries], sort_keys=True).encode()
        return hashlib.blake2b(blob, digest_size=12).hexdigest()

    def save(self, con: duckdb.DuckDBPyConnection) -> None:
        """Replace the stored index in one transaction."""
        buf = io.BytesIO()
        np.savez(
            buf,
            vectors=self.vectors,
            outside=self.outside,
            intent_coef=self.intent_coef,
            intent_intercept=self.intent_intercept,
        )
        meta = {
            "entries": [asdict(e) for e in self.entries],
            "row_intent": self.row_intent,
            "row_language": self.row_language,
            "row_text": self.row_text,
            "coef": self.coef,
            "intercept": self.intercept,
            "quality": self.quality,
        }
        con.execute("BEGIN")
        try:
            con.execute(DDL)
            con.execute(f"DELETE FROM {TABLE}")
            con.execute(
                f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)",
                [self.built_at, self.model, self.digest(), json.dumps(meta), buf.getvalue()],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> AssistIndex | None:
        """The stored index, or None when the store has none."""
        if not con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [TABLE]
        ).fetchall():
            return None
        row = con.execute(f"SELECT built_at, model, meta, arrays FROM {TABLE} LIMIT 1").fetchone()
        if row is None:
            return None
        built_at, model, meta_text, arrays = row
        meta = json.loads(meta_text)
        npz = np.load(io.BytesIO(arrays))
        return cls(
            model=model,
            entries=[Entry(**e) for e in meta["entries"]],
            row_intent=meta["row_intent"],
            row_language=meta["row_language"],
            row_text=meta["row_text"],
            vectors=np.asarray(npz["vectors"], np.float32),
            outside=np.asarray(npz["outside"], np.float32),
            intent_coef=np.asarray(npz["intent_coef"], float),
            intent_intercept=np.asarray(npz["intent_intercept"], float),
            coef=meta["coef"],
            intercept=float(meta["intercept"]),
            built_at=str(built_at),
            quality=meta.get("quality", {}),
        )
