"""Sentiment of whole texts read clause by clause (:mod:`cxlab.voice.clauses`), and each text's vector.

Every clause is embedded and labelled by the head on its own; the text's probabilities are the clauses'
probabilities averaged with discourse weights (the outcome of a story and what follows a "but" count more, a
concession and what precedes a "but" less, the last sentence more) and a little for length, so one word of
thanks at the end doesn't drown a paragraph. A text whose clauses are clearly positive and clearly negative
while the weighted verdict stays close is **mixed**, reported apart from neutral and from the two poles.

The text's own vector (themes, the shop-trained head) is the embedding of the whole (windowed) text: a mean of
clause vectors loses what ties the clauses together and clusters worse (adjusted Rand index 0.53 against 0.64 on
``tests/voice/data/themes_multilingual.csv``). So where text vectors are needed (``voice analyze``: themes and the
shop's own head) a text of several clauses costs two passes of the engine, one over the text and one over its
clauses; sentiment alone costs one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cxlab.voice.clauses import Clause, Role, clauses, windowed
from cxlab.voice.embeddings import Vectors
from cxlab.voice.sentiment import LinearHead
from cxlab.voice.shop_head import ShopHead

#: Weight of a clause by its discourse role. These and LAST_SENTENCE were chosen on the ``dev`` split of the
#: hand-labelled texts (``tests/voice/data``), by grid search; the ``test`` split measures them.
ROLE_WEIGHT: dict[Role, float] = {
    "plain": 1.0,
    "before_turn": 0.3,
    "after_turn": 2.0,
    "outcome": 3.0,
    "concession": 0.3,
}
#: Extra weight of the clauses in a text's last sentence (where the verdict usually is).
LAST_SENTENCE = 2.5
#: A text is mixed when one clause is at least this positive and another at least this negative…
MIXED_CLAUSE = 0.6
#: … and the weighted verdict leans by less than this (P(positive) − P(negative), absolute).
MIXED_MARGIN = 0.4

FloatArray = NDArray[np.float64]
Labeller = Callable[[Vectors, list[str], list[str | None]], FloatArray]
"""Labels strings (clauses or texts) from their vectors, the strings themselves and their languages."""


def labeller(anchors: LinearHead, shop: ShopHead | None = None) -> Labeller:
    """The zero-shot ``anchors`` head, or the shop's own head with the zero-shot probabilities as its prior:
    either way a clause is labelled on its own, so a shop's head reads stories clause by clause too."""

    def label(V: Vectors, strings: list[str], languages: list[str | None]) -> FloatArray:
        prior = anchors.predict_proba(V)
        return prior if shop is None else shop.predict_proba(V, strings, languages, prior)

    return label


@dataclass(frozen=True)
class Reading:
    """Per text: probabilities over (negative, neutral, positive), its most positive and most negative clause's
    probability, and its vector."""

    proba: FloatArray
    extremes: FloatArray
    """(n, 2): the largest P(positive) and the largest P(negative) among the text's clauses."""
    vectors: Vectors | None
    """(n, d): each text's own vector; None when read without ``whole``."""

    def mixed(self, proba: FloatArray | None = None) -> NDArray[np.bool_]:
        """Which texts are mixed: a clearly positive and a clearly negative clause, and a verdict (``proba``,
        default this reading's) that leans by less than :data:`MIXED_MARGIN`."""
        p = self.proba if proba is None else proba
        return (
            (self.extremes[:, 0] >= MIXED_CLAUSE)
            & (self.extremes[:, 1] >= MIXED_CLAUSE)
            & (np.abs(p[:, 2] - p[:, 0]) < MIXED_MARGIN)
        )


def clause_weights(parts: Sequence[Clause]) -> FloatArray:
    """Each clause's weight: role × last-sentence bonus × √words (capped at 12 words)."""
    words = np.array([min(len(c.text.split()), 12) for c in parts], dtype=float)
    role = np.array([ROLE_WEIGHT[c.role] for c in parts])
    last = np.where([c.last for c in parts], LAST_SENTENCE, 1.0)
    return role * last * np.sqrt(np.maximum(words, 1.0))


def combine(proba: FloatArray, weights: FloatArray) -> FloatArray:
    """A text's probabilities: its clauses' (rows of ``proba``) averaged with ``weights``."""
    return np.asarray((weights[:, None] * proba).sum(axis=0) / weights.sum(), dtype=float)


def split(texts: Sequence[str], languages: Sequence[str | None]) -> list[list[Clause]]:
    """The clauses of each text (see :func:`cxlab.voice.clauses.clauses`)."""
    return [clauses(t, lang) for t, lang in zip(texts, languages, strict=True)]


def units(texts: Sequence[str], parts: Sequence[Sequence[Clause]], whole: bool = True) -> list[str]:
    """The distinct strings to embed, in first-seen order: each text of one clause (windowed when long); for a
    text of several clauses, its clauses and, with ``whole``, the text itself."""
    out: dict[str, None] = {}
    for t, ps in zip(texts, parts, strict=True):
        if len(ps) == 1 or whole:
            out[windowed(t)] = None
        if len(ps) > 1:
            out.update(dict.fromkeys(c.text for c in ps))
    return list(out)


def read(
    texts: Sequence[str],
    parts: Sequence[Sequence[Clause]],
    vectors: Callable[[list[str]], Vectors],
    label: Labeller,
    whole: bool = True,
    languages: Sequence[str | None] | None = None,
) -> Reading:
    """Read ``texts`` split into ``parts``: ``vectors`` embeds strings (e.g. through the store's cache),
    ``label`` labels each string in the language (``languages``, per text) of the first text it comes from.
    Without ``whole`` the texts of several clauses are not embedded as a whole (sentiment alone doesn't need
    it) and the reading has no ``vectors``."""
    unit_list = units(texts, parts, whole)
    n = len(parts)
    if not unit_list:
        return Reading(np.empty((n, 3)), np.zeros((n, 2)), np.empty((n, 0), np.float32) if whole else None)
    index = {u: i for i, u in enumerate(unit_list)}
    unit_language: dict[str, str | None] = {}
    for t, ps, lang in zip(texts, parts, languages or [None] * len(texts), strict=True):
        for u in [windowed(t), *(c.text for c in ps)]:
            unit_language.setdefault(u, lang)
    V = vectors(unit_list)
    P = label(V, unit_list, [unit_language[u] for u in unit_list])
    out = np.empty((n, P.shape[1]))
    extremes = np.zeros((n, 2))
    for i, (t, ps) in enumerate(zip(texts, parts, strict=True)):
        if len(ps) == 1:
            out[i] = P[index[windowed(t)]]
            continue
        rows = [index[c.text] for c in ps]
        out[i] = combine(P[rows], clause_weights(ps))
        extremes[i] = (P[rows, 2].max(), P[rows, 0].max())
    return Reading(out, extremes, V[[index[windowed(t)] for t in texts]] if whole else None)
