"""Real-shape voice data: a review export with junk rows ("....", "!!!", emoji only, one letter 5,000 times,
two languages in one text) next to real Dutch, Danish and English reviews, loaded through ``cxlab ingest``.
Every voice command still runs and accounts for every text (issue 12, point 11: ``voice themes`` crashed with
``'<' not supported between 'float' and 'str'`` when a text had no detectable language)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.store import Store
from tests.realshape.shapes import cli_json

REVIEWS = Path(__file__).parents[1] / "voice" / "data" / "themes_multilingual.csv"
JUNK = ["....", "!!!", "😀😀😀 👍", "a" * 5000, "Great product, men leveringen var alt for langsom"]
NPS = [10, 9, 9, 8, 7, 6, 3, 0, 10, 9]  # 5 promoters, 2 detractors… of 10: NPS = 100 * (5 - 3) / 10
NPS_TEXTS = [JUNK[i % len(JUNK)] for i in range(len(NPS))]
NO_WORDS = {"....", "!!!"}
"""The texts without a letter or emoji: stored, but no sentiment or theme."""
JUNK_READ = sum(t not in NO_WORDS for t in JUNK)
NPS_READ = sum(t not in NO_WORDS for t in NPS_TEXTS)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("junk")
    texts = pd.read_csv(REVIEWS)
    rows = [
        {"feedback_id": f"R{i:03d}", "ts": f"2025-03-{1 + i % 28:02d} 10:00", "source": "review",
         "touchpoint": "delivery", "score": None, "text": t, "language": lang}
        for i, (t, lang) in enumerate(zip(texts["text"], texts["language"], strict=True))
    ]  # fmt: skip
    rows += [
        {"feedback_id": f"J{i}", "ts": "2025-03-29 12:00", "source": "review", "touchpoint": "delivery",
         "score": 1, "text": t, "language": None}
        for i, t in enumerate(JUNK)
    ]  # fmt: skip
    rows += [
        {"feedback_id": f"N{i}", "ts": "2025-03-30 09:00", "source": "nps", "touchpoint": "nps_survey",
         "score": s, "text": NPS_TEXTS[i], "language": None}
        for i, s in enumerate(NPS)
    ]  # fmt: skip
    path = folder / "reviews.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    store = folder / "cxlab.duckdb"
    r = CliRunner().invoke(app, ["ingest", "feedback", str(path), "--db", str(store)])
    assert r.exit_code == 0, r.output
    return store


def test_analyze_keeps_every_junk_text(db: Path) -> None:
    run = cli_json("voice", "analyze", "--db", str(db))
    assert isinstance(run, dict)
    n = len(pd.read_csv(REVIEWS)) + len(JUNK) + len(NPS)
    assert run["texts"] == n
    assert run["wordless"] == len(JUNK) - JUNK_READ + len(NPS) - NPS_READ  # "....", "!!!": nothing to read
    with Store(db, read_only=True) as s:
        rows = s.con.execute(
            "SELECT f.text, v.language, v.label FROM voice_texts v JOIN feedback f USING (feedback_id) "
            "WHERE f.feedback_id LIKE 'J%'"
        ).df()
    labels = rows.set_index("text")["label"]
    assert labels[["....", "!!!"]].isna().all()  # no words: no sentiment, so they can't skew the results
    assert labels.drop(["....", "!!!"]).notna().all()  # emoji, one letter 5,000 times, mixed: read
    assert pd.isna(rows.set_index("text").loc["....", "language"])


def test_themes_run_with_texts_without_a_language(db: Path) -> None:
    doc = cli_json("voice", "themes", "--db", str(db))
    assert isinstance(doc, dict)
    assert doc["n_texts"] == len(pd.read_csv(REVIEWS)) + JUNK_READ + NPS_READ
    assert doc["themes"] and sum(t["size"] for t in doc["themes"]) <= doc["n_texts"]
    for t in doc["themes"]:
        assert all(isinstance(k, str) for k in t["keywords"])  # "" for texts without a language, never NaN


def test_nps_counts_answers_whatever_their_text(db: Path) -> None:
    doc = cli_json("voice", "nps", "--db", str(db))
    assert isinstance(doc, dict)
    (row,) = doc["rows"]
    promoters, detractors = sum(s >= 9 for s in NPS), sum(s <= 6 for s in NPS)
    assert row["n"] == len(NPS)
    assert row["score"] == pytest.approx(100 * (promoters - detractors) / len(NPS))


def test_sentiment_per_touchpoint_counts_every_text(db: Path) -> None:
    doc = cli_json("voice", "sentiment", "--db", str(db))
    assert isinstance(doc, dict)
    by = {t["touchpoint"]: t["texts"] for t in doc["touchpoints"]}
    assert by == {"delivery": len(pd.read_csv(REVIEWS)) + JUNK_READ, "nps_survey": NPS_READ}


@pytest.mark.parametrize("text", ["....", "!!!", "???"])
def test_a_text_without_words_gets_no_sentiment(text: str, tmp_path: Path) -> None:
    doc = cli_json("voice", "sentiment", "--text", text, "--db", str(tmp_path / "none.duckdb"))
    assert doc == {"language": None, "label": None, "scores": {}}


def test_emoji_only_is_read(tmp_path: Path) -> None:
    doc = cli_json("voice", "sentiment", "--text", "😀😀😀", "--db", str(tmp_path / "none.duckdb"))
    assert doc["language"] is None and sum(doc["scores"].values()) == pytest.approx(1.0, abs=1e-5)
