"""What the store knows about a customer's order: placed, shipped (carrier, promised date), delivered,
returned, refunded; and what that means for "where is my parcel?" and "can I still return it?".

Only facts the data holds are used: a promised delivery date comes from the shipment event's properties
(``promised_by``, ``expected_delivery`` or ``eta``), never from a rule of thumb, so no answer states a date the
store doesn't hold. "Late" is judged against the data's horizon (the newest event, or now if earlier): a store
whose data ends in March can't know a parcel of March arrived in April.

One customer's rows are a few dozen, so these are two small parameterised DuckDB queries on the store's
connection (the assistant answers on the server, which holds the DuckDB store).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

Status = Literal["placed", "shipped", "shipped_eta", "delayed", "delivered", "returned", "refunded"]
WindowStatus = Literal["not_delivered", "open", "closed", "returned"]
SHIPPED = ("shipment_sent", "shipped", "order_shipped", "fulfillment_created")
DELIVERED = ("delivered", "order_delivered")
RETURNED = ("return_requested", "return_received", "returned")
REFUNDED = ("refund", "refunded")
PROMISE_KEYS = ("promised_by", "expected_delivery", "eta")
MAX_ORDERS = 20


@dataclass(frozen=True)
class OrderFacts:
    """One order as the store knows it (dates in UTC)."""

    order_id: str
    ordered: dt.date
    shipped: dt.date | None = None
    carrier: str | None = None
    promised_by: dt.date | None = None
    delivered: dt.date | None = None
    returned: dt.date | None = None
    refunded: dt.date | None = None
    refund_amount: float | None = None
    currency: str | None = None

    def status(self, as_of: dt.date) -> Status:
        """Where the order stands on ``as_of``."""
        if self.refunded is not None and self.returned is not None:
            return "refunded"
        if self.returned is not None:
            return "returned"
        if self.delivered is not None:
            return "delivered"
        if self.shipped is not None:
            if self.promised_by is None:
                return "shipped"
            return "delayed" if as_of > self.promised_by else "shipped_eta"
        return "placed"

    def return_window(self, days: int, as_of: dt.date) -> tuple[WindowStatus, dt.date | None]:
        """Whether the order can still be returned on ``as_of``, and the last day it can."""
        if self.returned is not None:
            return "returned", None
        if self.delivered is None:
            return "not_delivered", None
        deadline = self.delivered + dt.timedelta(days=days)
        return ("open" if as_of <= deadline else "closed"), deadline


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _promise(properties: str | None) -> dt.date | None:
    try:
        props = json.loads(properties) if properties else {}
    except ValueError:
        return None
    if not isinstance(props, dict):
        return None
    for key in PROMISE_KEYS:
        if (d := _date(props.get(key))) is not None:
            return d
    return None


def horizon(con: duckdb.DuckDBPyConnection, now: dt.datetime | None = None) -> dt.date:
    """The day the store's data reaches: its newest event (or order), or today if that is earlier. The
    assistant's own events don't count: asking it about an old store must not make every open parcel late."""
    today = (now or dt.datetime.now(dt.UTC)).date()
    row = con.execute(
        "SELECT greatest((SELECT max(ts) FROM events WHERE touchpoint IS DISTINCT FROM 'assistant'), "
        "(SELECT max(ts) FROM orders))"
    ).fetchone()
    newest = _date(row[0]) if row else None
    return min(today, newest) if newest is not None else today


def customer_known(con: duckdb.DuckDBPyConnection, customer_id: str) -> bool:
    """Whether the store has this customer (in customers or orders)."""
    row = con.execute(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE customer_id = $c) "
        "OR EXISTS (SELECT 1 FROM orders WHERE customer_id = $c)",
        {"c": customer_id},
    ).fetchone()
    return bool(row and row[0])


def orders_of(
    con: duckdb.DuckDBPyConnection, customer_id: str, until: dt.datetime | None = None
) -> list[OrderFacts]:
    """The customer's latest orders (newest first) with what happened to each after the purchase, as the
    store knew it at ``until`` (default: everything it holds)."""
    end = dt.datetime(9999, 1, 1) if until is None else until
    if end.tzinfo is not None:
        end = end.astimezone(dt.UTC).replace(tzinfo=None)
    orders = con.execute(
        "SELECT order_id, ts, currency FROM orders WHERE customer_id = $c AND ts <= $end "
        "ORDER BY ts DESC, order_id LIMIT $n",
        {"c": customer_id, "n": MAX_ORDERS, "end": end},
    ).fetchall()
    if not orders:
        return []
    kinds = (*SHIPPED, *DELIVERED, *RETURNED, *REFUNDED)
    rows = con.execute(
        "SELECT json_extract_string(properties, '$.order_id') AS order_id, event, min(ts) AS ts, "
        "  arg_min(properties, ts) AS properties "
        "FROM events WHERE customer_id = $c AND ts <= $end AND event IN (SELECT unnest($kinds)) "
        "  AND json_extract_string(properties, '$.order_id') IN (SELECT unnest($ids)) "
        "GROUP BY ALL",
        {"c": customer_id, "kinds": list(kinds), "ids": [o[0] for o in orders], "end": end},
    ).fetchall()
    found: dict[str, dict[str, Any]] = {o[0]: {} for o in orders}
    for order_id, event, ts, props in rows:
        facts = found[order_id]
        if event in SHIPPED and "shipped" not in facts:
            facts["shipped"] = _date(ts)
            facts["promised_by"] = _promise(props)
            carrier = json.loads(props).get("carrier") if props else None
            facts["carrier"] = str(carrier) if isinstance(carrier, str) and carrier else None
        elif event in DELIVERED:
            facts["delivered"] = _date(ts)
        elif event in RETURNED:
            facts["returned"] = min(filter(None, (facts.get("returned"), _date(ts))))
        elif event in REFUNDED:
            facts["refunded"] = _date(ts)
            amount = json.loads(props).get("amount") if props else None
            facts["refund_amount"] = float(amount) if isinstance(amount, int | float) else None
    out = []
    for order_id, ts, currency in orders:
        ordered = _date(ts)
        assert ordered is not None
        out.append(OrderFacts(order_id, ordered, currency=currency, **found[order_id]))
    return out


def pick(orders: list[OrderFacts], text: str) -> OrderFacts | None:
    """The order a message names by its id (any of the customer's), else the newest one."""
    if not orders:
        return None
    words = {w.lstrip("#").lower() for w in re.findall(r"#?[\w\-]{3,}", text)}
    for o in orders:
        oid = o.order_id.lower()
        if oid in words or oid.lstrip("#o0") in {
            w.lstrip("#o0") for w in words if any(c.isdigit() for c in w)
        }:
            return o
    return orders[0]
