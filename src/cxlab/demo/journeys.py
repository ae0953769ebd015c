"""The events inside sessions: entry click, page views, product views, cart, checkout, purchase.

Each session is a sequence of *slots* (entry click, landing page, browsing, sign-up, add to cart, more
browsing, checkout, a step back to a product and to checkout again, purchase); the session's type sets how
many events each slot gets, so journeys skip, repeat and go back. Everything is built flat for all sessions
at once with ``repeat``/``cumsum``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlab.demo import params as P
from cxlab.demo.blocks import EventBlock, block, email_events, json_obj, names, select
from cxlab.demo.catalog import Catalog
from cxlab.demo.purchases import Orders
from cxlab.demo.sessions import Sessions

N_SLOTS = 10
ENTRY, LANDING, BROWSE1, SIGNUP, CART, BROWSE2, CHECKOUT, BACK_VIEW, BACK_CHECKOUT, BUY = range(N_SLOTS)
_BROWSE_EVENT = -2
SLOT_EVENT = np.array(
    [
        -1,
        P.EV["page_view"],
        _BROWSE_EVENT,
        P.EV["sign_up"],
        P.EV["add_to_cart"],
        _BROWSE_EVENT,
        P.EV["checkout"],
        P.EV["view_item"],
        P.EV["checkout"],
        P.EV["purchase"],
    ]
)
EVENT_TOUCHPOINT = np.full(len(P.EVENTS), -1)
for _ev, _tp in (
    ("page_view", "site"),
    ("view_item", "product_page"),
    ("sign_up", "site"),
    ("add_to_cart", "cart"),
    ("checkout", "checkout"),
    ("purchase", "checkout"),
):
    EVENT_TOUCHPOINT[P.EV[_ev]] = P.TP[_tp]
MAX_GAP = 600


@dataclass
class Walk:
    """The events of a set of sessions and what the caller needs from them."""

    blocks: list[EventBlock]
    start: np.ndarray
    purchase_ts: np.ndarray
    signup_ts: np.ndarray
    checkout: np.ndarray
    """Whether the session reached checkout."""


def _slot_counts(rng: np.random.Generator, sess: Sessions, n_lines: np.ndarray) -> np.ndarray:
    n = sess.n
    st = sess.stype
    buy = st == P.PURCHASE
    cartish = st >= P.CART
    c = np.zeros((n, N_SLOTS), dtype=np.int64)
    c[:, ENTRY] = sess.entry >= 0
    c[:, LANDING] = 1
    b1 = np.select(
        [st == P.BOUNCE, st == P.BROWSE, buy],
        [0, 1 + rng.poisson(3.0, n), rng.poisson(1.5, n)],
        1 + rng.poisson(2.0, n),
    )
    c[:, BROWSE1] = np.minimum(b1, 12)
    c[:, SIGNUP] = sess.signup
    c[:, CART] = np.where(buy, n_lines, np.where(cartish, 1 + (rng.random(n) < 0.3), 0))
    c[:, BROWSE2] = np.where(cartish, np.minimum(rng.poisson(np.where(buy, 0.5, 1.0)), 6), 0)
    c[:, CHECKOUT] = st >= P.CHECKOUT_ABANDON
    back = (st >= P.CHECKOUT_ABANDON) & (rng.random(n) < np.where(buy, 0.15, 0.25))
    c[:, BACK_VIEW] = back
    c[:, BACK_CHECKOUT] = back
    c[:, BUY] = buy
    return c


def walk(
    rng: np.random.Generator,
    sess: Sessions,
    session_base: int,
    orders: Orders,
    order_ids: pa.Array,
    catalog: Catalog,
) -> Walk:
    """Lay out the events of ``sess``; purchase sessions (``sess.order >= 0``) put the order's lines in
    the cart and, when anchored, end exactly at the anchor time. Event ``session`` numbers are
    ``session_base + row``."""
    n = sess.n
    has_order = sess.order >= 0
    oi = np.maximum(sess.order, 0)
    n_lines = np.where(has_order, orders.n_lines[oi] if orders.n else 0, 0)
    c = _slot_counts(rng, sess, n_lines)
    tot = c.sum(1)
    first = np.r_[0, np.cumsum(tot)[:-1]].astype(np.int64)
    e = int(tot.sum())
    slot = np.repeat(np.tile(np.arange(N_SLOTS), n), c.ravel())
    s = np.repeat(np.arange(n), tot)
    pos = np.arange(e) - first[s]

    gap = 5.0 + np.minimum(rng.exponential(45.0, e), MAX_GAP)
    gap = np.where(slot == BUY, 20.0 + np.minimum(rng.exponential(60.0, e), MAX_GAP), gap)
    gap = np.where(slot == LANDING, 2.0, gap)
    gap[pos == 0] = 0.0
    cs = np.cumsum(gap)
    offset = np.floor(cs - cs[first[s]]).astype(np.int64)
    last = first + tot - 1
    start = np.where(sess.anchor >= 0, sess.anchor - offset[last], sess.start)
    ts = start[s] + offset

    ev = SLOT_EVENT[slot]
    ev = np.where(slot == ENTRY, P.ENTRY_EVENT_OF_TP[np.maximum(sess.entry[s], 0)], ev)
    ev = np.where(
        ev == _BROWSE_EVENT, np.where(rng.random(e) < 0.65, P.EV["view_item"], P.EV["page_view"]), ev
    )
    tp = np.where(slot == ENTRY, sess.entry[s], EVENT_TOUCHPOINT[ev])

    product = catalog.sample(rng, e)
    cart_rank = pos - c[:, :CART].sum(1)[s]
    in_order = (slot == CART) & has_order[s]
    line = np.where(in_order, orders.line_start[oi[s]] + cart_rank if orders.n else 0, 0)
    product = np.where(in_order, orders.line_product[line] if orders.n else 0, product)
    qty = np.where(in_order, orders.line_qty[line] if orders.n else 1, 1 + (rng.random(e) < 0.1))

    allb = block(
        s,
        ts,
        "page_view",
        touchpoint=tp,
        channel=sess.channel[s],
        campaign=sess.campaign[s],
        device=sess.device[s],
        session=session_base + s,
    )
    allb.event = ev
    ids = catalog.id_array
    out: list[EventBlock] = []
    for code in np.unique(ev):
        m = np.flatnonzero(ev == code)
        k = m.size
        name = P.EVENTS[code]
        props: pa.Array = pa.nulls(k, pa.string())
        if name == "page_view":
            props = json_obj(k, page=names(P.PAGES, rng.integers(0, len(P.PAGES), k)))
        elif name == "view_item":
            props = json_obj(k, product_id=ids.take(pa.array(product[m])))
        elif name == "add_to_cart":
            props = json_obj(k, product_id=ids.take(pa.array(product[m])), quantity=qty[m])
        elif name == "checkout":
            after = pa.array(ts[m] >= P.CHECKOUT_REDESIGN_S)
            props = json_obj(k, checkout_version=pc.if_else(after, "one_page", "classic"))
        elif name == "sign_up":
            props = json_obj(k, method="newsletter")
        elif name == "purchase":
            o = oi[s[m]]
            props = json_obj(
                k,
                order_id=order_ids.take(pa.array(o)),
                items=orders.n_lines[o],
                shipping=orders.shipping[o],
            )
        b = select(allb, m, props)
        if name == "purchase":
            b.revenue = orders.revenue[oi[s[m]]]
        out.append(b)
    # persons are batch-local indices: the block's person column holds the session row until here
    for b in out:
        b.person = sess.person[b.person]

    nl = np.flatnonzero(sess.entry == P.TP["newsletter"])
    click_delay = 20 + np.minimum(rng.exponential(120.0, nl.size), 3600).astype(np.int64)
    open_delay = 60 + np.minimum(rng.exponential(3 * P.HOUR, nl.size), 20 * P.HOUR).astype(np.int64)
    opened = start[nl] - click_delay
    out += email_events(
        sess.person[nl],
        opened - open_delay,
        opened,
        np.full(nl.size, -1),
        touchpoint="newsletter",
        campaign="newsletter",
        device=sess.device[nl],
    )

    purchase_ts = np.full(n, -1, dtype=np.int64)
    purchase_ts[s[slot == BUY]] = ts[slot == BUY]
    signup_ts = np.full(n, -1, dtype=np.int64)
    signup_ts[s[slot == SIGNUP]] = ts[slot == SIGNUP]
    return Walk(
        blocks=out, start=start, purchase_ts=purchase_ts, signup_ts=signup_ts, checkout=c[:, CHECKOUT] > 0
    )
