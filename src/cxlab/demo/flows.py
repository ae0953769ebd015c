"""The demo shop's automated flows: abandoned cart, review request and birthday, each with a holdout and a
planted effect, and the files that declare them (``flows/demo.toml``, ``[automate]``, ``contacts.csv``).

Every flow draws its holdout with :func:`cxlab.automate.holdout.assign` (the function the real flows use), so
a customer's arm is stable per customer and flow. A customer is exposed at the (would-be) send time of their
first trigger of the flow (both arms; customers without e-mail consent are never triggered), and the holdout
gets no message from the flow.

The effects are planted on top of a baseline that is simulated for both arms alike, and they move purchases
rather than add them, so every customer still buys by BG/NBD from their first order (``truth.json``'s
``bgnbd`` stays exact):

- abandoned cart (reaches identified prospects: the demo's carts left before a first purchase): the return
  visit an e-mail click opens happens in the holdout too (as a direct visit); on top, each sent e-mail that
  did not bring the prospect back anyway brings their first purchase, if they buy later, forward to a
  session from the e-mail, with probability ``AC_BONUS_Q``; the sessions in between never happen;
- birthday: each sent birthday e-mail brings a customer's next purchase, if they bought before and buy
  again later, forward to the birthday, with probability ``BIRTHDAY_BONUS_Q``;
- review request: a customer reviews an order with ``REVIEW_WITHOUT_REQUEST`` times the planted review
  probability anyway; the request raises it to the planted probability.

``true_lift`` is the expected relative lift of the flow's metric over all exposed customers (both arms, no
noise from the holdout split): with ``c0`` whether the customer converted in the window without the flow's
own effect and ``k`` the e-mails of theirs in the window that could add it (probability ``q`` each),
``p0 = mean(c0)``, ``p1 = mean(1 - (1 - c0) (1 - q)^k)`` and ``true_lift = p1 / p0 - 1`` (for one e-mail
per window that can always act this is ``(p0 + q (1 - p0)) / p0 - 1``). An e-mail counts in ``k`` when the
purchase (review) it would bring starts inside the window. The window sums are written here with NumPy
because the simulation holds every row in arrays already.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cxlab.automate.flows import DEFAULT_VARIANT, FLOWS_DIR, HOLDOUT, Automate
from cxlab.automate.holdout import assign
from cxlab.automate.timezones import zone_for
from cxlab.config import default_toml
from cxlab.demo import params as P
from cxlab.demo.blocks import ids, names
from cxlab.demo.catalog import catalog_table
from cxlab.demo.population import Population
from cxlab.demo.sessions import Mails, Sessions

ARMS = (HOLDOUT, DEFAULT_VARIANT)
"""Arm codes of the flow statistics: 0 holdout, 1 sent."""


@dataclass(frozen=True)
class FlowSpec:
    """One demo flow as simulated (and declared in ``flows/demo.toml``)."""

    name: str
    metric: str
    window_days: int
    touchpoint: str
    campaign: str
    priority: int
    trigger: str
    """The TOML inline table of the flow's trigger."""
    mechanism: str

    @property
    def window(self) -> str:
        return f"{self.window_days}d"


SPECS: dict[str, FlowSpec] = {
    "abandoned_cart": FlowSpec(
        "abandoned_cart",
        "conversion",
        P.AC_WINDOW_DAYS,
        "abandoned_cart_email",
        "abandoned_cart",
        30,
        '{ event = "add_to_cart", delay = "4h", cancel = ["purchase"] }',
        "the flow reaches identified prospects (carts left before a first purchase); each sent e-mail "
        "that did not bring the prospect back anyway brings their first purchase, if they buy later, "
        f"forward to a session from the e-mail, with probability {P.AC_BONUS_Q}",
    ),
    "review_request": FlowSpec(
        "review_request",
        "review_rate",
        P.REVIEW_WINDOW_DAYS,
        "review_request",
        "review_request",
        20,
        f'{{ event = "delivered", delay = "{P.REVIEW_REQUEST_DAYS_AFTER}d" }}',
        f"a customer reviews an order with {P.REVIEW_WITHOUT_REQUEST} times the planted review probability "
        f"(on time {P.REVIEW_P_ON_TIME}, late {P.REVIEW_P_LATE}, damaged {P.REVIEW_P_DAMAGED}) without a "
        f"request and {P.REVIEW_WITH_REQUEST} times it with one (only customers with e-mail consent outside "
        "the holdout get requests)",
    ),
    "birthday": FlowSpec(
        "birthday",
        "conversion",
        P.BIRTHDAY_WINDOW_DAYS,
        "loyalty",
        "birthday",
        10,
        f'{{ date = "birthday", at = "{P.BIRTHDAY_HOUR:02d}:00" }}',
        "each sent birthday e-mail brings the next purchase of a customer who bought before and buys "
        f"again later forward to the birthday, with probability {P.BIRTHDAY_BONUS_Q} (planted large: fewer "
        "customers are exposed than to the other flows, and so the 95% interval on the 50,000-customer demo "
        "excludes zero; on small demos it is wide)",
    ),
}
FLOW_INDEX = {name: i for i, name in enumerate(P.FLOW_NAMES)}


def held_out(flow: str, gid: np.ndarray) -> np.ndarray:
    """Whether each person (global number ``gid``) is in ``flow``'s holdout."""
    customer_ids = ids("C", gid).to_pylist()
    return assign(flow, customer_ids, P.FLOW_HOLDOUT, {DEFAULT_VARIANT: 1.0}) == HOLDOUT


def first_per_person(person: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each person's earliest ``ts``: (persons in ascending order, their first time)."""
    if person.size == 0:
        return person.astype(np.int64), ts.astype(np.int64)
    order = np.lexsort((ts, person))
    p, t = person[order], ts[order]
    first = np.r_[True, p[1:] != p[:-1]]
    return p[first], t[first]


def window_sum(
    item_person: np.ndarray,
    item_ts: np.ndarray,
    item_value: np.ndarray,
    person: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """Per query row, the sum of ``item_value`` over the items of ``person`` with ``lo <= ts < hi``."""
    key = (item_person.astype(np.int64) << 32) | item_ts.astype(np.int64)
    order = np.argsort(key, kind="stable")
    key = key[order]
    csum = np.r_[0.0, np.cumsum(item_value[order].astype(np.float64))]
    base = person.astype(np.int64) << 32
    a = np.searchsorted(key, base | lo.astype(np.int64), side="left")
    b = np.searchsorted(key, base | np.maximum(hi, lo).astype(np.int64), side="left")
    return np.asarray(csum[b] - csum[a])


def _zones() -> tuple[str, ...]:
    """Each demo country's time zone, as the flows' planner finds it (:func:`cxlab.automate.timezones.zone_for`
    with the default settings), so the simulated birthday e-mails leave when the real ones would."""
    return tuple(str(zone_for(c, Automate())) for c in P.COUNTRIES)


@lru_cache(maxsize=1)
def _utc_offsets() -> np.ndarray:
    """Seconds to add to UTC for local time at 09:00 on each day of the window, per country."""
    days = (P.END_S - P.START_S) // P.DAY
    out = np.zeros((len(P.COUNTRIES), days + 1), dtype=np.int64)
    start = datetime(P.WINDOW_START.year, 1, 1)
    for c, zone in enumerate(_zones()):
        tz = ZoneInfo(zone)
        for d in range(days + 1):
            local = (start + timedelta(days=d)).replace(hour=P.BIRTHDAY_HOUR, tzinfo=tz)
            off = local.utcoffset()
            out[c, d] = int(off.total_seconds()) if off is not None else 0
    return out


def birthday_triggers(pop: Population, ident: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every birthday e-mail due inside the window: (person, send time in UTC), at 09:00 local on each
    birthday after the customer was identified, for customers with a birthday and e-mail consent. A
    29 February birthday falls on 1 March in other years."""
    who = np.flatnonzero((ident < P.END_S) & pop.has_birthday & pop.consent_email)
    born = pop.birthday[who].astype("datetime64[D]")
    month = born.astype("datetime64[M]") - born.astype("datetime64[Y]").astype("datetime64[M]")
    day = born - born.astype("datetime64[M]").astype("datetime64[D]")
    people, times = [], []
    for year in range(P.WINDOW_START.year, P.WINDOW_END_EXCL.year):
        date = (np.datetime64(f"{year}-01", "M") + month).astype("datetime64[D]") + day
        d = date.astype(np.int64)
        idx = np.clip(d - P.START_S // P.DAY, 0, _utc_offsets().shape[1] - 1)
        ts = d * P.DAY + P.BIRTHDAY_HOUR * P.HOUR - _utc_offsets()[pop.country[who], idx]
        ok = (ts >= ident[who]) & (ts >= P.START_S) & (ts < P.END_S)
        people.append(who[ok])
        times.append(ts[ok])
    person = np.concatenate(people) if people else np.zeros(0, dtype=np.int64)
    ts = np.concatenate(times) if times else np.zeros(0, dtype=np.int64)
    return person.astype(np.int64), ts.astype(np.int64)


@dataclass
class Triggers:
    """One flow's triggers in a batch: who, the (would-be) send time, whether held out, when the e-mail was
    opened, when a purchase it brings forward would start (``bonus_ts``; -1 when it can't bring one
    forward), whether it does (``bonus``), whether the e-mail goes out at all (``delivered``: not after the
    customer already bought because of an earlier one) and the chance ``q`` of the planted effect."""

    person: np.ndarray
    send: np.ndarray
    held: np.ndarray
    opened: np.ndarray
    bonus_ts: np.ndarray
    bonus: np.ndarray
    delivered: np.ndarray
    q: float


MARGIN = 6 * P.HOUR
"""A purchase brought forward starts at least this long before the window closes (it ends inside it)."""


def _clicks(rng: np.random.Generator, send: np.ndarray, opened: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """When an e-mail that brings a purchase forward is opened (its open, else a new one) and clicked."""
    m = send.size
    open2 = send + 60 + np.minimum(rng.exponential(2 * P.HOUR, m), 20 * P.HOUR).astype(np.int64)
    open_at = np.where(opened >= 0, opened, open2)
    return open_at, open_at + 20 + np.minimum(rng.exponential(300, m), 3600).astype(np.int64)


def pull_first_purchases(
    rng: np.random.Generator, pop: Population, sess: Sessions, mails: Mails
) -> tuple[Sessions, Triggers, tuple[np.ndarray, np.ndarray]]:
    """The abandoned-cart flow's planted effect on the prospects' sessions.

    An e-mail that did not bring the prospect back anyway, to a prospect who buys later, brings that first
    purchase forward to a session opened by its click, with probability ``AC_BONUS_Q`` (drawn for both
    arms, realised in the sent one); the prospect's sessions in between never happen, so everything after
    the first purchase (repeat buying by BG/NBD) follows from it as for any customer. Returns the sessions,
    the flow's triggers and the (person, original start) of each purchase brought forward."""
    live = mails.send < P.END_S
    person, send, opened = mails.person[live], mails.send[live], mails.opened[live]
    held, clicked = mails.held[live], mails.clicked[live]
    pur = np.flatnonzero(sess.stype == P.PURCHASE)
    row = np.full(pop.n, -1, dtype=np.int64)
    row[sess.person[pur]] = pur
    first_buy = np.full(pop.n, -1, dtype=np.int64)
    first_buy[sess.person[pur]] = sess.start[pur]
    open_at, click = _clicks(rng, send, opened)
    eligible = ~clicked & (click < first_buy[person]) & (click < P.END_S - MARGIN)
    bonus = (rng.random(person.size) < P.AC_BONUS_Q) & eligible & ~held
    who, at = first_per_person(person[bonus], click[bonus])
    r = row[who]
    original = sess.start[r].copy()
    sess.start[r] = at
    mark_sessions(sess, r, "abandoned_cart_email", "abandoned_cart")
    pull_at = np.full(pop.n, np.iinfo(np.int64).max, dtype=np.int64)
    pull_at[who] = at
    drop = (sess.start >= pull_at[sess.person]) & (sess.stype != P.PURCHASE)
    sess = Sessions(**{f.name: getattr(sess, f.name)[~drop] for f in fields(Sessions)})
    trig = Triggers(
        person=person,
        send=send,
        held=held,
        opened=np.where(bonus, open_at, opened),
        bonus_ts=np.where(eligible, click, -1),
        bonus=bonus,
        delivered=send < pull_at[person],
        q=P.AC_BONUS_Q,
    )
    return sess, trig, (who, original)


def pull_repeat_purchases(
    rng: np.random.Generator,
    pop: Population,
    held: np.ndarray,
    ident: np.ndarray,
    buyer: np.ndarray,
    first_ts: np.ndarray,
    rep_person: np.ndarray,
    rep_ts: np.ndarray,
) -> tuple[Triggers, np.ndarray, np.ndarray]:
    """The birthday flow: its e-mails, and their planted effect on the repeat purchases (``rep_ts`` is
    changed in place).

    A birthday e-mail to a customer who bought before and buys again later brings that next purchase
    forward to the birthday, with probability ``BIRTHDAY_BONUS_Q`` (drawn for both arms, realised in the
    sent one): how often customers buy is unchanged, only when. Returns the triggers, the repeat orders
    brought forward and the repeat times as they were before."""
    person, send = birthday_triggers(pop, ident)
    m = person.size
    opened = np.where(
        rng.random(m) < P.BIRTHDAY_OPEN_P,
        send + 60 + np.minimum(rng.exponential(3 * P.HOUR, m), 20 * P.HOUR).astype(np.int64),
        -1,
    )
    open_at, click = _clicks(rng, send, opened)
    u = rng.random(m)
    h = held[person]
    first = np.full(pop.n, np.iinfo(np.int64).max, dtype=np.int64)
    first[buyer] = first_ts
    before = rep_ts.copy()
    order = np.argsort((rep_person.astype(np.int64) << 32) | rep_ts, kind="stable")
    eligible = np.zeros(m, dtype=bool)
    bonus = np.zeros(m, dtype=bool)
    pulled: list[np.ndarray] = []
    year = send.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64)
    for y in np.unique(year):  # a year at a time: one birthday per customer, each after the last pull
        sel = np.flatnonzero(year == y)
        key = ((rep_person.astype(np.int64) << 32) | rep_ts)[order]
        pos = np.searchsorted(key, (person[sel].astype(np.int64) << 32) | click[sel], side="right")
        idx = order[np.minimum(pos, max(order.size - 1, 0))] if order.size else np.zeros(sel.size, np.int64)
        has = (
            (pos < order.size) & (rep_person[idx] == person[sel]) if order.size else np.zeros(sel.size, bool)
        )
        ok = has & (first[person[sel]] < click[sel]) & (click[sel] < P.END_S - MARGIN)
        b = ok & (u[sel] < P.BIRTHDAY_BONUS_Q) & ~h[sel]
        rep_ts[idx[b]] = np.minimum(click[sel][b] + 2 * P.HOUR, rep_ts[idx[b]])
        eligible[sel], bonus[sel] = ok, b
        pulled.append(idx[b])
    trig = Triggers(
        person=person,
        send=send,
        held=h,
        opened=np.where(bonus, open_at, opened),
        bonus_ts=np.where(eligible, click, -1),
        bonus=bonus,
        delivered=np.ones(m, dtype=bool),
        q=P.BIRTHDAY_BONUS_Q,
    )
    return trig, np.concatenate(pulled) if pulled else np.zeros(0, dtype=np.int64), before


def mark_sessions(sess: Sessions, rows: np.ndarray, touchpoint: str, campaign: str) -> None:
    """Make ``rows`` of ``sess`` sessions opened by a click in a flow's e-mail."""
    sess.channel[rows] = P.CH["email"]
    sess.entry[rows] = P.TP[touchpoint]
    sess.campaign[rows] = P.CAMP[campaign]


def flow_stats(
    person: np.ndarray,
    t1: np.ndarray,
    held: np.ndarray,
    window_days: int,
    base: tuple[np.ndarray, np.ndarray],
    observed: tuple[np.ndarray, np.ndarray],
    chances: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """A flow's additive truth statistics for its exposed customers (``person``, first exposure ``t1``):
    ``[n_holdout, n_sent, sum c0, sum p1, observed_holdout, observed_sent]``.

    ``base``: (person, ts) of the outcome events without the flow's own effect; ``observed``: of every
    outcome event in the data; ``chances``: (person, ts, q) of each way the flow's effect could add the
    outcome (an e-mail's extra purchase, an order's extra review)."""
    hi = np.minimum(t1 + window_days * P.DAY, P.END_S)
    c0 = window_sum(*base, np.ones(base[0].size), person, t1, hi) > 0
    obs = window_sum(*observed, np.ones(observed[0].size), person, t1, hi) > 0
    log_miss = window_sum(chances[0], chances[1], np.log1p(-chances[2]), person, t1, hi)
    p1 = 1.0 - (1.0 - c0) * np.exp(log_miss)
    arm = (~held).astype(np.int64)
    return np.array(
        [
            float((arm == 0).sum()),
            float((arm == 1).sum()),
            float(c0.sum()),
            float(p1.sum()),
            float(obs[arm == 0].sum()),
            float(obs[arm == 1].sum()),
        ]
    )


def exposures_rows(
    gid: np.ndarray, flow: str, person: np.ndarray, t1: np.ndarray, held: np.ndarray
) -> dict[str, Any]:
    """Exposure rows of one flow (columns of the ``exposures`` table, times in seconds)."""
    n = person.size
    return {
        "experiment_id": pa.array([f"flow:{flow}"], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64))),
        "variant": names(ARMS, (~held).astype(np.int64)),
        "customer_id": ids("C", gid[person]),
        "ts": t1,
    }


def flows_truth(stats: np.ndarray) -> dict[str, Any]:
    """``truth.json`` → ``flows``: per flow its metric, window, holdout, true lift and what was seen."""
    out: dict[str, Any] = {}
    for name, i in FLOW_INDEX.items():
        spec = SPECS[name]
        n_h, n_s, c0, p1, o_h, o_s = (float(v) for v in stats[i])
        n = n_h + n_s
        p0 = c0 / n if n else None
        pe = p1 / n if n else None
        outcome = "an order" if spec.metric == "conversion" else "a review event"
        out[name] = {
            "experiment_id": f"flow:{name}",
            "channel": "email",
            "touchpoint": spec.touchpoint,
            "metric": spec.metric,
            "window": spec.window,
            "holdout": P.FLOW_HOLDOUT,
            "true_lift": round(pe / p0 - 1.0, 5) if p0 and pe else None,
            "definition": f"{spec.metric}: share of exposed customers with {outcome} within {spec.window} "
            "after their first exposure (the would-be send time of their first trigger of the flow); "
            "true_lift = p1 / p0 - 1 over all exposed customers (both arms): p0 the rate without the flow's "
            "effect, p1 its expectation with every exposed customer sent the flow's messages. Effect: "
            f"{spec.mechanism}",
            "planted": _planted(name),
            "exposed": int(n),
            "exposed_by_arm": {HOLDOUT: int(n_h), DEFAULT_VARIANT: int(n_s)},
            "baseline_rate": round(p0, 5) if p0 is not None else None,
            "expected_send_rate": round(pe, 5) if pe is not None else None,
            "observed": {
                HOLDOUT: {"n": int(n_h), "converted": int(o_h), "rate": round(o_h / n_h, 5) if n_h else None},
                DEFAULT_VARIANT: {
                    "n": int(n_s),
                    "converted": int(o_s),
                    "rate": round(o_s / n_s, 5) if n_s else None,
                },
            },
        }
    return out


def _planted(name: str) -> dict[str, Any]:
    if name == "abandoned_cart":
        return {"q": P.AC_BONUS_Q, "delay_h": P.ABANDONED_CART_DELAY // P.HOUR}
    if name == "birthday":
        return {
            "q": P.BIRTHDAY_BONUS_Q,
            "local_hour": P.BIRTHDAY_HOUR,
            "timezones": dict(zip(P.COUNTRIES, _zones(), strict=True)),
        }
    return {
        "review_p_factor_without_request": P.REVIEW_WITHOUT_REQUEST,
        "review_p_factor_with_request": P.REVIEW_WITH_REQUEST,
        "review_p": {
            "on_time": P.REVIEW_P_ON_TIME,
            "late": P.REVIEW_P_LATE,
            "damaged": P.REVIEW_P_DAMAGED,
        },
        "delay_days": {
            "before_CH004": P.REVIEW_REQUEST_DAYS_BEFORE,
            "after_CH004": P.REVIEW_REQUEST_DAYS_AFTER,
        },
    }


PHONE_PREFIX = ("31", "49", "45", "44")
"""Calling code of each country in :data:`COUNTRIES`."""


def demo_emails(gid: np.ndarray) -> list[str]:
    """The made-up e-mail address of each person: ``c00001234@example.invalid`` (a reserved domain)."""
    return [f"c{g:08d}@example.invalid" for g in gid.tolist()]


def demo_phones(gid: np.ndarray, country: np.ndarray, seed: int) -> list[str]:
    """The made-up phone number of each person (fixed by person, country and seed)."""
    return [
        f"+{PHONE_PREFIX[c]}{(g * 7919 + seed) % 10**9:09d}"
        for g, c in zip(gid.tolist(), country.tolist(), strict=True)
    ]


# --- the files that declare the flows ---------------------------------------------------------------

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "NL": ("Sanne", "Daan", "Lotte", "Bram", "Emma", "Jeroen", "Fleur", "Thijs"),
    "DE": ("Anna", "Lukas", "Lena", "Jonas", "Mia", "Felix", "Laura", "Paul"),
    "DK": ("Freja", "Mads", "Ida", "Rasmus", "Sofie", "Mikkel", "Emma", "Anders"),
    "GB": ("Olivia", "James", "Amelia", "Harry", "Isla", "George", "Emily", "Jack"),
}
"""A few common first names per country for the made-up contacts."""

MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "abandoned_cart": {
        "en": (
            "Your cart at {{ shop }} is saved",
            "Hi {{ first_name or 'there' }},\n\nYou left a few things in your cart at {{ shop }}. We kept it "
            "for you, so you can pick up where you left off whenever it suits you.\n"
            "{% for r in recommendations %}\n- {{ r.name }}{% endfor %}\n\nKind regards,\n{{ shop }}",
        ),
        "nl": (
            "Je winkelmandje bij {{ shop }} staat klaar",
            "Hoi {{ first_name or 'daar' }},\n\nEr liggen nog een paar dingen in je winkelmandje bij {{ shop }}. "
            "We hebben het voor je bewaard, dus je kunt verder wanneer het jou uitkomt.\n"
            "{% for r in recommendations %}\n- {{ r.name }}{% endfor %}\n\nGroeten,\n{{ shop }}",
        ),
        "da": (
            "Din kurv hos {{ shop }} er gemt",
            "Hej {{ first_name or 'der' }},\n\nDu har stadig et par ting i din kurv hos {{ shop }}. Vi har gemt "
            "den, så du kan fortsætte, når det passer dig.\n"
            "{% for r in recommendations %}\n- {{ r.name }}{% endfor %}\n\nVenlig hilsen,\n{{ shop }}",
        ),
        "de": (
            "Ihr Warenkorb bei {{ shop }} ist gespeichert",
            "Hallo {{ first_name or 'zusammen' }},\n\nIn Ihrem Warenkorb bei {{ shop }} liegen noch ein paar "
            "Artikel. Wir haben ihn für Sie gespeichert, damit Sie weitermachen können, wann es Ihnen passt.\n"
            "{% for r in recommendations %}\n- {{ r.name }}{% endfor %}\n\nViele Grüße,\n{{ shop }}",
        ),
    },
    "review_request": {
        "en": (
            "How is your order from {{ shop }}?",
            "Hi {{ first_name or 'there' }},\n\nWe hope your order arrived well. If you have a minute, we would "
            "love to hear what you think: your review helps other customers choose.\n\nThank you,\n{{ shop }}",
        ),
        "nl": (
            "Hoe bevalt je bestelling van {{ shop }}?",
            "Hoi {{ first_name or 'daar' }},\n\nWe hopen dat je bestelling goed is aangekomen. Heb je even tijd? "
            "We horen graag wat je ervan vindt: je review helpt andere klanten kiezen.\n\nBedankt,\n{{ shop }}",
        ),
        "da": (
            "Hvordan er din ordre fra {{ shop }}?",
            "Hej {{ first_name or 'der' }},\n\nVi håber, din ordre er kommet godt frem. Har du et øjeblik, vil "
            "vi gerne høre, hvad du synes: din anmeldelse hjælper andre kunder.\n\nTak,\n{{ shop }}",
        ),
        "de": (
            "Wie gefällt Ihnen Ihre Bestellung von {{ shop }}?",
            "Hallo {{ first_name or 'zusammen' }},\n\nWir hoffen, Ihre Bestellung ist gut angekommen. Wenn Sie "
            "einen Moment Zeit haben, freuen wir uns über Ihre Bewertung: sie hilft anderen Kunden bei der "
            "Wahl.\n\nVielen Dank,\n{{ shop }}",
        ),
    },
    "birthday": {
        "en": (
            "Happy birthday from {{ shop }}",
            "Hi {{ first_name or 'there' }},\n\nHappy birthday! Everyone at {{ shop }} wishes you a lovely day. "
            "Treat yourself, if you like: we are here whenever you feel like it.\n\nWarm wishes,\n{{ shop }}",
        ),
        "nl": (
            "Gefeliciteerd namens {{ shop }}",
            "Hoi {{ first_name or 'daar' }},\n\nGefeliciteerd met je verjaardag! Iedereen bij {{ shop }} wenst je "
            "een fijne dag. Iets leuks voor jezelf? We zijn er wanneer jij wilt.\n\nHartelijke groet,\n{{ shop }}",
        ),
        "da": (
            "Tillykke med fødselsdagen fra {{ shop }}",
            "Hej {{ first_name or 'der' }},\n\nTillykke med fødselsdagen! Alle hos {{ shop }} ønsker dig en "
            "dejlig dag. Vi er her, når du har lyst.\n\nKærlig hilsen,\n{{ shop }}",
        ),
        "de": (
            "Alles Gute zum Geburtstag von {{ shop }}",
            "Hallo {{ first_name or 'zusammen' }},\n\nAlles Gute zum Geburtstag! Das ganze Team von {{ shop }} "
            "wünscht Ihnen einen schönen Tag. Wir sind da, wann immer Sie möchten.\n\nHerzliche Grüße,\n"
            "{{ shop }}",
        ),
    },
}
"""Subject and body per flow and language (Jinja2; calm, no pressure)."""

DESCRIPTIONS = {
    "abandoned_cart": "A reminder 4 hours after an identified customer leaves a cart, unless they buy first.",
    "review_request": f"Asks for a review {P.REVIEW_REQUEST_DAYS_AFTER} days after delivery (7 before change "
    "CH004).",
    "birthday": "Birthday wishes at 09:00 in the customer's time zone.",
}

AUTOMATE_TOML = """
# Automated flows of the demo shop (declared in flows/demo.toml): sent to a file outbox, never e-mailed.
[automate]
contacts = "contacts.csv"
language_fallback = ["en"]

[automate.delivery.email]
adapter = "file"
path = "outbox"
"""
"""The ``[automate]`` section ``cxlab demo`` appends to the demo's ``cxlab.toml``."""


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def flows_toml() -> str:
    """``flows/demo.toml``: the three flows exactly as the demo simulates them."""
    lines = [
        "# The demo shop's automated flows, as simulated in its history (see truth.json -> flows).",
        "# Each has a 10% holdout recorded as exposures 'flow:<name>'; `cxlab flows report` measures them.",
    ]
    for name in P.FLOW_NAMES:
        spec = SPECS[name]
        lines += [
            "",
            f"[flows.{name}]",
            f"description = {_toml_str(DESCRIPTIONS[name])}",
            'channel = "email"',
            f"priority = {spec.priority}",
            f"trigger = {spec.trigger}",
            f"holdout = {P.FLOW_HOLDOUT}",
            f'metric = "{spec.metric}"',
            f'window = "{spec.window}"',
            f'touchpoint = "{spec.touchpoint}"',
        ]
        for lang in ("nl", "da", "en", "de"):
            subject, body = MESSAGES[name][lang]
            lines += [
                "",
                f"[flows.{name}.messages.{lang}]",
                f"subject = {_toml_str(subject)}",
                f"body = {_toml_str(body)}",
            ]
    return "\n".join(lines) + "\n"


def contacts_table(customer_files: list[Path], seed: int) -> pa.Table:
    """The shop's contact file for the customers with e-mail or SMS consent: made-up addresses on the
    reserved ``.invalid`` domain, phone numbers where they consented to SMS, a first name from a short list
    per country. The addresses are those whose hashes the customers table stores."""
    cols = ["customer_id", "country", "consent_email", "consent_sms", "phone_hash"]
    t = pa.concat_tables([pq.read_table(f, columns=cols) for f in customer_files])
    t = t.filter(pc.or_(t["consent_email"], t["consent_sms"]))
    gid = np.array([int(c[1:]) for c in t["customer_id"].to_pylist()], dtype=np.int64)
    country = np.array([P.COUNTRIES.index(c) for c in t["country"].to_pylist()], dtype=np.int64)
    email_ok = t["consent_email"].to_numpy(zero_copy_only=False)
    phone_ok = t["consent_sms"].to_numpy(zero_copy_only=False) & t["phone_hash"].is_valid().to_numpy(
        zero_copy_only=False
    )
    emails = demo_emails(gid)
    phones = demo_phones(gid, country, seed)
    pools = [FIRST_NAMES[c] for c in P.COUNTRIES]
    first = [
        pools[c][(g * 7919) % len(pools[c])] for g, c in zip(gid.tolist(), country.tolist(), strict=True)
    ]
    return pa.table(
        {
            "customer_id": t["customer_id"],
            "email": pa.array(
                [e if ok else None for e, ok in zip(emails, email_ok, strict=True)], pa.string()
            ),
            "phone": pa.array(
                [p if ok else None for p, ok in zip(phones, phone_ok, strict=True)], pa.string()
            ),
            "first_name": pa.array(first, pa.string()),
        }
    )


def write_flow_files(project_dir: Path, customer_files: list[Path], seed: int) -> list[Path]:
    """Declare the demo's flows beside its ``cxlab.toml``: ``flows/demo.toml``, the ``[automate]`` section
    (file delivery to ``outbox/``, contacts from ``contacts.csv``), ``contacts.csv``, and the product catalog
    ``products.csv`` that recommendations read names and categories from; returns the files."""
    folder = project_dir / FLOWS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    flows_path = folder / "demo.toml"
    flows_path.write_text(flows_toml(), encoding="utf-8")
    config = project_dir / "cxlab.toml"
    text = config.read_text(encoding="utf-8") if config.exists() else default_toml()
    if not re.search(r"^\s*\[automate\]", text, flags=re.MULTILINE):
        config.write_text(text.rstrip("\n") + "\n" + AUTOMATE_TOML, encoding="utf-8")
    contacts = project_dir / "contacts.csv"
    pacsv.write_csv(contacts_table(customer_files, seed), contacts)
    from cxlab.demo.simulate import make_demo_catalog  # imports this module
    from cxlab.personalize.data import CATALOG_NAME

    products = project_dir / CATALOG_NAME
    pacsv.write_csv(catalog_table(make_demo_catalog(seed)), products)
    return [flows_path, config, contacts, products]
