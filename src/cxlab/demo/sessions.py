"""Visits: the sessions of prospects up to their first purchase, and of customers afterwards.

A session is a row of :class:`Sessions`: who, when, through which channel and entry touchpoint, on which
device and of which type (bounce, browse, cart abandon, checkout abandon, purchase). The events inside a
session are laid out later by :mod:`cxlab.demo.journeys`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from cxlab.demo import params as P
from cxlab.demo.population import Population, time_of_day

MARGIN = 6 * P.HOUR
"""No session starts later than this before the end of the window, so it ends inside it."""


@dataclass
class Sessions:
    """Sessions as parallel arrays (codes; ``-1``: none)."""

    person: np.ndarray
    start: np.ndarray
    channel: np.ndarray
    entry: np.ndarray
    """Touchpoint of the click that opened the session (ad, e-mail, search result), or -1."""
    campaign: np.ndarray
    device: np.ndarray
    stype: np.ndarray
    signup: np.ndarray
    anchor: np.ndarray
    """For repeat purchases: the purchase time the session must end with; -1 otherwise."""
    phase: np.ndarray
    """0: prospect, 1: repeat purchase, 2: customer browsing."""
    order: np.ndarray
    """Order placed in the session, or -1 (set by the caller)."""

    @property
    def n(self) -> int:
        return int(self.person.size)


def concat_sessions(parts: list[Sessions]) -> Sessions:
    return Sessions(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Sessions)})


@dataclass
class Mails:
    """Abandoned-cart flow triggers: recipient, (would-be) send time, open time (-1: not opened) and whether
    the customer came back through it (``clicked``: the next session). For a customer in the flow's holdout
    (``held``) nothing is sent: they come back just the same (a direct visit), so the e-mail's planted effect
    is only the extra purchase added later (:mod:`cxlab.demo.flows`)."""

    person: np.ndarray
    send: np.ndarray
    opened: np.ndarray
    clicked: np.ndarray
    held: np.ndarray


def campaign_for(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """A campaign of each paid channel (uniform over its campaigns); -1 for the others."""
    first = P.CAMPAIGN_FIRST[channel]
    pick = (rng.random(channel.size) * np.maximum(P.CAMPAIGN_COUNT[channel], 1)).astype(np.int64)
    return np.where(first >= 0, first + pick, -1)


def session_device(rng: np.random.Generator, preferred: np.ndarray) -> np.ndarray:
    other = rng.choice(len(P.DEVICES), size=preferred.size, p=P.DEVICE_P)
    return np.where(rng.random(preferred.size) < P.DEVICE_LOYALTY, preferred, other)


def non_purchase_type(rng: np.random.Generator, start: np.ndarray) -> np.ndarray:
    """Bounce / browse / cart / checkout-abandon, with fewer checkout abandons after the redesign."""
    u = rng.random(start.size)
    before = np.searchsorted(np.cumsum(P.NON_PURCHASE_TYPE_P_BEFORE), u, side="right")
    after = np.searchsorted(np.cumsum(P.NON_PURCHASE_TYPE_P_AFTER), u, side="right")
    return np.minimum(np.where(start >= P.CHECKOUT_REDESIGN_S, after, before), P.CHECKOUT_ABANDON)


def _entry_and_campaign(
    rng: np.random.Generator, channel: np.ndarray, ac: np.ndarray, nl: np.ndarray, rt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    entry = P.ENTRY_TP_OF_CHANNEL[channel]
    entry = np.where(ac, P.TP["abandoned_cart_email"], np.where(rt, P.TP["retargeting_ad"], entry))
    camp = campaign_for(rng, channel)
    camp = np.where(ac, P.CAMP["abandoned_cart"], camp)
    camp = np.where(nl, P.CAMP["newsletter"], camp)
    camp = np.where(rt, P.CAMP["display_retargeting"], camp)
    return entry, camp


def prospect_sessions(
    rng: np.random.Generator, pop: Population, ac_held: np.ndarray
) -> tuple[Sessions, Mails]:
    """Each prospect's sessions from the first visit until the first purchase, leaving, or the window's end.

    Vectorised over prospects, one step per session number. A session converts with a probability set by
    its channel (the weak channel at half its peers) times the prospect's intent. Identified prospects
    (signed up) who consented to e-mail trigger the abandoned-cart flow after a cart or checkout abandon; a
    click on its e-mail opens the next session (for those in the flow's holdout, ``ac_held``, that return
    is a direct visit instead: the same return, no e-mail).
    """
    n = pop.n
    t = pop.first_visit.copy()
    active = t < P.END_S - MARGIN
    identified = np.zeros(n, dtype=bool)
    viewed = np.zeros(n, dtype=bool)
    pending = np.zeros(n, dtype=bool)
    direct, organic, email = P.CH["direct"], P.CH["organic_search"], P.CH["email"]
    recs: list[Sessions] = []
    mails: list[Mails] = []
    for k in range(P.MAX_PROSPECT_SESSIONS):
        idx = np.flatnonzero(active)
        m = idx.size
        if m == 0:
            break
        ac = pending[idx]
        mail = ac & ~ac_held[idx]
        if k == 0:
            ch = pop.primary[idx].copy()
            nl = np.zeros(m, dtype=bool)
            rt = np.zeros(m, dtype=bool)
        else:
            nl = ~ac & identified[idx] & pop.consent_email[idx] & (rng.random(m) < P.NEWSLETTER_SESSION_P)
            rt = ~ac & ~nl & viewed[idx] & (rng.random(m) < P.RETARGETING_P)
            pick = rng.choice(4, size=m, p=P.RETURN_CHANNEL_P)
            cand = np.stack(
                [pop.primary[idx], pop.secondary[idx], np.full(m, direct), np.full(m, organic)], 1
            )
            ch = cand[np.arange(m), pick]
            ch = np.where(mail | nl, email, np.where(ac, direct, np.where(rt, P.CH["display"], ch)))
        entry, camp = _entry_and_campaign(rng, ch, mail, nl, rt)
        start = t[idx]
        base = np.where(
            ac, P.ABANDONED_CART_PURCHASE_P, np.where(rt, P.RETARGETING_PURCHASE_P, P.SESSION_PURCHASE_P[ch])
        )
        buy = rng.random(m) < np.minimum(P.MAX_PURCHASE_P, base * pop.intent[idx])
        stype = np.where(buy, P.PURCHASE, non_purchase_type(rng, start))
        signup = ~buy & ~identified[idx] & (rng.random(m) < P.SIGNUP_P)
        recs.append(
            Sessions(
                person=idx,
                start=start.copy(),
                channel=ch,
                entry=entry,
                campaign=camp,
                device=session_device(rng, pop.device[idx]),
                stype=stype,
                signup=signup,
                anchor=np.full(m, -1),
                phase=np.zeros(m, dtype=np.int64),
                order=np.full(m, -1),
            )
        )
        identified[idx[signup]] = True
        viewed[idx[stype >= P.BROWSE]] = True

        abandon = (
            ((stype == P.CART) | (stype == P.CHECKOUT_ABANDON)) & identified[idx] & pop.consent_email[idx]
        )
        send = start + P.ABANDONED_CART_DELAY + rng.integers(0, P.ABANDONED_CART_SEND_SPREAD, size=m)
        opened = abandon & (rng.random(m) < P.ABANDONED_CART_OPEN_P)
        clicked = opened & (rng.random(m) < P.ABANDONED_CART_CLICK_P)
        open_ts = send + 60 + np.minimum(rng.exponential(2 * P.HOUR, size=m), 20 * P.HOUR).astype(np.int64)
        click_ts = open_ts + 20 + np.minimum(rng.exponential(300, size=m), 3600).astype(np.int64)
        mails.append(
            Mails(
                person=idx[abandon],
                send=send[abandon],
                opened=np.where(opened, open_ts, -1)[abandon],
                clicked=clicked[abandon],
                held=ac_held[idx[abandon]],
            )
        )

        leave = ~buy & ~clicked & (rng.random(m) < P.LEAVE_P)
        gap = rng.lognormal(np.log(P.SESSION_GAP_MEDIAN_DAYS), P.SESSION_GAP_SIGMA, size=m)
        nxt = time_of_day(rng, start // P.DAY + np.floor(gap).astype(np.int64))
        soon = nxt < start + MARGIN
        nxt = np.where(soon, start + MARGIN + rng.integers(0, MARGIN, size=m), nxt)
        nxt = np.where(clicked, click_ts, nxt)
        pending[idx] = clicked
        t[idx] = nxt
        active[idx] = ~buy & ~leave & (nxt < P.END_S - MARGIN)
    sess = concat_sessions(recs)
    mail = Mails(*(np.concatenate([getattr(x, f.name) for x in mails]) for f in fields(Mails)))
    return sess, mail


def _repeat_channel(
    rng: np.random.Generator, pop: Population, person: np.ndarray, probs: np.ndarray, damp_weak: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Channel of a customer's session (email, direct, primary, organic, secondary) and whether it is a
    newsletter click. With ``damp_weak`` half the weak channel's picks go to direct instead."""
    m = person.size
    pick = rng.choice(5, size=m, p=probs)
    cand = np.stack(
        [
            np.full(m, P.CH["email"]),
            np.full(m, P.CH["direct"]),
            pop.primary[person],
            np.full(m, P.CH["organic_search"]),
            pop.secondary[person],
        ],
        1,
    )
    ch = cand[np.arange(m), pick]
    ch = np.where((ch == P.CH["email"]) & ~pop.consent_email[person], P.CH["direct"], ch)
    if damp_weak:
        weak = (ch == P.CH[P.WEAK_CHANNEL]) & (rng.random(m) < 0.5)
        ch = np.where(weak, P.CH["direct"], ch)
    return ch, ch == P.CH["email"]


def customer_sessions(
    rng: np.random.Generator,
    pop: Population,
    repeat_person: np.ndarray,
    repeat_ts: np.ndarray,
    buyer: np.ndarray,
    first_ts: np.ndarray,
    alive_end: np.ndarray,
    n_repeat: np.ndarray,
) -> Sessions:
    """Sessions of customers after their first purchase: one per repeat purchase (ending at the purchase
    time) plus browse-only visits while they are still active."""
    m = repeat_person.size
    ch, nl = _repeat_channel(rng, pop, repeat_person, P.REPEAT_CHANNEL_P, damp_weak=True)
    none = np.zeros(m, dtype=bool)
    entry, camp = _entry_and_campaign(rng, ch, none, nl, none)
    purchases = Sessions(
        person=repeat_person,
        start=repeat_ts.copy(),
        channel=ch,
        entry=entry,
        campaign=camp,
        device=session_device(rng, pop.device[repeat_person]),
        stype=np.full(m, P.PURCHASE),
        signup=none,
        anchor=repeat_ts.copy(),
        phase=np.ones(m, dtype=np.int64),
        order=np.full(m, -1),
    )
    lo = first_ts + MARGIN
    hi = alive_end - MARGIN
    count = rng.poisson(P.BROWSE_PER_ORDER * (1 + n_repeat)) * (hi > lo)
    person = np.repeat(buyer, count)
    b = person.size
    lo_b, hi_b = np.repeat(lo, count), np.repeat(hi, count)
    start = lo_b + (rng.random(b) * (hi_b - lo_b)).astype(np.int64)
    ch, nl = _repeat_channel(rng, pop, person, P.BROWSE_CHANNEL_P, damp_weak=False)
    noneb = np.zeros(b, dtype=bool)
    entry, camp = _entry_and_campaign(rng, ch, noneb, nl, noneb)
    browse = Sessions(
        person=person,
        start=start,
        channel=ch,
        entry=entry,
        campaign=camp,
        device=session_device(rng, pop.device[person]),
        stype=non_purchase_type(rng, start),
        signup=noneb,
        anchor=np.full(b, -1),
        phase=np.full(b, 2, dtype=np.int64),
        order=np.full(b, -1),
    )
    return concat_sessions([purchases, browse])
