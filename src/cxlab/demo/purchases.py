"""Purchases: repeat buying by BG/NBD, spend per order by Gamma-Gamma, and order lines from the catalog.

BG/NBD (Fader, Hardie & Lee 2005), time unit weeks, counted from each customer's first purchase to the end
of the window: while alive a customer buys as a Poisson process with rate ``λ ~ Gamma(r, rate=alpha)``;
after each repeat purchase they drop out with probability ``p ~ Beta(a, b)``. Gamma-Gamma (Fader, Hardie
& Lee 2005b): each order's value is ``Gamma(p, rate=ν)`` with ``ν ~ Gamma(q, rate=v)`` per customer, so
the mean order is ``p v / (q - 1)``. Order revenue *is* that value (rounded to cents); the line items are
priced so that ``sum(price * quantity) + shipping - discount == revenue``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from cxlab.demo import params as P
from cxlab.demo.blocks import rank_within
from cxlab.demo.catalog import Catalog


def customer_value(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person: BG/NBD purchase rate λ (per week), dropout probability p, Gamma-Gamma ν."""
    g = P.BGNBD
    lam = rng.gamma(g["r"], 1.0 / g["alpha"], size=n)
    drop = np.clip(rng.beta(g["a"], g["b"], size=n), 1e-12, 1.0)
    gg = P.GAMMA_GAMMA
    nu = rng.gamma(gg["q"], 1.0 / gg["v"], size=n)
    return lam, drop, nu


def repeat_purchases(
    rng: np.random.Generator, first_ts: np.ndarray, lam: np.ndarray, drop: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat purchase times of each buyer after ``first_ts`` (seconds) until the end of the window.

    Returns ``(owner, ts, alive_end)``: the buyer index and time (sorted by buyer, then time) of every
    repeat purchase, and per buyer the time they dropped out (their last purchase) or the window's end.
    """
    span_w = (P.END_S - first_ts) / P.WEEK
    n_poisson = rng.poisson(lam * span_w)
    n_alive = rng.geometric(drop)
    count = np.minimum(n_poisson, n_alive)
    owner = np.repeat(np.arange(first_ts.size), n_poisson)
    u = rng.random(owner.size)
    order = np.lexsort((u, owner))
    owner, u = owner[order], u[order]
    keep = rank_within(owner) < count[owner]
    owner, u = owner[keep], u[keep]
    ts = first_ts[owner] + np.maximum((u * span_w[owner] * P.WEEK).astype(np.int64), 1)
    ts = np.minimum(ts, P.END_S - 1)
    died = (n_alive <= n_poisson) & (count > 0)
    last = np.full(first_ts.size, -1, dtype=np.int64)
    if owner.size:
        ends = np.flatnonzero(np.r_[owner[1:] != owner[:-1], True])
        last[owner[ends]] = ts[ends]
    alive_end = np.where(died, last, P.END_S)
    return owner, ts, alive_end


@dataclass
class Orders:
    """Orders as parallel arrays, with their lines flattened (``line_start`` indexes the line arrays)."""

    person: np.ndarray
    seq: np.ndarray
    """1 for a customer's first order, 2, 3, ... for the repeats in time order."""
    ts: np.ndarray
    revenue: np.ndarray
    discount: np.ndarray
    code: np.ndarray
    shipping: np.ndarray
    n_lines: np.ndarray
    line_start: np.ndarray
    line_product: np.ndarray
    line_qty: np.ndarray
    line_price: np.ndarray
    channel: np.ndarray
    session: np.ndarray

    @property
    def n(self) -> int:
        return int(self.person.size)


def concat_orders(a: Orders, b: Orders) -> Orders:
    out = {f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(Orders)}
    out["line_start"] = np.concatenate([a.line_start, b.line_start + a.line_product.size])
    return Orders(**out)


def make_orders(
    rng: np.random.Generator,
    catalog: Catalog,
    person: np.ndarray,
    seq: np.ndarray,
    nu: np.ndarray,
    price_sensitivity: np.ndarray,
    consent_email: np.ndarray,
) -> Orders:
    """Orders of ``person`` (index into the per-person arrays), ``seq`` their number for the customer."""
    n = person.size
    gg = P.GAMMA_GAMMA
    revenue = np.round(rng.gamma(gg["p"], 1.0 / nu[person]), 2)

    uses = rng.random(n) < P.DISCOUNT_BASE_P + P.DISCOUNT_SENSITIVITY_P * price_sensitivity[person]
    code = rng.choice(len(P.DISCOUNT_CODES), size=n, p=[0.3, 0.25, 0.3, 0.15])
    code = np.where((code == 0) & (seq > 1), 2, code)
    code = np.where((code == 1) & ~consent_email[person], 3, code)
    code = np.where(uses, code, -1)
    pct = np.where(code >= 0, P.DISCOUNT_PCT[np.maximum(code, 0)], 0.0)
    discount = np.round(revenue * pct / (1.0 - pct), 2)
    gross = revenue + discount
    shipping = np.where((gross < P.FREE_SHIPPING_FROM) & (gross > 3 * P.SHIPPING_FEE), P.SHIPPING_FEE, 0.0)
    goods = gross - shipping

    n_lines = np.minimum(1 + rng.poisson(goods / 90.0), 6)
    pair = rng.random(n) < P.PAIR_ORDER_P
    n_lines = np.where(pair, np.maximum(n_lines, 2), n_lines)
    which_pair = rng.integers(0, len(catalog.pairs), size=n)

    total = int(n_lines.sum())
    line_start = np.r_[0, np.cumsum(n_lines)[:-1]].astype(np.int64)
    owner = np.repeat(np.arange(n), n_lines)
    pos = np.arange(total) - line_start[owner]
    target = (goods / n_lines)[owner] * rng.lognormal(0.0, 0.35, size=total)
    product = catalog.near_price(rng, target)
    is_pair = pair[owner] & (pos < 2)
    product = np.where(is_pair, catalog.pairs[which_pair[owner], np.minimum(pos, 1)], product)
    for attempt in range(20):  # redraw a product already in the order: near the price, then any
        key = owner * catalog.n + product
        by_key = np.argsort(key, kind="stable")
        dup = np.zeros(total, dtype=bool)
        dup[by_key[1:][key[by_key][1:] == key[by_key][:-1]]] = True
        k = int(dup.sum())
        if k == 0:
            break
        near = catalog.near_price(rng, target[dup] * rng.lognormal(0.0, 0.5, k))
        product[dup] = near if attempt < 5 else rng.integers(0, catalog.n, k)
    qty = 1 + (rng.random(total) < 0.10) + (rng.random(total) < 0.02)
    qty = np.where(pos == 0, 1, qty)

    listed = catalog.price[product] * qty
    list_sum = np.bincount(owner, weights=listed, minlength=n)
    factor = goods / np.maximum(list_sum, 1e-9)
    price = np.round(catalog.price[product] * factor[owner], 2)
    rest = np.bincount(owner, weights=np.where(pos > 0, price * qty, 0.0), minlength=n)
    first_price = np.round(goods - rest, 2)
    price = np.where(pos == 0, np.maximum(first_price[owner], 0.0), price)
    # the first line (quantity 1) absorbs the cents lost to rounding; it can't go negative in practice,
    # and if it would, shipping absorbs the difference so the identity still holds
    items = np.bincount(owner, weights=price * qty, minlength=n)
    shipping = np.round(revenue + discount - items, 2)
    return Orders(
        person=person,
        seq=seq,
        ts=np.full(n, -1, dtype=np.int64),
        revenue=revenue,
        discount=discount,
        code=code,
        shipping=shipping,
        n_lines=n_lines.astype(np.int64),
        line_start=line_start,
        line_product=product,
        line_qty=qty.astype(np.int64),
        line_price=price,
        channel=np.full(n, -1, dtype=np.int64),
        session=np.full(n, -1, dtype=np.int64),
    )
