"""Fit the zero-shot anchor head and ship it: ``python -m cxlab.voice.anchor_head``.

Embedding the anchor sentences takes seconds; shipping the fitted head (a few thousand numbers, JSON) makes
``cxlab voice sentiment --text`` answer at once. The head records the embedding model and a digest of
``anchors.toml``; :func:`cxlab.voice.sentiment.shipped_anchor_head` ignores it when either changed, and a
test checks the shipped file is what a fresh fit gives.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cxlab.voice.embeddings import Embedder, Vectors, get_embedder
from cxlab.voice.sentiment import SHIPPED_HEAD, AnchorSentiment, LinearHead, anchors_digest, default_anchors
from cxlab.voice.text import clean_text


def fit_anchor_head(embedder: Embedder, embed: Callable[[list[str]], Vectors] | None = None) -> LinearHead:
    """A fresh fit of the anchor head on the current ``anchors.toml``; ``embed`` (default: ``embedder``'s
    own) turns the cleaned anchors into vectors, e.g. through the store's embedding cache."""
    anchors = default_anchors()
    texts, y = AnchorSentiment.training_set(anchors)
    X = (embed or embedder.embed)([clean_text(t) for t in texts])
    meta = {"model": embedder.name, "anchors": anchors_digest(anchors)}
    return AnchorSentiment().fit(X, y, meta).head_


def main() -> None:
    head = fit_anchor_head(get_embedder())
    path = Path(__file__).with_name(SHIPPED_HEAD)
    path.write_text(head.to_json() + "\n", encoding="utf-8")
    print(f"wrote {path} ({head.n_train} anchors, temperature {head.temperature:.3f})")


if __name__ == "__main__":
    main()
