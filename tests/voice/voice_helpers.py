"""Feedback rows for voice tests (a small store built from explicit answers), and the hand-labelled review set
with the accuracy measures that the tests and ``bench/voice_accuracy.py`` share."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.store import Store

LABELLED_REVIEWS = Path(__file__).parent / "data" / "labelled_reviews.csv"


def feedback_frame(
    source: str,
    scores: Sequence[float],
    start: str = "2025-01-06",
    touchpoints: Sequence[str] | None = None,
    customers: Sequence[str] | None = None,
    texts: Sequence[str | None] | None = None,
    languages: Sequence[str | None] | None = None,
    days: Sequence[int] | None = None,
    prefix: str = "F",
) -> pd.DataFrame:
    n = len(scores)
    ts = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(
        np.asarray(days if days is not None else np.arange(n) % 60), unit="D"
    )
    return pd.DataFrame(
        {
            "feedback_id": [f"{prefix}{i:06d}" for i in range(n)],
            "customer_id": list(customers) if customers is not None else [f"C{i:06d}" for i in range(n)],
            "ts": ts,
            "source": source,
            "touchpoint": list(touchpoints) if touchpoints is not None else ["nps_survey"] * n,
            "score": np.asarray(scores, dtype=float),
            "text": list(texts) if texts is not None else [None] * n,
            "language": list(languages) if languages is not None else [None] * n,
            "order_id": None,
        }
    )


def load(store: Store, frame: pd.DataFrame) -> None:
    store.ingest("feedback", frame, name="test feedback")


STORIES = Path(__file__).parent / "data" / "stories"
STORY_KINDS = ("recovery", "litotes", "rhetorical")
"""The shapes of ``data/stories``: a problem solved or not, understatement, a rhetorical question."""


def labelled_reviews(stories: bool = False) -> pd.DataFrame:
    """The hand-labelled review set (``data/README.md``): id, language, split, label, kind, text; with
    ``stories``, also the texts of ``data/stories/<language>.csv`` (kinds recovery, litotes, rhetorical,
    balanced)."""
    d = pd.read_csv(LABELLED_REVIEWS, keep_default_na=False)
    if not stories:
        return d
    more = [pd.read_csv(f, keep_default_na=False) for f in sorted(STORIES.glob("*.csv"))]
    return pd.concat([d, *more], ignore_index=True)


def polar_accuracy(d: pd.DataFrame, proba: np.ndarray) -> dict[str, float]:
    """Positive-vs-negative accuracy per language on the rows of ``d`` labelled positive or negative: the
    prediction is whichever of p(positive) and p(negative) is larger (columns 2 and 0 of ``proba``)."""
    pred = np.where(proba[:, 2] > proba[:, 0], "positive", "negative")
    polar = d["label"] != "neutral"
    hit = pd.Series(pred == d["label"].to_numpy())[polar.to_numpy()]
    return hit.groupby(d["language"].to_numpy()[polar.to_numpy()]).mean().to_dict()


def three_way_accuracy(d: pd.DataFrame, proba: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Accuracy per language over all rows of ``d``, the prediction being the most probable of ``labels``."""
    pred = np.asarray(labels)[proba.argmax(axis=1)]
    return pd.Series(pred == d["label"].to_numpy()).groupby(d["language"].to_numpy()).mean().to_dict()
