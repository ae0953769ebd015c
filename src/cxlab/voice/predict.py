"""Sentiment of texts given directly (``cxlab voice sentiment --text/--file``), outside the store pipeline.

Uses the shop's own head when the store has one (trained by ``cxlab voice analyze``), else the shipped
zero-shot anchor head; languages are detected among the shop's languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cxlab.config import Config
from cxlab.progress import Progress
from cxlab.store import Store
from cxlab.voice.anchor_head import fit_anchor_head
from cxlab.voice.embeddings import Embedder, embed_all, get_embedder
from cxlab.voice.language import detect_languages
from cxlab.voice.reading import labeller, read, split
from cxlab.voice.sentiment import LABELS, MIXED, shipped_anchor_head
from cxlab.voice.settings import voice_settings
from cxlab.voice.shop_head import ShopHead
from cxlab.voice.tables import stored_shop_head
from cxlab.voice.text import clean_text, has_words


@dataclass(frozen=True)
class TextSentiment:
    """One text's language, label and probability per label, and which head labelled it."""

    language: str | None
    label: str | None
    """negative, neutral, positive or mixed; None for a text without words (``....``): no sentiment to read."""
    scores: dict[str, float]
    head: str


def _shop_head(embedder: Embedder, db: Path | None) -> ShopHead | None:
    if db is None:
        return None
    with Store(db, read_only=True) as store:
        return stored_shop_head(store.con, embedder.name)


def classify_texts(
    texts: Sequence[str], config: Config, db: Path | None = None, progress: Progress | None = None
) -> list[TextSentiment]:
    """Language, sentiment label and probabilities of each text, in input order (an empty or wordless text gets
    none: label None); ``progress`` is told ``("reading texts", strings embedded, strings to embed)``."""
    clean = [clean_text(t) for t in texts]
    readable = [i for i, t in enumerate(clean) if has_words(t)]
    out = [TextSentiment(None, None, {}, "none") for _ in clean]  # "", "....", "???": nothing to read
    if not readable:
        return out
    settings = voice_settings(config)
    embedder = get_embedder(settings.embedder)
    anchors = shipped_anchor_head(embedder.name) or fit_anchor_head(embedder)
    shop = _shop_head(embedder, db)
    texts_ = [clean[i] for i in readable]
    languages = detect_languages(texts_, config.shop.languages)
    reading = read(
        texts_,
        split(texts_, languages),
        lambda units: embed_all(embedder, units, progress, "reading texts"),
        labeller(anchors, shop),
        whole=False,
        languages=languages,
    )
    proba, mixed = reading.proba, reading.mixed()
    for j, (i, lang, p) in enumerate(zip(readable, languages, proba, strict=True)):
        out[i] = TextSentiment(
            lang,
            MIXED if mixed[j] else LABELS[int(p.argmax())],
            {label: round(float(x), 6) for label, x in zip(LABELS, p, strict=True)},
            (shop or anchors).kind,
        )
    return out
