"""``analyze_feedback``: bring the voice tables up to date with the feedback table, doing only what is new.

New feedback texts are cleaned, their language settled (the row's own ``language`` when it is one of the
shop's, else lingua with the customer's language as the fallback), embedded (only texts never embedded
before) and labelled. The sentiment head is the shop's own (trained on its star-rated reviews) when there are
enough, else the zero-shot anchor head; it is refitted only when the reviews it learned from changed by more
than ``REFIT_GROWTH``, and then every text is relabelled (cheap: the embeddings are stored).

The feedback is read through the store's engine (``store.ibis()``: DuckDB or Spark); texts are embedded and
labelled in this process, in ``feedback_id`` order, so both engines give the same results. On Spark the voice
tables last as long as the open store (:mod:`cxlab.voice.tables`): :func:`ensure_analysed` reads the texts
once per store for the analyses that need them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cxlab.display import pct
from cxlab.progress import Progress
from cxlab.store import Store
from cxlab.voice.anchor_head import fit_anchor_head
from cxlab.voice.embeddings import Embedder, get_embedder
from cxlab.voice.language import detect_languages
from cxlab.voice.reading import Labeller, Reading, labeller, read, split
from cxlab.voice.sentiment import LABELS, MIXED, LinearHead, shipped_anchor_head
from cxlab.voice.settings import voice_settings
from cxlab.voice.shop_head import ShopHead, ShopSentiment
from cxlab.voice.tables import (
    ensure_tables,
    has_table,
    missing_hashes,
    per_process,
    publish,
    put_vectors,
    registered,
    stored_shop_head,
    stored_vectors,
    texts_with_feedback,
)
from cxlab.voice.text import clean_text, has_words, text_hash

#: Refit the review head when the number of rated reviews moved by more than this share.
REFIT_GROWTH = 0.05
READING = "reading feedback texts and their clauses"
"""What ``analyze_feedback`` reports to its progress callback: distinct new strings embedded (texts, and the
clauses of texts of several clauses) of all to embed."""


@dataclass
class VoiceRun:
    """What one ``analyze_feedback`` call did."""

    texts: int
    new_texts: int
    embedded: int
    head: str
    refitted: bool
    quality: dict[str, Any] | None
    seconds: dict[str, float] = field(default_factory=dict)
    wordless: int = 0
    """New texts without a letter or emoji (``....``, ``???``): stored, but not read for sentiment or themes."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "texts": self.texts,
            "new_texts": self.new_texts,
            "embedded": self.embedded,
            "head": self.head,
            "refitted": self.refitted,
            "quality": self.quality,
            "seconds": self.seconds,
            "wordless": self.wordless,
        }

    def summary(self) -> str:
        head = (
            "trained on the shop's star-rated reviews"
            if self.head == "reviews"
            else "zero-shot (anchor sentences), read clause by clause"
        )
        return (
            f"{self.texts:,} feedback texts, {self.new_texts:,} new, {self.embedded:,} embedded this run; "
            f"sentiment head {head}{' (refitted)' if self.refitted else ''}."
            + self._head_quality()
            + (
                f" {self.wordless:,} new text(s) without words (e.g. '....') left out of sentiment and themes."
                if self.wordless
                else ""
            )
        )

    def _head_quality(self) -> str:
        """The shop head's cross-validated accuracy against the plain TF-IDF baseline, in words."""
        q = self.quality or {}
        candidates = q.get("candidates")
        if not candidates:
            return ""
        right = {name: c["polar_accuracy"]["all"] for name, c in candidates.items()}
        chosen = q["chosen"]
        langs = ", ".join(f"{k} {pct(v)}" for k, v in q["polar_accuracy"].items() if k != "all")
        n = sum(int(v) for v in q.get("n", {}).values())
        return (
            f" Trained on {n:,} star-rated reviews (1–2 stars bad, 4–5 good); it reads each clause as the "
            "zero-shot head does, with the shop's own words on top."
            f" In {q['folds']}-fold cross-validation it reads {pct(right[chosen])} of clearly good or bad reviews "
            f"right ({HEAD_NAMES[chosen]}; {langs}); a plain TF-IDF + logistic regression on the same reviews: "
            f"{pct(right['tfidf'])}; the embedding alone: {pct(right['embedding'])}."
        )


HEAD_NAMES = {
    "stacked": "meaning and the shop's own words and spellings combined",
    "embedding": "meaning alone",
    "tfidf": "the shop's own words alone",
}


def _new_feedback(store: Store) -> pd.DataFrame:
    """Feedback rows with a text not in ``voice_texts`` yet (``feedback_id, text, language,
    customer_language``), read through the store's engine, in ``feedback_id`` order."""
    con = store.ibis()
    fb = con.table("feedback")
    fb = fb.filter(fb.text.notnull()).select("feedback_id", "customer_id", "text", "language")
    c = con.table("customers").select("customer_id", customer_language="language")
    new = fb.left_join(c, "customer_id").anti_join(con.table("voice_texts"), "feedback_id")
    return (
        new.select("feedback_id", "text", "language", "customer_language").order_by("feedback_id").execute()
    )


def anchor_head(store: Store, embedder: Embedder) -> LinearHead:
    """The shipped anchor head, or (another embedder, edited anchors) one fitted on stored anchor vectors."""
    return shipped_anchor_head(embedder.name) or fit_anchor_head(
        embedder, lambda texts: stored_vectors(store.con, embedder, texts)
    )


def read_rows(
    store: Store,
    embedder: Embedder,
    rows: pd.DataFrame,
    label: Labeller,
    progress: Progress | None = None,
) -> Reading:
    """Read ``rows`` (columns ``text``: cleaned, ``language``) clause by clause with ``label``; strings not
    embedded yet are embedded and stored, and each text's vector is stored under its hash."""
    texts, languages = rows["text"].tolist(), rows["language"].tolist()
    reading = read(
        texts,
        split(texts, languages),
        lambda units: stored_vectors(store.con, embedder, units, progress, READING),
        label,
        languages=languages,
    )
    hashes = [text_hash(t) for t in texts]
    new = missing_hashes(store.con, embedder.name, hashes)
    first: dict[str, int] = {}
    for i, h in enumerate(hashes):
        first.setdefault(h, i)
    order = [i for h, i in first.items() if h in new]  # long texts: stored under the hash of the whole text
    assert reading.vectors is not None
    put_vectors(store.con, embedder.name, [hashes[i] for i in order], reading.vectors[order])
    return reading


def _review_head(
    store: Store, embedder: Embedder, anchors: LinearHead, min_reviews: int, refit: bool
) -> tuple[ShopHead | None, bool]:
    """The shop's own head (refitted when its reviews changed enough), or None when there are too few."""
    t = texts_with_feedback(store)
    t = t.filter((t.source == "review") & t.score.notnull() & t.text_hash.notnull())
    rated = t.order_by("feedback_id").select("text_hash", "score", "language", "text").execute()
    trainer = ShopSentiment(min_reviews=min_reviews)
    if not trainer.enough(rated["score"].to_numpy()):
        return None, False
    old = stored_shop_head(store.con, embedder.name)
    if old is not None and not refit and abs(len(rated) - old.n_train) <= REFIT_GROWTH * old.n_train:
        return old, False
    rated["text"] = [clean_text(t) for t in rated["text"]]
    prior = read_rows(store, embedder, rated, labeller(anchors))
    head = trainer.fit(
        prior.vectors,
        rated["text"].tolist(),
        rated["score"].to_numpy(),
        rated["language"].tolist(),
        prior.proba,
    ).head_
    store.con.execute(
        "INSERT INTO voice_heads VALUES (?, 'reviews', now(), ?, ?)",
        [embedder.name, head.n_train, head.to_json()],
    )
    return head, True


def ensure_analysed(store: Store, progress: Progress | None = None) -> bool:
    """Whether ``voice_texts`` holds the store's analysed feedback for the analyses that read it (sentiment,
    themes, the advice). A DuckDB store has what ``cxlab voice analyze`` last stored (nothing is read here:
    the report opens it read-only); a store whose voice tables last one process (Spark) reads its texts now,
    once per open store."""
    if per_process(store):
        store.memo("voice-analysis", lambda: analyze_feedback(store, progress=progress))
        return True
    return has_table(store.con, "voice_texts")


_RUNNING = threading.Lock()
"""One analysis at a time per process: the server runs it in the background and for read requests that need
it, and two runs would insert the same new texts."""


def analyze_feedback(store: Store, *, refit: bool = False, progress: Progress | None = None) -> VoiceRun:
    """Update ``voice_texts`` (and the embeddings it needs) for feedback added since the last run; ``progress``
    is told ``(READING, done, total)``: distinct new strings embedded (the slow part) of all to embed."""
    with _RUNNING:
        return _analyze(store, refit, progress)


def _analyze(store: Store, refit: bool, progress: Progress | None) -> VoiceRun:
    settings = voice_settings(store.config)
    languages = [c.lower() for c in store.config.shop.languages]
    ensure_tables(store.con)
    publish(store)
    clock: dict[str, float] = {}
    t0 = time.perf_counter()
    new = _new_feedback(store)
    clean = [clean_text(t) for t in new["text"]]
    wordless = sum(bool(t) and not has_words(t) for t in clean)
    clean = [t if has_words(t) else "" for t in clean]  # "....", "???": nothing to read
    given = new["language"].str.lower().where(new["language"].str.lower().isin(languages))
    todo = given.isna().to_numpy(dtype=bool) & np.array([bool(t) for t in clean], dtype=bool)
    detected = detect_languages(
        [c for c, d in zip(clean, todo, strict=True) if d],
        languages,
        [x for x, d in zip(new["customer_language"], todo, strict=True) if d],
    ) if todo.any() else []  # fmt: skip
    lang = given.astype(object).to_numpy().copy()
    lang[todo] = detected
    clock["language"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    embedder = get_embedder(settings.embedder)
    anchors = anchor_head(store, embedder)
    hashes = [text_hash(t) if t else None for t in clean]
    readable = pd.DataFrame({"text": clean, "language": lang}).loc[
        np.array([h is not None for h in hashes], bool)
    ]
    embedded = len(missing_hashes(store.con, embedder.name, [h for h in hashes if h is not None]))
    read_rows(store, embedder, readable.drop_duplicates("text"), labeller(anchors), progress)
    clock["embedding"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rows = pd.DataFrame(
        {"feedback_id": new["feedback_id"], "text_hash": hashes, "language": lang, "label": None,
         "p_negative": np.nan, "p_neutral": np.nan, "p_positive": np.nan, "head": None, "model": embedder.name}
    )  # fmt: skip
    with registered(store.con, "_voice_new", pa.Table.from_pandas(rows, preserve_index=False)):
        store.con.execute("INSERT INTO voice_texts SELECT * FROM _voice_new")
    publish(store)
    shop, refitted = _review_head(store, embedder, anchors, settings.min_reviews, refit)
    _label(store, embedder, anchors, shop, every=refitted)
    publish(store)
    clock["sentiment"] = time.perf_counter() - t0
    ((total,),) = store.con.execute("SELECT count(*) FROM voice_texts").fetchall()
    head: LinearHead | ShopHead = shop or anchors
    return VoiceRun(
        int(total), len(new), embedded, head.kind, refitted, dict(head.quality or {}) or None, clock, wordless
    )


def _label(store: Store, embedder: Embedder, anchors: LinearHead, shop: ShopHead | None, every: bool) -> None:
    """(Re)label the ``voice_texts`` rows not labelled yet (``every``: all of them), clause by clause, with the
    shop's own head when it has one (the zero-shot head's probabilities as its prior), else the zero-shot head;
    a text whose clauses pull both ways while the verdict stays close is ``mixed``."""
    t = texts_with_feedback(store)
    t = t.filter(t.text_hash.notnull() if every else t.text_hash.notnull() & t.label.isnull())
    todo = t.order_by("feedback_id").select("feedback_id", "language", "text").execute()
    todo["text"] = [clean_text(t) for t in todo["text"]]
    todo = todo[[has_words(t) for t in todo["text"]]].reset_index(drop=True)
    if todo.empty:
        return
    reading = read_rows(store, embedder, todo, labeller(anchors, shop))
    proba = reading.proba
    labels = np.asarray([LABELS[i] for i in proba.argmax(axis=1)], dtype=object)
    labels[reading.mixed()] = MIXED
    out = pa.table(
        {
            "feedback_id": pa.array(todo["feedback_id"], pa.string()),
            "label": pa.array(labels, pa.string()),
            "p_negative": proba[:, 0],
            "p_neutral": proba[:, 1],
            "p_positive": proba[:, 2],
        }
    )
    kind = (shop or anchors).kind
    with registered(store.con, "_voice_labels", out):
        store.con.execute(
            f"""UPDATE voice_texts v SET label = l.label, p_negative = l.p_negative, p_neutral = l.p_neutral,
            p_positive = l.p_positive, head = '{kind}'
            FROM _voice_labels l WHERE v.feedback_id = l.feedback_id"""
        )
