"""Purchase events priced in the reporting currency, for channel performance and attribution.

A purchase event that names its order (``properties.order_id``) takes that order's revenue from
:func:`cxlab.currency.shop_orders`: converted with ``[shop.rates]``, or null (an order without an amount)
when its currency has no rate. Other purchase events keep their own ``revenue``. When every order is in the
reporting currency (or there are no orders), every event keeps its revenue: there is nothing to convert.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.currency import shop_orders

ORDER_ID = r'"order_id"\s*:\s*"([^"\\]*)"'
"""The order a purchase names in its JSON ``properties``: ``"order_id": "…"`` (a string without escapes)."""


@dataclass(frozen=True)
class PricedEvents:
    """``events`` with purchase revenue in :attr:`currency`, and what the reader must know about it."""

    table: ir.Table
    currency: str
    notes: list[str] = field(default_factory=list)


def priced_events(con: BaseBackend, config: Config, conversion_event: str = "purchase") -> PricedEvents:
    """The store's ``events`` with each purchase's ``revenue`` taken from its order when it names one."""
    events = con.table("events")
    if "orders" not in con.list_tables() or int(con.table("orders").count().execute()) == 0:
        return PricedEvents(events, config.shop.currency)
    shop = shop_orders(con, config)
    if not shop.notes:  # every order is in the reporting currency: nothing to convert
        return PricedEvents(events, shop.currency)
    known = con.table("orders").select("order_id").mutate(_known=ibis.literal(True))
    kept = shop.table.select(order_id=shop.table.order_id, _order_revenue=shop.table.revenue)
    is_conv = events.event == conversion_event  # only purchases' properties are read
    # a regular expression, not a JSON path: Ibis compiles JSON access for DuckDB but not for Spark
    order = events.properties.re_extract(ORDER_ID, 1).nullif("")
    ev = events.mutate(_order=ibis.ifelse(is_conv, order, None))
    ev = ev.left_join(known, ev._order == known.order_id).drop("order_id")
    ev = ev.left_join(kept, ev._order == kept.order_id).drop("order_id")
    ev = ev.mutate(revenue=ibis.ifelse(ev._known.fill_null(False), ev._order_revenue, ev.revenue))
    return PricedEvents(ev.drop("_order", "_known", "_order_revenue"), shop.currency, list(shop.notes))
