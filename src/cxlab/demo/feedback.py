"""Feedback rows (reviews, NPS, CES, CSAT, support tickets) that follow each customer's real experience.

What a text is about (its aspect, hence ``touchpoint``) and whether it is positive follow from the order's
simulated story: a late parcel makes delivery complaints, a damaged one packaging complaints, a smooth
order mostly praise for the product. Scores agree with the text's tone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxlab.demo import params as P
from cxlab.demo import texts as T
from cxlab.demo.catalog import Catalog
from cxlab.demo.fulfilment import Fulfilment
from cxlab.demo.population import Population
from cxlab.demo.purchases import Orders

SOURCES = ("review", "nps", "csat", "ces", "ticket")
DELIVERY, PACKAGING, PRODUCT, SITE, CHECKOUT, SERVICE, RETURNS = range(len(T.ASPECTS))
OTHER_ASPECT_P = np.array([0.05, 0.0, 0.73, 0.07, 0.07, 0.04, 0.04])
POSITIVE_P = np.array([0.88, 0.9, 0.80, 0.75, 0.62, 0.70, 0.60])
CHECKOUT_POSITIVE_AFTER = 0.85
ASPECT_TP = np.array([P.TP[t] for t in T.ASPECT_TOUCHPOINT])
TICKET_TP = np.array([P.TP[t] for t in T.TICKET_TOUCHPOINT])


@dataclass
class Feedback:
    """Feedback rows as parallel arrays; ``tone`` is the text's (or, without text, the experience's)
    sentiment: 1 positive, 0 mixed or neutral, -1 negative."""

    person: np.ndarray
    order: np.ndarray
    ts: np.ndarray
    source: np.ndarray
    touchpoint: np.ndarray
    score: np.ndarray
    text: list[str | None]
    tone: np.ndarray

    @property
    def n(self) -> int:
        return int(self.person.size)


def _aspects(
    rng: np.random.Generator,
    late: np.ndarray,
    damaged: np.ndarray,
    returned: np.ndarray,
    support: np.ndarray,
    after_redesign: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Primary and optional secondary (-1) aspect of a comment, each with its polarity."""
    n = late.size

    def other() -> np.ndarray:
        a = rng.choice(len(T.ASPECTS), size=n, p=OTHER_ASPECT_P)
        return np.where(((a == SERVICE) & ~support) | ((a == RETURNS) & ~returned), PRODUCT, a)

    def positive(a: np.ndarray) -> np.ndarray:
        p = np.where((a == CHECKOUT) & after_redesign, CHECKOUT_POSITIVE_AFTER, POSITIVE_P[a])
        pos = rng.random(n) < p
        return pos & ~((a == DELIVERY) & late) & ~((a == PACKAGING) & damaged)

    u = rng.random(n)
    first = np.where(damaged & (u < 0.85), PACKAGING, np.where(late & (u < 0.85), DELIVERY, other()))
    second = other()
    second = np.where((rng.random(n) < 0.4) & (second != first), second, -1)
    return first, positive(first), second, positive(np.maximum(second, 0))


def _tone(pos1: np.ndarray, second: np.ndarray, pos2: np.ndarray) -> np.ndarray:
    both = second < 0
    agree = both | (pos1 == pos2)
    return np.where(agree, np.where(pos1, 1, -1), 0)


def _review_score(rng: np.random.Generator, tone: np.ndarray, pos1: np.ndarray) -> np.ndarray:
    u = rng.random(tone.size)
    return np.select(
        [tone == 1, (tone == 0) & pos1, tone == 0],
        [np.where(u < 0.65, 5, 4), np.where(u < 0.4, 4, 3), np.where(u < 0.45, 3, 2)],
        np.where(u < 0.55, 1, 2),
    ).astype(np.float64)


def _nps_score(rng: np.random.Generator, tone: np.ndarray, pos1: np.ndarray) -> np.ndarray:
    n = tone.size
    pos = rng.choice([10, 9, 8], size=n, p=[0.4, 0.4, 0.2])
    mix = np.where(pos1, rng.choice([7, 8], size=n), rng.choice([5, 6], size=n))
    neg = rng.choice(7, size=n, p=[0.05, 0.05, 0.1, 0.15, 0.2, 0.25, 0.2])
    return np.select([tone == 1, tone == 0], [pos, mix], neg).astype(np.float64)


def _item_names(catalog: Catalog, orders: Orders, order: np.ndarray, lang: np.ndarray) -> list[str]:
    prod = orders.line_product[orders.line_start[order]]
    cat, noun = catalog.category[prod], catalog.noun[prod]
    return [T.ITEMS[P.LANGUAGES[int(lg)]][int(c)][int(k)] for lg, c, k in zip(lang, cat, noun, strict=True)]


def _texts(
    rng: np.random.Generator,
    lang: np.ndarray,
    a1: np.ndarray,
    p1: np.ndarray,
    a2: np.ndarray,
    p2: np.ndarray,
    tone: np.ndarray,
    items: list[str],
    days: np.ndarray,
    has_text: np.ndarray,
    frame: bool,
) -> list[str | None]:
    u = rng.random((lang.size, 8))
    out: list[str | None] = []
    for i in range(lang.size):
        if not has_text[i]:
            out.append(None)
            continue
        parts = [(int(a1[i]), bool(p1[i]))]
        if a2[i] >= 0:
            parts.append((int(a2[i]), bool(p2[i])))
        out.append(
            T.compose(P.LANGUAGES[int(lang[i])], parts, int(tone[i]), items[i], int(days[i]), u[i], frame)
        )
    return out


def make_feedback(
    rng: np.random.Generator, pop: Population, orders: Orders, ful: Fulfilment, catalog: Catalog
) -> Feedback:
    """All feedback rows of a batch (including ones after the window; the caller drops those)."""
    parts: list[Feedback] = []
    after = orders.ts >= P.CHECKOUT_REDESIGN_S
    support = ful.support_reason >= 0

    def commented(sel: np.ndarray, source: str, ts: np.ndarray, text_p: float, frame: bool) -> None:
        o = np.flatnonzero(sel)
        lang = pop.language[orders.person[o]]
        a1, p1, a2, p2 = _aspects(rng, ful.late[o], ful.damaged[o], ful.returned[o], support[o], after[o])
        tone = _tone(p1, a2, p2)
        score = _review_score(rng, tone, p1) if source == "review" else _nps_score(rng, tone, p1)
        has_text = rng.random(o.size) < text_p
        items = _item_names(catalog, orders, o, lang)
        text = _texts(rng, lang, a1, p1, a2, p2, tone, items, ful.transit_days[o], has_text, frame)
        tp = np.where(has_text, ASPECT_TP[a1], P.TP["nps_survey"] if source == "nps" else ASPECT_TP[a1])
        parts.append(
            Feedback(
                orders.person[o], o, ts[o], np.full(o.size, SOURCES.index(source)), tp, score, text, tone
            )
        )

    commented(ful.review_ts >= 0, "review", ful.review_ts, 1.0, True)
    commented(ful.nps_ts >= 0, "nps", ful.nps_ts, 0.5, True)

    def single(
        sel: np.ndarray,
        source: str,
        ts: np.ndarray,
        aspect: int,
        pos: np.ndarray,
        score: np.ndarray,
        text_p: float,
    ) -> None:
        o = np.flatnonzero(sel)
        lang = pop.language[orders.person[o]]
        a = np.full(o.size, aspect)
        p = pos[o]
        tone = np.where(p, 1, -1)
        has_text = rng.random(o.size) < text_p
        items = _item_names(catalog, orders, o, lang)
        text = _texts(
            rng, lang, a, p, np.full(o.size, -1), p, tone, items, ful.transit_days[o], has_text, False
        )
        parts.append(
            Feedback(
                orders.person[o],
                o,
                ts[o],
                np.full(o.size, SOURCES.index(source)),
                np.full(o.size, ASPECT_TP[aspect]),
                score[o].astype(np.float64),
                text,
                tone,
            )
        )

    n = orders.n
    u = rng.random(n)
    ces_good = u < np.where(after, P.CES_GOOD_P_AFTER, P.CES_GOOD_P_BEFORE)
    ces_score = np.where(
        ces_good, rng.choice([6, 7], size=n), rng.choice([2, 3, 4, 5], size=n, p=[0.2, 0.35, 0.3, 0.15])
    )
    single(ful.ces_ts >= 0, "ces", ful.ces_ts, CHECKOUT, ces_good, ces_score, 0.35)
    csat_score = np.where(ful.csat_good, rng.choice([4, 5], size=n, p=[0.4, 0.6]), rng.choice([1, 2], size=n))
    single(ful.csat_ts >= 0, "csat", ful.csat_ts, SERVICE, ful.csat_good, csat_score, 0.5)

    o = np.flatnonzero(support)
    lang = pop.language[orders.person[o]]
    reason = ful.support_reason[o]
    items = _item_names(catalog, orders, o, lang)
    uu = rng.random((o.size, 3))
    ticket_text: list[str | None] = [
        T.ticket(P.LANGUAGES[int(lang[i])], int(reason[i]), items[i], uu[i]) for i in range(o.size)
    ]
    parts.append(
        Feedback(
            orders.person[o],
            o,
            ful.support_ts[o],
            np.full(o.size, SOURCES.index("ticket")),
            TICKET_TP[reason],
            np.full(o.size, np.nan),
            ticket_text,
            np.where(reason <= 1, -1, 0),
        )
    )

    return Feedback(
        person=np.concatenate([f.person for f in parts]),
        order=np.concatenate([f.order for f in parts]),
        ts=np.concatenate([f.ts for f in parts]),
        source=np.concatenate([f.source for f in parts]),
        touchpoint=np.concatenate([f.touchpoint for f in parts]),
        score=np.concatenate([f.score for f in parts]),
        text=[t for f in parts for t in f.text],
        tone=np.concatenate([f.tone for f in parts]),
    )
