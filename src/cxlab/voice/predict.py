"""Sentiment of texts given directly (``cxlab voice sentiment --text/--file``), outside the store pipeline.

Uses the shop's own head when the store has one (trained by ``cxlab voice analyze``), else the shipped
zero-shot anchor head; languages are detected among the shop's languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cxlab.config import Config
from cxlab.store import Store
from cxlab.voice.anchor_head import fit_anchor_head
from cxlab.voice.embeddings import Embedder, get_embedder
from cxlab.voice.language import detect_languages
from cxlab.voice.sentiment import LABELS, LinearHead, shipped_anchor_head
from cxlab.voice.settings import voice_settings
from cxlab.voice.tables import latest_head
from cxlab.voice.text import clean_text, has_words


@dataclass(frozen=True)
class TextSentiment:
    """One text's language, label and probability per label, and which head labelled it."""

    language: str | None
    label: str | None
    """None for a text without words (``....``): no sentiment to read."""
    scores: dict[str, float]
    head: str


def _head(embedder: Embedder, db: Path | None) -> LinearHead:
    if db is not None:
        with Store(db, read_only=True) as store:
            own = latest_head(store.con, embedder.name, "reviews")
        if own is not None:
            return own
    return shipped_anchor_head(embedder.name) or fit_anchor_head(embedder)


def classify_texts(texts: Sequence[str], config: Config, db: Path | None = None) -> list[TextSentiment]:
    """Language, sentiment label and probabilities of each text, in input order."""
    clean = [clean_text(t) for t in texts]
    for i, t in enumerate(clean):
        if not t:
            raise ValueError(f"text {i + 1}: empty (nothing left after removing control characters)")
    readable = [i for i, t in enumerate(clean) if has_words(t)]
    out = [TextSentiment(None, None, {}, "none") for _ in clean]  # "....", "???": nothing to read
    if not readable:
        return out
    settings = voice_settings(config)
    embedder = get_embedder(settings.embedder)
    head = _head(embedder, db)
    texts_ = [clean[i] for i in readable]
    languages = detect_languages(texts_, config.shop.languages)
    proba = head.predict_proba(embedder.embed(texts_))
    for i, lang, p in zip(readable, languages, proba, strict=True):
        out[i] = TextSentiment(
            lang,
            LABELS[int(p.argmax())],
            {label: round(float(x), 6) for label, x in zip(LABELS, p, strict=True)},
            head.kind,
        )
    return out
