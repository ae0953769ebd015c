"""After the purchase: confirmation, shipping (with the e-mail A/B test), delivery, unboxing, support,
returns, and the invitations to review and to answer surveys.

Carriers differ by country: Denmark and Germany deliver late far more often (the planted weak
touchpoint). Late or damaged parcels raise support contacts and lower the chance of a review or survey
answer; they do not touch the repeat-purchase process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlab.demo import params as P
from cxlab.demo.blocks import EventBlock, block, email_events, json_obj, names, select
from cxlab.demo.catalog import Catalog
from cxlab.demo.population import Population
from cxlab.demo.purchases import Orders

REASONS = ("late_delivery", "damaged", "sizing", "product_question", "return_question")
STATUSES = ("paid", "refunded", "partially_refunded")
VIA = ("chat", "email", "phone")


@dataclass
class Fulfilment:
    """Per order: what happened after the purchase (times in seconds, -1: didn't happen)."""

    blocks: list[EventBlock]
    deliver_ts: np.ndarray
    late: np.ndarray
    damaged: np.ndarray
    transit_days: np.ndarray
    ship_email_ts: np.ndarray
    ship_variant: np.ndarray
    """-1 before the experiment started, else 0 (basic) or 1 (festive)."""
    ship_click_ts: np.ndarray
    support_reason: np.ndarray
    support_ts: np.ndarray
    csat_ts: np.ndarray
    csat_good: np.ndarray
    returned: np.ndarray
    status: np.ndarray
    refunded: np.ndarray
    review_ts: np.ndarray
    review_request_ts: np.ndarray
    """When the order's review request goes out (or would, for a customer not messaged)."""
    review_requested: np.ndarray
    """Whether the review-request flow sent it (e-mail consent, not in the flow's holdout)."""
    review_without_request: np.ndarray
    """Whether the customer reviews the order even without a request (the baseline of both arms)."""
    review_extra_p: np.ndarray
    """The request's planted effect: chance it makes a customer who would not have reviewed review."""
    review_candidate_ts: np.ndarray
    """When the order's review is (or would be) written."""
    nps_ts: np.ndarray
    ces_ts: np.ndarray


def _delay(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    return rng.integers(lo, hi, size=n, dtype=np.int64)


def _exp(rng: np.random.Generator, n: int, mean: float, cap: float) -> np.ndarray:
    return np.minimum(rng.exponential(mean, n), cap).astype(np.int64)


def fulfil(
    rng: np.random.Generator,
    pop: Population,
    orders: Orders,
    order_ids: pa.Array,
    variant: np.ndarray,
    catalog: Catalog,
    rr_held: np.ndarray,
) -> Fulfilment:
    """Everything after each order; ``variant`` is each person's experiment arm (0 basic, 1 festive),
    ``rr_held`` whether they are in the review-request flow's holdout."""
    n = orders.n
    person = orders.person
    country = pop.country[person]
    device = pop.device[person]
    ts = orders.ts
    day = ts // P.DAY
    props = json_obj(n, order_id=order_ids)
    out: list[EventBlock] = []
    none = np.full(n, -1, dtype=np.int64)

    send = ts + _delay(rng, n, 20, 120)
    opened = np.where(rng.random(n) < 0.65, send + 30 + _exp(rng, n, P.HOUR, 12 * P.HOUR), -1)
    out += email_events(
        person,
        send,
        opened,
        none,
        touchpoint="order_confirmation_email",
        campaign="order_confirmation",
        device=device,
        properties=props,
    )

    ship_day = (ts + (0.2 + 1.6 * rng.random(n)) * P.DAY).astype(np.int64) // P.DAY
    ship = ship_day * P.DAY + 7 * P.HOUR + _delay(rng, n, 0, 8 * P.HOUR)
    late_ship = ship <= ts
    ship = np.where(late_ship, ship + P.DAY, ship)
    ship_day = np.where(late_ship, ship_day + 1, ship_day)
    carrier = names(P.CARRIERS, country)
    promised = P.PROMISED_DAYS[country]
    promised_by = pa.array(ship_day + promised, pa.int32()).cast(pa.date32()).cast(pa.string())
    out.append(
        block(
            person,
            ship,
            "shipment_sent",
            touchpoint="delivery",
            properties=json_obj(n, order_id=order_ids, carrier=carrier, promised_by=promised_by),
        )
    )

    # shipping confirmation e-mail: the A/B test
    ship_send = ship + _delay(rng, n, 60, 600)
    in_exp = ship_send >= P.EXPERIMENT_START_S
    arm = np.where(in_exp, variant[person], -1)
    p_click = P.SHIPPING_CLICK_BASE * np.where(arm == 1, 1.0 + P.SHIPPING_CLICK_LIFT, 1.0)
    clicked = rng.random(n) < p_click
    opened_s = clicked | (rng.random(n) < (P.SHIPPING_EMAIL_OPEN_P - p_click) / (1.0 - p_click))
    open_s = ship_send + 30 + _exp(rng, n, 40 * 60, 3 * P.HOUR)
    click_s = open_s + 10 + _exp(rng, n, 300, 30 * 60)
    design = pc.if_else(pa.array(arm == 1), "festive", "basic")
    out += email_events(
        person,
        ship_send,
        np.where(opened_s, open_s, -1),
        np.where(clicked, click_s, -1),
        touchpoint="shipping_confirmation_email",
        campaign="shipping_confirmation",
        device=device,
        properties=json_obj(n, order_id=order_ids, design=design),
    )
    sms = pop.consent_sms[person]
    sms_b = block(
        person,
        ship + 120,
        "sms_sent",
        touchpoint="shipping_sms",
        channel="sms",
        campaign="shipping_sms",
        properties=json_obj(n, order_id=order_ids, tracking_link=ship >= P.SMS_TRACKING_LINK_S),
    )
    out.append(select(sms_b, sms))

    late = rng.random(n) < P.LATE_P[country]
    damaged = rng.random(n) < P.DAMAGED_P[country]
    on_time_days = 1 + (rng.random(n) * promised).astype(np.int64)
    late_days = promised + 1 + rng.poisson(1.5, n)
    deliver_day = ship_day + np.where(late, late_days, on_time_days)
    deliver = deliver_day * P.DAY + 8 * P.HOUR + _delay(rng, n, 0, 11 * P.HOUR)
    transit = deliver_day - day
    out.append(
        block(
            person,
            deliver,
            "delivered",
            touchpoint="delivery",
            properties=json_obj(
                n, order_id=order_ids, carrier=carrier, late=late, damaged=damaged, promised_days=promised
            ),
        )
    )

    unbox = rng.random(n) < np.where(damaged, 0.8, 0.25)
    unbox_b = block(
        person,
        deliver + _delay(rng, n, 600, 6 * P.HOUR),
        "unboxing",
        touchpoint="unboxing",
        device=device,
        properties=json_obj(n, order_id=order_ids, damaged=damaged),
    )
    out.append(select(unbox_b, unbox))

    # support contacts
    first_cat = catalog.category[orders.line_product[orders.line_start]] if n else np.zeros(0, dtype=np.int64)
    wearable = first_cat <= 1
    u = rng.random(n)
    other = np.where(rng.random(n) < 0.6, np.where(wearable, 2, 3), 4)
    reason = np.where(
        damaged & (u < P.SUPPORT_P["damaged"]),
        1,
        np.where(late & (u < P.SUPPORT_P["late"]), 0, np.where(u < P.SUPPORT_P["other"], other, -1)),
    )
    late_contact = (ship_day + promised + 1) * P.DAY + 8 * P.HOUR + _delay(rng, n, 0, 10 * P.HOUR)
    late_contact = np.where(
        late_contact >= deliver, deliver - _delay(rng, n, P.HOUR, 3 * P.HOUR), late_contact
    )
    support_ts = np.select(
        [reason == 0, reason == 1],
        [late_contact, deliver + _delay(rng, n, P.HOUR, P.DAY)],
        deliver + _delay(rng, n, P.DAY, 10 * P.DAY),
    )
    support_ts = np.where(reason >= 0, support_ts, -1)
    via = names(VIA, rng.integers(0, len(VIA), n))
    sup_b = block(
        person,
        support_ts,
        "support_contact",
        touchpoint="customer_service",
        device=device,
        properties=json_obj(n, order_id=order_ids, reason=names(REASONS, np.maximum(reason, 0)), via=via),
    )
    out.append(select(sup_b, reason >= 0))
    csat = (reason >= 0) & (rng.random(n) < P.CSAT_P)
    csat_ts = np.where(csat, support_ts + 2 * P.HOUR + _delay(rng, n, 0, 48 * P.HOUR), -1)
    csat_good = rng.random(n) < 0.75

    # returns and refunds
    returned = rng.random(n) < np.where(damaged, P.RETURN_P_DAMAGED, P.RETURN_P + 0.05 * wearable)
    return_ts = deliver + _delay(rng, n, P.DAY, 14 * P.DAY)
    refund_ts = return_ts + _delay(rng, n, 3 * P.DAY, 10 * P.DAY)
    partial = returned & ~damaged & (orders.n_lines >= 2) & (rng.random(n) < 0.5)
    amount = np.where(partial, np.round(orders.revenue * (0.2 + 0.5 * rng.random(n)), 2), orders.revenue)
    done = returned & (refund_ts < P.END_S)
    status = np.where(done, np.where(partial, 2, 1), 0)
    refunded = np.where(done, amount, 0.0)
    why = names(("damaged", "changed_mind", "size"), np.where(damaged, 0, np.where(wearable, 2, 1)))
    out.append(
        select(
            block(
                person,
                return_ts,
                "return_requested",
                touchpoint="returns",
                device=device,
                properties=json_obj(n, order_id=order_ids, reason=why),
            ),
            returned,
        )
    )
    out.append(
        select(
            block(
                person,
                refund_ts,
                "refund",
                touchpoint="returns",
                properties=json_obj(n, order_id=order_ids, amount=amount),
            ),
            returned,
        )
    )

    # review request -> review (fewer after a late delivery: the weak touchpoint's drop to the next stage).
    # The review-request flow reaches customers with e-mail consent outside its holdout; a customer reviews
    # with a baseline chance without it, and the request raises it (the planted p_review is about the average).
    wait = np.where(
        deliver_day * P.DAY >= P.REVIEW_REQUEST_EARLIER_S,
        P.REVIEW_REQUEST_DAYS_AFTER,
        P.REVIEW_REQUEST_DAYS_BEFORE,
    )
    rr_send = (deliver_day + wait) * P.DAY + 9 * P.HOUR + _delay(rng, n, 0, 3 * P.HOUR)
    p_review = np.where(damaged, P.REVIEW_P_DAMAGED, np.where(late, P.REVIEW_P_LATE, P.REVIEW_P_ON_TIME))
    p_base = P.REVIEW_WITHOUT_REQUEST * p_review
    extra_p = (P.REVIEW_WITH_REQUEST - P.REVIEW_WITHOUT_REQUEST) * p_review / (1.0 - p_base)
    base = rng.random(n) < p_base
    requested = pop.consent_email[person] & ~rr_held[person]
    reviewed = base | (requested & (rng.random(n) < extra_p))
    open_t = rr_send + 60 + _exp(rng, n, 2 * P.HOUR, P.DAY)
    rr_click = open_t + 10 + _exp(rng, n, 180, 3600)
    rr_open = np.where(reviewed | (rng.random(n) < 0.45), open_t, -1)
    sent = np.flatnonzero(requested)
    out += email_events(
        person[sent],
        rr_send[sent],
        rr_open[sent],
        np.where(reviewed, rr_click, -1)[sent],
        touchpoint="review_request",
        campaign="review_request",
        device=device[sent],
        properties=props.take(pa.array(sent)),
    )
    candidate = rr_click + _delay(rng, n, 60, 900)
    review_ts = np.where(reviewed, candidate, -1)
    out.append(
        select(
            block(person, review_ts, "review", touchpoint="review", device=device, properties=props), reviewed
        )
    )

    # NPS survey
    invited = rng.random(n) < P.NPS_INVITE_P
    nps_send = (deliver_day + 14) * P.DAY + 10 * P.HOUR + _delay(rng, n, 0, 3 * P.HOUR)
    p_resp = np.where(late | damaged, P.NPS_RESPONSE_P_LATE, P.NPS_RESPONSE_P_ON_TIME)
    answered = invited & (rng.random(n) < p_resp)
    nps_open = np.where(
        answered | (invited & (rng.random(n) < 0.4)), nps_send + 60 + _exp(rng, n, 3 * P.HOUR, P.DAY), -1
    )
    nps_click = np.where(answered, nps_open + 10 + _exp(rng, n, 120, 1800), -1)
    inv = np.flatnonzero(invited)
    out += email_events(
        person[inv],
        nps_send[inv],
        nps_open[inv],
        nps_click[inv],
        touchpoint="nps_survey",
        campaign="nps_survey",
        device=device[inv],
        properties=props.take(pa.array(inv)),
    )
    nps_ts = np.where(answered, nps_click + _delay(rng, n, 30, 600), -1)
    survey = block(
        person,
        nps_ts,
        "survey_response",
        touchpoint="nps_survey",
        device=device,
        properties=json_obj(n, survey="nps", order_id=order_ids),
    )
    out.append(select(survey, answered))

    ces = rng.random(n) < P.CES_P
    ces_ts = np.where(ces, ts + _delay(rng, n, 30, 120), -1)
    out.append(
        select(
            block(
                person,
                ces_ts,
                "survey_response",
                touchpoint="checkout",
                device=device,
                properties=json_obj(n, survey="ces", order_id=order_ids),
            ),
            ces,
        )
    )
    out.append(
        select(
            block(
                person,
                csat_ts,
                "survey_response",
                touchpoint="customer_service",
                device=device,
                properties=json_obj(n, survey="csat", order_id=order_ids),
            ),
            csat,
        )
    )

    return Fulfilment(
        blocks=out,
        deliver_ts=deliver,
        late=late,
        damaged=damaged,
        transit_days=transit,
        ship_email_ts=ship_send,
        ship_variant=arm,
        ship_click_ts=np.where(clicked, click_s, -1),
        support_reason=reason,
        support_ts=support_ts,
        csat_ts=csat_ts,
        csat_good=csat_good,
        returned=returned,
        status=status,
        refunded=refunded,
        review_ts=review_ts,
        review_request_ts=rr_send,
        review_requested=requested,
        review_without_request=base,
        review_extra_p=extra_p,
        review_candidate_ts=candidate,
        nps_ts=nps_ts,
        ces_ts=ces_ts,
    )
