"""How well the assistant answers: a labelled question set through :meth:`Assistant.ask`, per language.

A question with an intent is *answered right* when the assistant finds that intent and doesn't hand it over for
being unsure or angry (an order question from an unknown customer is handed over by design, and counts as
right when the intent is); a question labelled ``none`` is right when handed over; an ``angry`` one when handed
over as angry. ``bench/assist.py`` runs it on the evaluation set, and ``cxlab assist evaluate`` on a shop's own.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlab.assist.answer import Assistant, Reply

UNSURE = ("low_confidence", "angry", "empty")


@dataclass(frozen=True)
class Question:
    text: str
    intent: str
    """The topic id, or ``none`` for a question nothing answers."""
    kind: str = "plain"
    language: str | None = None


def read_questions(path: str | Path, split: str | None = None) -> list[Question]:
    """Rows of an evaluation CSV (``question, intent[, kind, split, language]``)."""
    p = Path(path)
    with p.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"question", "intent"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{p}: header: missing column {sorted(missing)[0]!r} (need question, intent)")
        rows = list(reader)
    lang = p.stem if len(p.stem) == 2 else None
    return [
        Question(r["question"], r["intent"].strip(), r.get("kind") or "plain", r.get("language") or lang)
        for r in rows
        if split is None or r.get("split") == split
    ]


def right(q: Question, r: Reply) -> bool:
    """Whether reply ``r`` is what question ``q`` should get (see the module docstring)."""
    if q.kind == "angry":
        return r.handoff and r.reason == "angry"
    if q.intent == "none":
        return r.handoff and r.reason in UNSURE
    return r.intent == q.intent and r.reason not in UNSURE


@dataclass(frozen=True)
class Evaluation:
    """Per-question replies and their timings, summarised per language."""

    table: pd.DataFrame

    def summary_frame(self) -> pd.DataFrame:
        t = self.table
        rows = []
        for lang, g in t.groupby("language", sort=False):
            ans = g[(g["expected"] != "none") & (g["kind"] != "angry")]
            out = g[g["expected"] == "none"]
            angry = g[g["kind"] == "angry"]
            rows.append(
                {
                    "language": lang,
                    "answerable": len(ans),
                    "answered_right": float(ans["right"].mean()) if len(ans) else None,
                    "wrong_answer": float(((~ans["handoff"]) & ~ans["right"]).mean()) if len(ans) else None,
                    "unanswerable": len(out),
                    "handed_over": float(out["right"].mean()) if len(out) else None,
                    "angry": len(angry),
                    "angry_handed_over": float(angry["right"].mean()) if len(angry) else None,
                    "p95_ms": float(np.percentile(g["ms"], 95)),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "each question through the assistant; right = the labelled intent answered, a question "
            "nothing answers handed over, an angry one handed over as angry",
            "languages": self.summary_frame().replace({np.nan: None}).to_dict(orient="records"),
        }


def evaluate(assistant: Assistant, questions: Sequence[Question], customer: str | None = None) -> Evaluation:
    """Ask every question (one at a time, as customers do) and score the replies."""
    known = {*assistant.index.intents, "none"}
    for q in questions:
        if q.intent not in known:
            raise ValueError(
                f"question {q.text[:60]!r}: intent {q.intent!r} is not one the assistant knows "
                f"(expected none or one of: {', '.join(sorted(known - {'none'}))})"
            )
    assistant.ask("warm-up")  # the first answer loads models: not a customer's wait
    rows = []
    for q in questions:
        start = time.perf_counter()
        r = assistant.ask(q.text, customer)
        ms = (time.perf_counter() - start) * 1000
        rows.append(
            {
                "language": q.language or r.language,
                "question": q.text,
                "kind": q.kind,
                "expected": q.intent,
                "intent": r.intent,
                "guess": r.guess,
                "confidence": r.confidence,
                "handoff": r.handoff,
                "reason": r.reason,
                "replied_in": r.language,
                "negative": r.negative,
                "right": right(q, r),
                "ms": ms,
            }
        )
    return Evaluation(pd.DataFrame(rows))
