"""The emotional layer in the journey: the sentiment column of the map and the ``negative_sentiment`` finding
of the strengths & weaknesses analysis, from labelled feedback texts (``voice_texts``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from cxlab.journey.journey_map import journey_map
from cxlab.journey.swot import swot
from cxlab.store import Store
from cxlab.voice.tables import ensure_tables
from tests.journey.conftest import T0, Rows

TOUCHPOINTS = {"delivery": 0.45, "unboxing": 0.12, "product": 0.10, "customer_service": 0.11, "returns": 0.13}


def _labelled(store: Store, n: int = 200, seed: int = 3) -> None:
    """``n`` feedback texts per touchpoint with negative shares as in TOUCHPOINTS; labels stored directly."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for tp, share in TOUCHPOINTS.items():
        for i in range(n):
            fid = f"{tp}-{i:04d}"
            rows.append((fid, f"c{i % 50}", tp))
            labels.append((fid, "negative" if rng.random() < share else "positive"))
    fb = pa.table(
        {
            "feedback_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "ts": pa.array([T0] * len(rows), pa.timestamp("us")),
            "source": ["ticket"] * len(rows),
            "touchpoint": [r[2] for r in rows],
            "text": ["…"] * len(rows),
        }
    )
    store.ingest("feedback", fb)
    ensure_tables(store.con)
    lab = pd.DataFrame(labels, columns=["feedback_id", "label"])
    lab["p_negative"] = np.where(lab["label"] == "negative", 0.9, 0.1)
    lab["p_positive"] = 1 - lab["p_negative"]
    store.con.register("_lab", lab)
    store.con.execute(
        "INSERT INTO voice_texts SELECT feedback_id, NULL, 'en', label, p_negative, 0.0, p_positive, 'test', 'test' FROM _lab"
    )


def _events() -> Rows:
    rows = []
    for i in range(50):
        p = f"c{i}"
        rows += [
            (p, 0, "page_view", "site"),
            (p, 1, "purchase", "checkout"),
            (p, 50, "delivered", "delivery"),
        ]
    return rows


def test_negative_touchpoint_is_a_sentiment_weakness_with_evidence(
    make_store: Callable[[Rows], Store],
) -> None:
    store = make_store(_events())
    before = swot(store.ibis(), store.config)
    assert "negative_sentiment" not in set(before.table["metric"])  # nothing analysed yet
    _labelled(store)
    res = swot(store.ibis(), store.config, evidence={"delivery": ["late · parcel · waiting (40 texts)"]})
    w = res.weaknesses
    sent = w[w["metric"] == "negative_sentiment"]
    assert list(sent["name"]) == ["delivery"]
    item = next(i for i in res.to_dict()["weaknesses"] if i["metric"] == "negative_sentiment")
    assert item["evidence"] == ["late · parcel · waiting (40 texts)"]
    assert "top complaints: late · parcel · waiting (40 texts)" in item["sentence"]
    assert item["peer_value"] < item["value"] and item["ci"][0] > 0


def test_journey_map_sentiment_column(make_store: Callable[[Rows], Store]) -> None:
    store = make_store(_events())
    assert journey_map(store.ibis(), store.config).table["sentiment"].isna().all()
    _labelled(store)
    t = journey_map(store.ibis(), store.config).table.set_index("touchpoint")
    assert t.loc["delivery", "sentiment"] < 0.5  # 45% negative: 0.1·0.55+0.9·0.45 … net = mean(p+ − p−)
    raw = store.con.execute(
        "SELECT avg(p_positive - p_negative) FROM voice_texts JOIN feedback USING (feedback_id) WHERE touchpoint = 'delivery'"
    ).fetchall()[0][0]
    assert t.loc["delivery", "sentiment"] == raw
    assert np.isnan(t.loc["site", "sentiment"])  # no feedback about the site
