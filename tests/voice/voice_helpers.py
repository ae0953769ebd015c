"""Feedback rows for voice tests: a small store built from explicit answers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxlab.store import Store


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
