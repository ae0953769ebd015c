"""The voice report sections: each stands alone, says what is missing, and never lets customer text through
as markup (table cells are plain text the report escapes; figure labels are escaped before Plotly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from voice_helpers import feedback_frame, load

from cxlab.errors import MissingData
from cxlab.report.html import render_report
from cxlab.store import Store
from cxlab.voice.analysis import analyze_feedback
from cxlab.voice.report import SECTIONS, scores_section, sentiment_section, themes_section

DATA = Path(__file__).parent / "data" / "themes_multilingual.csv"
ATTACK = "<img src=x onerror=alert(1)>"
TOUCHPOINT = "<b>delivery</b>"


def test_sections_without_feedback_say_what_is_missing(store: Store) -> None:
    for make in SECTIONS:
        with pytest.raises(MissingData):
            make(store)


def test_scores_run_before_voice_analyze_and_texts_wait_for_it(store: Store) -> None:
    load(store, feedback_frame("nps", [10, 9, 8, 3, 10, 0]))
    sec = scores_section(store)  # 3 promoters, 2 detractors of 6: NPS 16.7
    assert sec.table is not None and list(sec.table["score"]) == ["NPS"]
    assert sec.table["value"].iloc[0] == "17"
    assert sec.summary.startswith("NPS is 17: 50% promoters, 33% detractors (6 answers; too few answers")
    for make in (sentiment_section, themes_section):
        with pytest.raises(MissingData, match="cxlab voice analyze"):
            make(store)


def test_customer_text_is_escaped_in_cells_and_figures(store: Store, tmp_path: Path) -> None:
    texts = pd.read_csv(DATA)
    n = len(texts)
    f = feedback_frame(
        "ticket", [np.nan] * n, texts=[f"{t} {ATTACK}" for t in texts["text"]],
        languages=texts["language"].tolist(), touchpoints=[TOUCHPOINT] * n, days=list(np.arange(n) % 28),
    )  # fmt: skip
    load(store, f)
    analyze_feedback(store)
    sentiment, themes = sentiment_section(store), themes_section(store)
    assert sentiment.table is not None and themes.table is not None
    assert list(sentiment.table["touchpoint"]) == [TOUCHPOINT]  # plain value: the report escapes cells
    assert all(ATTACK in q for q in themes.table["example"])
    assert list(sentiment.figures[0].data[0].y) == ["&lt;b&gt;delivery&lt;/b&gt;"]  # Plotly shows HTML
    html = render_report([sentiment, themes], tmp_path / "r.html").read_text(encoding="utf-8")
    assert ATTACK not in html and TOUCHPOINT not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
