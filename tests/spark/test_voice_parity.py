"""Voice analyses on Spark: survey scores with their intervals, the feedback texts read (language, sentiment
label and probabilities), sentiment per touchpoint and themes are the same on the Spark store as on the DuckDB
store it was exported from.

The texts are read through each engine and embedded in this process, in ``feedback_id`` order, so the themes
(k-means on the embeddings) come out identical. Embedding is the slow part (~130 texts and their clauses on
2 cores): each engine reads them once per test session (:func:`analysed_db`, :func:`analysed_spark`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cxlab.store import Store, open_store
from cxlab.voice import analyze_feedback, find_themes, score, touchpoint_sentiment
from cxlab.voice.analysis import VoiceRun
from tests.spark.conftest import Lake
from tests.spark.parity import same

ANALYSED = pytest.StashKey[tuple[Path, VoiceRun]]()


@pytest.fixture(scope="session")
def analysed_db(
    request: pytest.FixtureRequest, lake: Lake, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, VoiceRun]:
    """A copy of the demo store (DuckDB) after ``cxlab voice analyze``, and what the analysis did; made once
    per session (kept in the session's stash: the report test imports this fixture)."""
    if ANALYSED not in request.session.stash:
        out = tmp_path_factory.mktemp("voice_duck")
        for f in lake.db.parent.iterdir():
            if f.is_file() and f.name.startswith("cxlab."):
                shutil.copy(f, out / f.name)
        with Store(out / lake.db.name) as s:
            request.session.stash[ANALYSED] = (out / lake.db.name, analyze_feedback(s))
    return request.session.stash[ANALYSED]


@pytest.fixture(scope="module")
def analysed_spark(lake: Lake) -> Iterator[tuple[Any, VoiceRun]]:
    """A Spark store of the same tables whose texts were read (per process: kept in ``store.con``)."""
    pytest.importorskip("pyspark")
    with open_store(lake.spark_url) as s:  # a Spark session of its own: the shared store sees no voice_texts
        yield s, analyze_feedback(s)


@pytest.fixture(scope="module")
def duck_voice(analysed_db: tuple[Path, VoiceRun]) -> Iterator[Store]:
    with Store(analysed_db[0], read_only=True) as s:
        yield s


def _texts(store: Store) -> Any:
    return store.con.execute("SELECT * EXCLUDE (model) FROM voice_texts ORDER BY feedback_id").df()


def test_texts_are_read_the_same(
    analysed_db: tuple[Path, VoiceRun], duck_voice: Store, analysed_spark: tuple[Any, VoiceRun]
) -> None:
    spark, run = analysed_spark
    a, b = analysed_db[1].to_dict(), run.to_dict()
    a.pop("seconds"), b.pop("seconds")
    same(a, b, "analysis")
    assert run.texts > 100 and run.new_texts == run.texts  # on Spark every text is new in a new process
    texts = _texts(duck_voice)
    assert set(texts["label"]) >= {"negative", "positive"}
    same(texts, _texts(spark), "voice_texts")


def test_scores_with_intervals(duck_voice: Store, analysed_spark: tuple[Any, VoiceRun]) -> None:
    spark = analysed_spark[0]
    d, s = duck_voice.ibis(), spark.ibis()
    cases = [dict(kind=k) for k in ("nps", "csat", "ces")] + [
        dict(kind="nps", by="touchpoint"),
        dict(kind="nps", period="month", merge="latest"),
        dict(kind="csat", by="country"),
    ]
    for case in cases:
        expected = score(d, config=duck_voice.config, **case).to_dict()  # type: ignore[arg-type]
        same(expected, score(s, config=spark.config, **case).to_dict(), str(case))  # type: ignore[arg-type]
    nps = score(d, "nps").table.iloc[0]
    assert nps["n"] >= 10 and nps["ci_low"] < nps["score"] < nps["ci_high"]
    assert nps["comments"] > 0  # the comments read by the analysis are counted on both engines


def test_sentiment_per_touchpoint(duck_voice: Store, analysed_spark: tuple[Any, VoiceRun]) -> None:
    expected = touchpoint_sentiment(duck_voice.ibis())
    got = touchpoint_sentiment(analysed_spark[0].ibis())
    assert expected is not None and got is not None and len(expected.table) >= 2
    same(expected.to_dict(), got.to_dict(), "sentiment")


def test_themes(duck_voice: Store, analysed_spark: tuple[Any, VoiceRun]) -> None:
    expected, got = find_themes(duck_voice), find_themes(analysed_spark[0])
    assert len(expected.table) >= 2 and expected.n_texts > 100
    same(expected.to_dict(), got.to_dict(), "themes")
    same(expected.assignments, got.assignments, "assignments")
