"""``truth.json``: the planted parameters, and the same effects as realised in the generated data.

:class:`Stats` holds additive counts that each batch adds to; :func:`build_truth` turns them into the
document. Realised values are computed from exactly the rows written, with the definitions stated.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from cxlab.demo import params as P
from cxlab.demo import texts as T
from cxlab.demo.catalog import Catalog
from cxlab.demo.experiment import CHANGES, VARIANTS
from cxlab.demo.flows import flows_truth
from cxlab.demo.spend import clicks_shape


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.float64)


@dataclass
class Stats:
    """Counts summed over batches (arrays indexed by the code tables in :mod:`cxlab.demo.params`)."""

    prospects: float = 0
    identified: float = 0
    buyers: float = 0
    orders: float = 0
    repeat_orders: float = 0
    revenue: float = 0
    sessions: np.ndarray = field(default_factory=lambda: _zeros(len(P.CHANNELS)))
    purchase_sessions: np.ndarray = field(default_factory=lambda: _zeros(len(P.CHANNELS)))
    visitors: np.ndarray = field(default_factory=lambda: _zeros(len(P.CHANNELS)))
    converted_visitors: np.ndarray = field(default_factory=lambda: _zeros(len(P.CHANNELS)))
    deliveries: np.ndarray = field(default_factory=lambda: _zeros(len(P.COUNTRIES)))
    late: np.ndarray = field(default_factory=lambda: _zeros(len(P.COUNTRIES)))
    damaged: np.ndarray = field(default_factory=lambda: _zeros(len(P.COUNTRIES)))
    review_base: np.ndarray = field(default_factory=lambda: _zeros(2))
    """Delivered orders with 30 days left in the window: [on time, late] (undamaged)."""
    reviews_from_base: np.ndarray = field(default_factory=lambda: _zeros(2))
    nps_n: np.ndarray = field(default_factory=lambda: _zeros(2))
    nps_sum: np.ndarray = field(default_factory=lambda: _zeros(2))
    nps_promoters: np.ndarray = field(default_factory=lambda: _zeros(2))
    feedback_n: np.ndarray = field(default_factory=lambda: _zeros(len(P.TOUCHPOINTS)))
    feedback_negative: np.ndarray = field(default_factory=lambda: _zeros(len(P.TOUCHPOINTS)))
    review_n: np.ndarray = field(default_factory=lambda: _zeros(len(P.TOUCHPOINTS)))
    review_sum: np.ndarray = field(default_factory=lambda: _zeros(len(P.TOUCHPOINTS)))
    exposed: np.ndarray = field(default_factory=lambda: _zeros(2))
    exposed_clicks: np.ndarray = field(default_factory=lambda: _zeros(2))
    checkout_sessions: np.ndarray = field(default_factory=lambda: _zeros(2))
    """Sessions that reached checkout, [before, after] the redesign."""
    checkout_purchases: np.ndarray = field(default_factory=lambda: _zeros(2))
    ces_n: np.ndarray = field(default_factory=lambda: _zeros(2))
    ces_sum: np.ndarray = field(default_factory=lambda: _zeros(2))
    flows: np.ndarray = field(default_factory=lambda: np.zeros((len(P.FLOW_NAMES), 6)))
    """Per demo flow: exposed (holdout, sent), baseline and expected conversions, observed (holdout, sent);
    see :func:`cxlab.demo.flows.flow_stats`."""
    paid_clicks: np.ndarray = field(default_factory=lambda: _zeros(int(np.prod(clicks_shape()))))
    """Paid sessions by (day, paid channel, campaign), flattened (see :mod:`cxlab.demo.spend`)."""

    def add(self, other: Stats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _rate(a: float, b: float) -> float | None:
    return round(float(a) / float(b), 5) if b else None


def build_truth(
    seed: int, customers: int, stats: Stats, catalog: Catalog, counts: dict[str, int]
) -> dict[str, Any]:
    """The ``truth.json`` document."""
    s = stats
    paid = [P.CH[c] for c in P.PAID]
    weak = P.CH[P.WEAK_CHANNEL]
    peers = [c for c in paid if c != weak]
    session_rate = {
        P.CHANNELS[c]: _rate(s.purchase_sessions[c], s.sessions[c])
        for c in range(len(P.CHANNELS))
        if s.sessions[c]
    }
    visitor_rate = {
        P.CHANNELS[c]: _rate(s.converted_visitors[c], s.visitors[c])
        for c in range(len(P.CHANNELS))
        if s.visitors[c]
    }
    delivery = P.TP[P.WEAK_TOUCHPOINT]
    others = [t for t in range(len(P.TOUCHPOINTS)) if t != delivery and s.feedback_n[t]]
    review_others = [t for t in range(len(P.TOUCHPOINTS)) if t != delivery]
    gg = P.GAMMA_GAMMA
    return {
        "seed": seed,
        "customers": customers,
        "window": {
            "start": P.iso(P.START_S),
            "end": P.iso(P.END_S - 1),
            "end_exclusive": P.iso(P.END_S),
            "timezone": "UTC",
        },
        "currency": "EUR",
        "weak_channel": P.WEAK_CHANNEL,
        "weak_channel_effect": {
            "definition": "session conversion rate: share of sessions (events grouped by session_id, channel "
            "of the session) that contain a purchase event; peers are the other paid channels "
            f"{[P.CHANNELS[c] for c in peers]} pooled",
            "conversion_rate": _rate(s.purchase_sessions[weak], s.sessions[weak]),
            "peer_conversion_rate": _rate(s.purchase_sessions[peers].sum(), s.sessions[peers].sum()),
            "session_conversion_by_channel": session_rate,
            "visitor_definition": "share of prospects whose first session came from the channel who bought at "
            "least once in the window",
            "visitor_conversion_rate": _rate(s.converted_visitors[weak], s.visitors[weak]),
            "peer_visitor_conversion_rate": _rate(s.converted_visitors[peers].sum(), s.visitors[peers].sum()),
            "visitor_conversion_by_channel": visitor_rate,
            "planted_prospect_session_purchase_p": {
                P.CHANNELS[c]: float(P.SESSION_PURCHASE_P[c])
                for c in range(len(P.CHANNELS))
                if P.SESSION_PURCHASE_P[c]
            },
            "planted_relative": float(P.SESSION_PURCHASE_P[weak] / P.SESSION_PURCHASE_P[peers].mean()),
        },
        "weak_touchpoint": P.WEAK_TOUCHPOINT,
        "weak_touchpoint_effect": {
            "definition": "feedback rows with touchpoint='delivery' versus all other touchpoints pooled; "
            "negative = the text (or, without text, the experience) is negative; scores are "
            "review scores (1-5)",
            "negative_share": _rate(s.feedback_negative[delivery], s.feedback_n[delivery]),
            "peer_negative_share": _rate(s.feedback_negative[others].sum(), s.feedback_n[others].sum()),
            "review_mean_score": _rate(s.review_sum[delivery], s.review_n[delivery]),
            "peer_review_mean_score": _rate(
                s.review_sum[review_others].sum(), s.review_n[review_others].sum()
            ),
            "next_stage_definition": "share of undamaged delivered orders (delivered at least 30 days before the "
            "window's end) that got a review",
            "review_rate_on_time": _rate(s.reviews_from_base[0], s.review_base[0]),
            "review_rate_after_late": _rate(s.reviews_from_base[1], s.review_base[1]),
            "planted_review_p_definition": "average chance of a review per order: "
            f"x{P.REVIEW_WITHOUT_REQUEST:g} without a review request, x{P.REVIEW_WITH_REQUEST:g} with one "
            "(see flows.review_request)",
            "planted_review_p": {
                "on_time": P.REVIEW_P_ON_TIME,
                "late": P.REVIEW_P_LATE,
                "damaged": P.REVIEW_P_DAMAGED,
            },
            "nps_mean_on_time": _rate(s.nps_sum[0], s.nps_n[0]),
            "nps_mean_after_late": _rate(s.nps_sum[1], s.nps_n[1]),
            "nps_promoter_share_on_time": _rate(s.nps_promoters[0], s.nps_n[0]),
            "nps_promoter_share_after_late": _rate(s.nps_promoters[1], s.nps_n[1]),
            "planted_late_p_by_country": dict(zip(P.COUNTRIES, map(float, P.LATE_P), strict=True)),
            "late_rate_by_country": {
                P.COUNTRIES[c]: _rate(s.late[c], s.deliveries[c]) for c in range(len(P.COUNTRIES))
            },
            "planted_damaged_p_by_country": dict(zip(P.COUNTRIES, map(float, P.DAMAGED_P), strict=True)),
            "damaged_rate_by_country": {
                P.COUNTRIES[c]: _rate(s.damaged[c], s.deliveries[c]) for c in range(len(P.COUNTRIES))
            },
            "feedback_by_touchpoint": {
                P.TOUCHPOINTS[t]: {
                    "n": int(s.feedback_n[t]),
                    "negative_share": _rate(s.feedback_negative[t], s.feedback_n[t]),
                    "review_mean_score": _rate(s.review_sum[t], s.review_n[t]),
                }
                for t in range(len(P.TOUCHPOINTS))
                if s.feedback_n[t]
            },
        },
        "email_test": {
            "experiment_id": P.EXPERIMENT_ID,
            "control": VARIANTS[0],
            "treatment": VARIANTS[1],
            "metric": "email_click",
            "metric_definition": "per exposed customer: an email_click event with touchpoint "
            "'shipping_confirmation_email' on the exposure's calendar day (UTC) for the "
            "e-mail of the exposure",
            "start": P.iso(P.EXPERIMENT_START_S),
            "base_rate": P.SHIPPING_CLICK_BASE,
            "true_lift": P.SHIPPING_CLICK_LIFT,
            "treatment_rate": round(P.SHIPPING_CLICK_BASE * (1 + P.SHIPPING_CLICK_LIFT), 5),
            "allocation": {"basic": 0.5, "festive": 0.5},
            "observed": {
                VARIANTS[v]: {
                    "exposed": int(s.exposed[v]),
                    "clicked": int(s.exposed_clicks[v]),
                    "rate": _rate(s.exposed_clicks[v], s.exposed[v]),
                }
                for v in range(2)
            },
        },
        "bgnbd": {
            **P.BGNBD,
            "time_unit": "weeks",
            "definition": "repeat orders after each customer's first order; T runs from the first order "
            "to window.end_exclusive; every order counts (refunds included)",
        },
        "gamma_gamma": {
            **gg,
            "mean_order_value": gg["p"] * gg["v"] / (gg["q"] - 1),
            "definition": "orders.revenue of every order is one Gamma(p, rate=nu) draw (rounded to "
            "cents), nu ~ Gamma(q, rate=v) per customer",
        },
        "co_purchase_pairs": [[catalog.ids[a], catalog.ids[b]] for a, b in catalog.pairs],
        "spend": {
            "cpc": P.CPC,
            "noise_sigma": P.CPC_NOISE_SIGMA,
            "definition": "cost per day, paid channel and campaign = paid sessions (ad or affiliate clicks) "
            "× cpc × lognormal noise with mean 1; the weak channel pays peer-level prices",
        },
        "co_purchase_pair_order_share": P.PAIR_ORDER_P,
        "changes": [
            {
                "change_id": "CH001",
                "touchpoint": "shipping_confirmation_email",
                "effect": f"same-day click rate x{1 + P.SHIPPING_CLICK_LIFT:g} in the festive arm",
            },
            {"change_id": "CH002", "touchpoint": "shipping_sms", "effect": "none (a null change)"},
            {
                "change_id": "CH003",
                "touchpoint": "checkout",
                "effect": "fewer checkout abandons and easier checkout (CES)",
                "planted_checkout_abandon_session_p": {
                    "before": float(P.NON_PURCHASE_TYPE_P_BEFORE[-1]),
                    "after": float(P.NON_PURCHASE_TYPE_P_AFTER[-1]),
                },
                "checkout_abandonment_rate": {
                    "definition": "share of sessions with a checkout event but no purchase",
                    "before": _rate(s.checkout_sessions[0] - s.checkout_purchases[0], s.checkout_sessions[0]),
                    "after": _rate(s.checkout_sessions[1] - s.checkout_purchases[1], s.checkout_sessions[1]),
                },
                "planted_ces_good_p": {"before": P.CES_GOOD_P_BEFORE, "after": P.CES_GOOD_P_AFTER},
                "ces_mean": {
                    "before": _rate(s.ces_sum[0], s.ces_n[0]),
                    "after": _rate(s.ces_sum[1], s.ces_n[1]),
                },
            },
            {
                "change_id": "CH004",
                "touchpoint": "review_request",
                "effect": f"review request {P.REVIEW_REQUEST_DAYS_AFTER} instead of {P.REVIEW_REQUEST_DAYS_BEFORE} "
                "days after delivery",
            },
        ],
        "change_dates": {c[0]: c[1].isoformat() for c in CHANGES},
        "population": {
            "prospects": int(s.prospects),
            "identified": int(s.identified),
            "buyers": int(s.buyers),
            "buyer_share": _rate(s.buyers, s.prospects),
            "orders": int(s.orders),
            "repeat_orders": int(s.repeat_orders),
            "mean_order_value": _rate(s.revenue, s.orders),
            "countries": dict(zip(P.COUNTRIES, map(float, P.COUNTRY_P), strict=True)),
        },
        "languages": {
            "by_country": {c: P.LANGUAGES[int(P.LANGUAGE_OF_COUNTRY[i])] for i, c in enumerate(P.COUNTRIES)},
            "english_share_outside_gb": P.ENGLISH_SHARE,
        },
        "feedback_aspects": dict(zip(T.ASPECTS, T.ASPECT_TOUCHPOINT, strict=True)),
        "flows": flows_truth(s.flows),
        "catalog": catalog.to_records(),
        "counts": counts,
    }
