"""The hand-built shop of the assistant's tests: customers in every order state, their orders and events.

The data ends on 10 March 2026 (the store's horizon): a parcel promised by the 4th and not delivered is late.
"""

from __future__ import annotations

import json

from cxlab.store import Store

# customer, language, order, ordered, [(event, ts, extra properties)]
SHOP: list[tuple[str, str, str, str, list[tuple[str, str, dict[str, object]]]]] = [
    ("C_SHIPPED", "nl", "O1001", "2026-03-08 10:00", [
        ("shipment_sent", "2026-03-09 07:30", {"carrier": "PostNL", "promised_by": "2026-03-11"}),
    ]),
    ("C_DELAYED", "de", "O1002", "2026-03-01 09:00", [
        ("shipment_sent", "2026-03-02 08:00", {"carrier": "DHL", "promised_by": "2026-03-04"}),
    ]),
    ("C_DELIVERED", "da", "O1003", "2026-02-20 12:00", [
        ("shipment_sent", "2026-02-21 08:00", {"carrier": "PostNord", "promised_by": "2026-02-23"}),
        ("delivered", "2026-02-23 14:00", {}),
    ]),
    ("C_REFUNDED", "en", "O1004", "2026-01-05 12:00", [
        ("shipment_sent", "2026-01-06 08:00", {"carrier": "Royal Mail", "promised_by": "2026-01-08"}),
        ("delivered", "2026-01-08 11:00", {}),
        ("return_requested", "2026-01-20 09:00", {"reason": "size"}),
        ("refund", "2026-01-25 10:00", {"amount": 59.9}),
    ]),
    ("C_RETURNED", "en", "O1005", "2026-02-01 12:00", [
        ("shipment_sent", "2026-02-02 08:00", {"carrier": "Royal Mail"}),
        ("delivered", "2026-02-04 11:00", {}),
        ("return_requested", "2026-03-05 09:00", {"reason": "size"}),
    ]),
    ("C_NOPROMISE", "en", "O1006", "2026-03-07 12:00", [
        ("shipment_sent", "2026-03-08 08:00", {"carrier": "Royal Mail"}),
    ]),
    ("C_OLD", "en", "O1007", "2025-12-20 12:00", [
        ("shipment_sent", "2025-12-21 08:00", {"carrier": "Royal Mail", "promised_by": "2025-12-23"}),
        ("delivered", "2025-12-22 11:00", {}),
    ]),
    ("C_PLACED", "nl", "O1008", "2026-03-10 08:00", []),
    ("C_TWO", "en", "O1009", "2026-01-10 12:00", [
        ("shipment_sent", "2026-01-11 08:00", {"carrier": "Royal Mail", "promised_by": "2026-01-13"}),
        ("delivered", "2026-01-12 11:00", {}),
    ]),
    ("C_TWO", "en", "O1010", "2026-03-06 12:00", [
        ("shipment_sent", "2026-03-07 08:00", {"carrier": "Royal Mail", "promised_by": "2026-03-09"}),
        ("delivered", "2026-03-09 16:00", {}),
    ]),
]  # fmt: skip
NO_ORDERS = "C_NOORDERS"
HORIZON = "2026-03-10 18:00"


def fill(store: Store) -> None:
    """Customers, orders and after-purchase events of :data:`SHOP`, plus a late page view (the horizon)."""
    con = store.con
    customers = {c: lang for c, lang, *_ in SHOP} | {NO_ORDERS: "en"}
    for c, lang in customers.items():
        con.execute(
            "INSERT INTO customers (customer_id, first_seen, language) VALUES (?, '2025-01-01', ?)", [c, lang]
        )
    n = 0
    for c, _, order, ordered, events in SHOP:
        con.execute(
            "INSERT INTO orders (order_id, customer_id, ts, revenue, currency) VALUES (?, ?, ?, 59.9, 'EUR')",
            [order, c, ordered],
        )
        for event, ts, extra in events:
            n += 1
            con.execute(
                "INSERT INTO events (event_id, ts, customer_id, event, touchpoint, properties) "
                "VALUES (?, ?, ?, ?, 'delivery', ?)",
                [f"E{n}", ts, c, event, json.dumps({"order_id": order, **extra})],
            )
    con.execute(
        "INSERT INTO events (event_id, ts, customer_id, event) VALUES ('E_LAST', ?, 'C_PLACED', 'page_view')",
        [HORIZON],
    )
