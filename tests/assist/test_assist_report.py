"""The assistant report on a hand-built store of exchanges whose every number is counted by hand below.

T0 = 1 March 2026 10:00; the data ends 10 days later (a page view), so every answer but I's is followed
for 48 h.

=====  ==============================  ===================================================================
who    exchanges                       why it is there
=====  ==============================  ===================================================================
A      order_status answered (a1, T0)  asks again in another conversation 47 h later: a1 unsolved
       order_status answered (a2, +47h)
B      returns answered (b1, T0)       asks again 49 h later: b1 solved (outside 48 h); a support
       returns answered (b2, +49h)     contact 1 h *before* b1 does not count either
C      returns answered, nl (c1, T0)   follows up in the same conversation an hour later: c1 solved
       returns answered, nl (c2, +1h)
D      order_status answered (d1, T0)  contacts support 10 h later: d1 unsolved
E      order_status handed over, late
F      order_status handed over, unknown_customer (anonymous)
J      returns handed over, angry
G1..3  unsure (low_confidence): guess returns (en, nl), opening_hours (en, hostile text)
H      unsure, guess returns, the same words as G1
I      opening_hours answered 10 h before the data ends: not followed
=====  ==============================  ===================================================================

Per intent: order_status 5 asked, 3 answered, 2 handed over (late 1, unknown customer 1); returns 8 asked,
4 answered, 4 handed over (angry 1, unsure 3); opening_hours 2 asked, 1 answered, 1 handed over (unsure).
In all 15, 8 answered, 7 handed over. Thumbs: a1 up, d1 down (order_status 1 of 2); b1 down then up (the
last vote counts), c1 up (returns 2 of 2). Came back: order_status 2 of 3 followed (a1 asked again, d1
support), returns 0 of 4.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from cxlab.assist.answer import Reply
from cxlab.assist.record import exchange_rows, feedback_rows, write_rows
from cxlab.assist.report import SECTIONS, gaps_section, section
from cxlab.assist.report_data import AssistReport, assist_report
from cxlab.errors import MissingData
from cxlab.report.html import render_report
from cxlab.report.sections import run_sections
from cxlab.store import Store

T0 = dt.datetime(2026, 3, 1, 10, 0)
END = T0 + dt.timedelta(days=10)
HOSTILE = "<script>alert(1)</script> gift box?"


def hours(h: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=h)


def answered(intent: str, language: str = "en") -> Reply:
    return Reply(language=language, intent=intent, answer="An answer.", handoff=False, confidence=0.9)


def handed(intent: str | None, reason: str, language: str = "en", guess: str | None = None) -> Reply:
    return Reply(
        language=language,
        intent=intent,
        answer=None,
        handoff=True,
        confidence=0.3,
        reason=reason,
        guess=guess or intent,
    )


def exchange(
    store: Store,
    name: str,
    text: str,
    reply: Reply,
    *,
    conversation: str,
    at: dt.datetime,
    customer: str | None = None,
    anonymous: str | None = None,
) -> None:
    ids = (f"q-{name}", f"a-{name}")
    rows = exchange_rows(
        text, reply, conversation=conversation, customer=customer, anonymous_id=anonymous, at=at, ids=ids
    )
    write_rows(store, rows)


def thumb(
    store: Store, answer: str, helpful: bool, at: dt.datetime, customer: str, conversation: str
) -> None:
    rows = feedback_rows(
        f"a-{answer}",
        helpful,
        conversation=conversation,
        customer=customer,
        at=at,
        event_id=f"f-{answer}-{at:%H%M}",
    )
    write_rows(store, rows)


def event(store: Store, event_id: str, name: str, at: dt.datetime, customer: str | None) -> None:
    store.con.execute(
        "INSERT INTO events (event_id, ts, customer_id, event, touchpoint) VALUES (?, ?, ?, ?, ?)",
        [event_id, at, customer, name, "customer_service" if name == "support_contact" else "site"],
    )


def fill(store: Store) -> None:
    """The exchanges of the module docstring."""
    ex = exchange
    ex(store, "a1", "Where is my parcel?", answered("order_status"), conversation="A1", at=T0, customer="A")
    ex(
        store,
        "a2",
        "Still no parcel",
        answered("order_status"),
        conversation="A2",
        at=hours(47),
        customer="A",
    )
    ex(store, "b1", "Can I return this?", answered("returns"), conversation="B1", at=T0, customer="B")
    ex(
        store,
        "b2",
        "How do returns work?",
        answered("returns"),
        conversation="B2",
        at=hours(49),
        customer="B",
    )
    event(store, "S-B", "support_contact", hours(-1), "B")
    ex(
        store,
        "c1",
        "Kan ik dit retourneren?",
        answered("returns", "nl"),
        conversation="C1",
        at=T0,
        customer="C",
    )
    ex(store, "c2", "En de kosten?", answered("returns", "nl"), conversation="C1", at=hours(1), customer="C")
    ex(store, "d1", "Where is order 7?", answered("order_status"), conversation="D1", at=T0, customer="D")
    event(store, "S-D", "support_contact", hours(10), "D")
    ex(store, "e", "My parcel is late", handed("order_status", "late"), conversation="E", at=T0, customer="E")
    ex(
        store, "f", "Where is my order?", handed("order_status", "unknown_customer"),
        conversation="F", at=T0, anonymous="anon-F",
    )  # fmt: skip
    ex(store, "j", "THIS IS A DISGRACE!!", handed("returns", "angry"), conversation="J", at=T0, customer="J")
    unsure = [
        ("g1", "Do you gift wrap?", "en", "returns"),
        ("g2", "Kunnen jullie cadeaus inpakken?", "nl", "returns"),
        ("g3", HOSTILE, "en", "opening_hours"),
        ("h", "Do you gift wrap?", "en", "returns"),
    ]
    for name, text, lang, guess in unsure:
        reply = handed(None, "low_confidence", lang, guess)
        ex(store, name, text, reply, conversation=name.upper(), at=hours(2), customer=name.upper())
    ex(
        store, "i", "When are you open?", answered("opening_hours"),
        conversation="I", at=END - dt.timedelta(hours=10), customer="I",
    )  # fmt: skip
    thumb(store, "a1", True, hours(0.1), "A", "A1")
    thumb(store, "b1", False, hours(0.1), "B", "B1")
    thumb(store, "b1", True, hours(0.2), "B", "B1")
    thumb(store, "c1", True, hours(0.1), "C", "C1")
    thumb(store, "d1", False, hours(0.1), "D", "D1")
    event(store, "END", "page_view", END, "A")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The exchanges of the module docstring, stored once (the tests only read)."""
    with Store(tmp_path_factory.mktemp("assist-report") / "x.duckdb") as s:
        fill(s)
        yield s


@pytest.fixture(scope="module")
def report(store: Store) -> AssistReport:
    return assist_report(store.ibis())


def row(df: pd.DataFrame, intent: str) -> dict[Hashable, Any]:
    """The one row of ``intent``."""
    (found,) = df[df["intent"] == intent].to_dict(orient="records")
    return found


def wilson(k: int, n: int) -> tuple[float, float]:
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def test_per_intent_counts(report: AssistReport) -> None:
    assert (report.n_questions, report.n_answered, report.n_handed_over) == (15, 8, 7)
    t = report.intents
    assert t["intent"].tolist() == ["returns", "order_status", "opening_hours"]  # most asked first
    got = {r["intent"]: (r["asked"], r["answered"], r["handed_over"]) for r in t.to_dict(orient="records")}
    assert got == {"order_status": (5, 3, 2), "returns": (8, 4, 4), "opening_hours": (2, 1, 1)}
    os_, ret, oh = row(t, "order_status"), row(t, "returns"), row(t, "opening_hours")
    assert (os_["handed_late"], os_["handed_unknown_customer"], os_["handed_angry"]) == (1, 1, 0)
    assert (ret["handed_angry"], ret["handed_low_confidence"], ret["handed_late"]) == (1, 3, 0)
    assert oh["handed_low_confidence"] == 1
    h = {(r["intent"], r["reason"]): r["handed_over"] for r in report.handoffs.to_dict(orient="records")}
    assert h == {
        ("order_status", "late"): 1,
        ("order_status", "unknown_customer"): 1,
        ("returns", "angry"): 1,
        ("returns", "low_confidence"): 3,
        ("opening_hours", "low_confidence"): 1,
    }


def test_per_language(report: AssistReport) -> None:
    got = {
        (r["intent"], r["language"]): (r["asked"], r["answered"], r["handed_over"])
        for r in report.languages.to_dict(orient="records")
    }
    assert got == {
        ("order_status", "en"): (5, 3, 2),
        ("returns", "en"): (5, 2, 3),
        ("returns", "nl"): (3, 2, 1),
        ("opening_hours", "en"): (2, 1, 1),
    }


def test_answered_share_interval_is_wilson(report: AssistReport) -> None:
    assert report.answered_share == pytest.approx(8 / 15)
    assert (report.answered_low, report.answered_high) == pytest.approx(wilson(8, 15))
    for intent, k, n in [("order_status", 3, 5), ("returns", 4, 8), ("opening_hours", 1, 2)]:
        r = row(report.intents, intent)
        assert r["answered_share"] == pytest.approx(k / n)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(wilson(k, n))
    nl = report.languages[(report.languages["intent"] == "returns") & (report.languages["language"] == "nl")]
    assert (nl["ci_low"].item(), nl["ci_high"].item()) == pytest.approx(wilson(2, 3))


def test_thumbs_last_vote_counts(report: AssistReport) -> None:
    os_, ret = row(report.thumbs, "order_status"), row(report.thumbs, "returns")
    assert (os_["up"], os_["down"], os_["rated"]) == (1, 1, 2)
    assert (ret["up"], ret["down"], ret["rated"]) == (2, 0, 2)  # b1: down, then up
    assert (ret["ci_low"], ret["ci_high"]) == pytest.approx(wilson(2, 2))
    assert os_["helpful_share"] == pytest.approx(0.5)
    total = report.total("thumbs")
    assert (total["up"], total["rated"]) == (3, 4)
    assert (total["ci_low"], total["ci_high"]) == pytest.approx(wilson(3, 4))


def test_came_back_within_48_hours(report: AssistReport) -> None:
    os_, ret = row(report.repeats, "order_status"), row(report.repeats, "returns")
    # a1: asked again in another conversation after 47 h; d1: support after 10 h; a2: nothing after it
    assert (os_["followed"], os_["unsolved"], os_["asked_again"], os_["support"]) == (3, 2, 1, 1)
    assert (os_["ci_low"], os_["ci_high"]) == pytest.approx(wilson(2, 3))
    # b1: asked again only after 49 h, support before it; c1: the same conversation went on
    assert (ret["followed"], ret["unsolved"]) == (4, 0)
    # i: answered 10 h before the data ends, not followed for 48 h yet
    assert "opening_hours" not in set(report.repeats["intent"])
    total = report.total("repeats")
    assert (total["unsolved"], total["followed"]) == (2, 7)
    assert report.horizon == END


def test_boundary_moves_with_the_window(store: Store) -> None:
    """B asking again 49 h later counts within 50 h; A's after 47 h does not within 46 h."""
    assert row(assist_report(store.ibis(), repeat_hours=50).repeats, "returns")["unsolved"] == 1
    assert row(assist_report(store.ibis(), repeat_hours=46).repeats, "order_status")["asked_again"] == 0
    assert row(assist_report(store.ibis(), repeat_hours=47).repeats, "order_status")["asked_again"] == 1


def test_gaps_listed_when_few(report: AssistReport) -> None:
    assert not report.gaps_clustered
    assert report.n_gap_questions == 4
    assert report.gaps["size"].tolist() == [2, 1, 1]
    assert report.gaps["topic"].tolist() == ["Do you gift wrap?", HOSTILE, "Kunnen jullie cadeaus inpakken?"]
    assert report.gaps["languages"].tolist() == [{"en": 2}, {"en": 1}, {"nl": 1}]
    assert report.embedder is None  # nothing was embedded


def test_since(store: Store) -> None:
    r = assist_report(store.ibis(), since=hours(48))
    assert (r.n_questions, r.n_answered) == (2, 2)  # b2 and i
    assert set(r.intents["intent"]) == {"returns", "opening_hours"}
    assert r.total("repeats")["followed"] == 1  # b2; i is too recent
    with pytest.raises(MissingData, match="since 2026-03-12"):
        assist_report(store.ibis(), since=END + dt.timedelta(days=1))


def test_to_dict_is_json(report: AssistReport) -> None:
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["questions"] == 15 and doc["answered"] == 8
    assert doc["unsolved"]["unsolved"] == 2 and doc["thumbs"]["up"] == 3
    assert set(doc["tables"]) == set(AssistReport.TABLES)
    assert "Wilson" in report.summary() and "15 questions" in report.summary()


def test_empty_store_is_missing_data(tmp_path: Path) -> None:
    with Store(tmp_path / "empty.duckdb") as s:
        with pytest.raises(MissingData, match="cxlab assist ask"):
            assist_report(s.ibis())
        event(s, "P", "page_view", T0, "A")
        with pytest.raises(MissingData, match="serve the widget"):
            assist_report(s.ibis())


def test_sections_and_escaping(store: Store, tmp_path: Path) -> None:
    main = section(store)
    assert main.summary.startswith("The assistant answered 53% of 15 questions.")
    assert "order status (late order 1, customer not identified 1)" in main.summary
    assert "It could not place 4 questions." in main.summary
    assert "29% of the questions it answered came back within 48 h" in main.summary
    assert "75% of 4 rated answers helpful" in main.summary
    assert main.table is not None and main.table["intent"].tolist() == [
        "returns",
        "order status",
        "opening hours",
    ]
    assert main.table["came back within 48 h"].tolist() == ["0% of 4", "67% of 3", "–"]
    gaps = gaps_section(store)
    assert gaps.table is not None and len(gaps.table) == 3
    built = run_sections(store, list(SECTIONS))
    assert not built.not_run
    page = render_report(built.sections, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; gift box?" in page


class Keyed:
    """A fake embedder: a question about wrapping, paying or anything else points its own way (plus a little
    noise), so the clustering's result is known."""

    name = "keyed"
    dim = 8

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rng = np.random.default_rng(0)
        out = np.zeros((len(texts), self.dim))
        for i, t in enumerate(texts):
            out[i, 0 if "wrap" in t or "inpak" in t else 1 if "pay" in t or "betal" in t else 2] = 1.0
        out += rng.normal(0, 0.01, out.shape)
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def test_gaps_clustered(tmp_path: Path) -> None:
    wrap = [
        "Do you gift wrap?",
        "Can you wrap it as a present?",
        "Gift wrapping possible?",
        "Kunnen jullie inpakken?",
    ]
    pay = ["Can I pay with Klarna?", "Do you take PayPal pay?", "Kan ik met iDEAL betalen?"]
    with Store(tmp_path / "g.duckdb") as s:
        for n, text in enumerate([*wrap, wrap[0], wrap[0], *pay], 1):  # the first wrapping one three times
            lang = "nl" if "jullie" in text or "ik met" in text else "en"
            reply = handed(None, "low_confidence", lang, "returns")
            exchange(s, f"x{n}", text, reply, conversation=f"X{n}", at=hours(n), customer=f"P{n}")
        exchange(s, "ok", "Where is it?", answered("order_status"), conversation="OK", at=T0, customer="Q")
        r = assist_report(s.ibis(), embedder=Keyed())
    assert r.gaps_clustered and r.embedder == "keyed"
    assert r.n_gap_questions == 9
    assert r.gaps["size"].tolist() == [6, 3]
    assert set(r.gaps["examples"].iloc[0]) <= set(wrap) and len(r.gaps["examples"].iloc[0]) == 3
    assert set(r.gaps["examples"].iloc[1]) == set(pay)
    assert r.gaps["languages"].iloc[0] == {"en": 5, "nl": 1}
    assert r.gaps["quote"].iloc[1] in pay[:2]  # an English question quoted
    assert all(r.gaps["topic"])
