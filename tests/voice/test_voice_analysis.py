"""The incremental voice pipeline on a small store: languages, embeddings once per text, sentiment, hostile
input that must not break anything."""

from __future__ import annotations

import numpy as np
import pandas as pd
from voice_helpers import feedback_frame, load

from cxlab.store import Store
from cxlab.voice.analysis import analyze_feedback
from cxlab.voice.emotion import touchpoint_sentiment
from cxlab.voice.reading import split, units
from cxlab.voice.text import clean_text

TEXTS = [
    ("Snel geleverd en alles netjes ingepakt, heel tevreden!", "nl", "delivery", 5),
    ("Het pakket is na drie weken nog steeds niet bezorgd. Belachelijk.", "nl", "delivery", 1),
    ("De jas is van prima kwaliteit en zit als gegoten.", "nl", "product", 5),
    ("Klantenservice reageert niet op mijn mails, erg slecht.", "nl", "customer_service", 1),
    ("Levering til tiden og en venlig chauffør, tak!", "da", "delivery", 5),
    ("Pakken kom aldrig frem, og ingen svarer i kundeservice.", "da", "delivery", 1),
    ("Rigtig god kvalitet, jeg er meget glad for sweateren.", "da", "product", 4),
    ("Returneringen var besværlig og pengene er ikke kommet.", "da", "returns", 2),
    ("Arrived early and beautifully packed, thank you!", "en", "delivery", 5),
    ("Still no refund after a month, really poor service.", "en", "returns", 1),
    ("The lamp broke after two days, cheap rubbish.", "en", "product", 1),
    ("Lovely soft fabric, fits perfectly.", "en", "product", 5),
]
HOSTILE = [
    "<script>alert('x')</script> great shop",
    "x" * 1_000_000,
    "bad\x00\x07\x1b[2J service\u202e",
    "Отлично 😀 مرحبا good",
    "   ",
]


def _fill(store: Store) -> pd.DataFrame:
    f = feedback_frame(
        "review",
        [s for *_, s in TEXTS] + [3] * len(HOSTILE),
        texts=[t for t, *_ in TEXTS] + HOSTILE,
        languages=[None] * (len(TEXTS) + len(HOSTILE)),
        touchpoints=[tp for _, _, tp, _ in TEXTS] + ["site"] * len(HOSTILE),
    )
    load(store, f)
    return f


def test_analyze_labels_every_text_once_and_reruns_cheaply(store: Store) -> None:
    _fill(store)
    first = analyze_feedback(store)
    assert first.new_texts == len(TEXTS) + len(HOSTILE)
    assert first.head == "anchors"  # 17 reviews are far too few for a head of the shop's own
    # every distinct non-empty text embedded once (the whitespace-only one has nothing to embed)
    assert first.embedded == len(TEXTS) + len(HOSTILE) - 1
    got = store.con.execute(
        "SELECT feedback_id, language, label, p_negative + p_neutral + p_positive FROM voice_texts ORDER BY 1"
    ).df()
    assert len(got) == len(TEXTS) + len(HOSTILE)
    labelled = got.iloc[: len(TEXTS)]
    assert list(labelled["language"]) == [lang for _, lang, *_ in TEXTS]
    assert np.allclose(labelled.iloc[:, 3], 1.0)
    expected = ["positive" if s >= 4 else "negative" for *_, s in TEXTS]
    assert (labelled["label"] == expected).mean() >= 11 / 12
    assert pd.isna(got.iloc[-1]["label"])  # whitespace only: nothing to label

    again = analyze_feedback(store)
    assert (again.new_texts, again.embedded) == (0, 0)

    more = feedback_frame(
        "ticket", [np.nan, np.nan], texts=[TEXTS[0][0], "Waar blijft mijn bestelling?"], prefix="G"
    )
    load(store, more)
    third = analyze_feedback(store)
    assert third.new_texts == 2 and third.embedded == 1  # the repeated text reuses its stored vector
    ((n,),) = store.con.execute("SELECT count(*) FROM voice_embeddings").fetchall()
    ((anchors,),) = store.con.execute("SELECT count(*) FROM voice_texts WHERE head = 'anchors'").fetchall()
    # one vector per distinct text and per distinct clause of a text of several clauses, each stored once
    rows = store.con.execute(
        "SELECT f.text, v.language FROM voice_texts v JOIN feedback f USING (feedback_id)"
    ).df()
    clean = [clean_text(t) for t in rows["text"]]
    readable = [(t, lang) for t, lang in zip(clean, rows["language"], strict=True) if t]
    parts = split([t for t, _ in readable], [lang for _, lang in readable])
    assert n == len({t for t, _ in readable} | set(units([t for t, _ in readable], parts)))
    ((distinct,),) = store.con.execute("SELECT count(DISTINCT text_hash) FROM voice_embeddings").fetchall()
    assert distinct == n
    assert anchors == len(TEXTS) + len(HOSTILE) - 1 + 2


def test_touchpoint_sentiment_counts(store: Store) -> None:
    _fill(store)
    assert touchpoint_sentiment(store.ibis()) is None  # before analysis
    analyze_feedback(store)
    res = touchpoint_sentiment(store.ibis())
    assert res is not None
    t = res.table.set_index("touchpoint")
    assert t.loc["delivery", "texts"] == sum(tp == "delivery" for _, _, tp, _ in TEXTS) == 5
    assert t.loc["delivery", "negative"] + t.loc["delivery", "positive"] <= 5
    assert (t["ci_low"] <= t["negative_share"]).all() and (t["negative_share"] <= t["ci_high"]).all()
    assert "most negative" in res.summary()
