"""Orders in one reporting currency: every money figure (revenue, AOV, CLV, revenue at stake) reads orders
through :func:`shop_orders`, so a shop selling in EUR and GBP is never summed as if both were EUR.

The reporting currency is ``[shop] currency`` of ``cxlab.toml``. Orders in another currency are converted
with ``[shop.rates]``; orders in a currency without a rate are left out of the money figures and the result
says so. When no order at all is in the configured currency but all share another one, that one is reported
(with a note), rather than mislabelling every amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.display import money

AMOUNTS = ("revenue", "discount", "refunded")


@dataclass(frozen=True)
class ShopOrders:
    """The ``orders`` table with every amount in :attr:`currency`, and what was converted or left out."""

    table: ir.Table
    currency: str
    notes: list[str] = field(default_factory=list)
    left_out: int = 0
    """Orders left out (of every figure that reads them) because their currency has no rate."""


def shop_orders(con: BaseBackend, config: Config | None = None) -> ShopOrders:
    """Orders with ``revenue``, ``discount``, ``refunded`` and item prices in the reporting currency (lazy).

    One small aggregation (orders and revenue per currency) decides what to do; the table stays an
    expression for the engine."""
    cfg = config or Config.default()
    orders = con.table("orders")
    per = orders.group_by("currency").aggregate(n=orders.count(), amount=orders.revenue.sum()).execute()
    by_cur = {str(r.currency): (int(r.n), float(r.amount or 0.0)) for r in per.itertuples()}
    target = cfg.shop.currency
    notes: list[str] = []
    if by_cur and target not in by_cur and not any(c in cfg.shop.rates for c in by_cur):
        top = max(by_cur, key=lambda c: by_cur[c][0])
        notes.append(
            f"no order is in {target}, the shop's currency in cxlab.toml: amounts are reported in {top}, "
            f"the currency of most orders"
        )
        target, cfg_rates = top, {}
    else:
        cfg_rates = cfg.shop.rates
    rates = {target: 1.0} | {c: r for c, r in cfg_rates.items() if c != target}
    converted = sorted(c for c in by_cur if c != target and c in rates)
    missing = sorted(c for c in by_cur if c not in rates)
    for c in converted:
        n, amount = by_cur[c]
        notes.append(f"{n:,} orders in {c} ({money(amount, c)}) converted at 1 {c} = {rates[c]:g} {target}")
    left_out = sum(by_cur[c][0] for c in missing)
    if missing:
        listed = ", ".join(f"{by_cur[c][0]:,} in {c} ({money(by_cur[c][1], c)})" for c in missing)
        notes.append(
            f"{left_out:,} orders left out, no exchange rate to {target}: {listed}; "
            f"add rates under [shop.rates] in cxlab.toml"
        )
    if not converted and not missing:
        return ShopOrders(orders, target, notes)
    kept = orders.filter(orders.currency.isin([target, *converted]))
    rate = ibis.cases(*((kept.currency == c, ibis.literal(rates[c])) for c in [target, *converted]))
    amounts = {a: kept[a] * rate for a in AMOUNTS}
    items = kept["items"].map(
        lambda it: ibis.struct(
            {"product_id": it.product_id, "quantity": it.quantity, "price": it.price * rate}
        )
    )
    table = kept.mutate(**amounts, items=items, currency=ibis.literal(target))
    return ShopOrders(table, target, notes, left_out)
