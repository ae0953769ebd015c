"""The A/B test on the shipping-confirmation e-mail and the change log.

Buyers are assigned 50/50 to ``basic`` (control) or ``festive`` once the test starts; their exposure is
their first shipping-confirmation e-mail sent on or after the start. The festive design raises the
chance of a same-day click on that e-mail by ``SHIPPING_CLICK_LIFT`` (relative).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa

from cxlab.demo import params as P
from cxlab.demo.fulfilment import Fulfilment
from cxlab.demo.purchases import Orders
from cxlab.schema import TABLES

VARIANTS = ("basic", "festive")


def assign(rng: np.random.Generator, n: int) -> np.ndarray:
    """Each person's arm, drawn up front (used only once they get a shipping e-mail in the test)."""
    return (rng.random(n) < 0.5).astype(np.int64)


@dataclass
class Exposures:
    """First exposure per customer: person, arm, time, and whether that e-mail was clicked the same day."""

    person: np.ndarray
    variant: np.ndarray
    ts: np.ndarray
    clicked: np.ndarray


def exposures(orders: Orders, ful: Fulfilment) -> Exposures:
    """Each customer's first shipping-confirmation e-mail inside the test (and the window)."""
    ok = (ful.ship_variant >= 0) & (ful.ship_email_ts < P.END_S)
    o = np.flatnonzero(ok)
    o = o[np.lexsort((ful.ship_email_ts[o], orders.person[o]))]
    first = np.r_[True, orders.person[o][1:] != orders.person[o][:-1]] if o.size else np.zeros(0, dtype=bool)
    o = o[first]
    ts = ful.ship_email_ts[o]
    click = ful.ship_click_ts[o]
    same_day = (click >= 0) & (click // P.DAY == ts // P.DAY) & (click < P.END_S)
    return Exposures(person=orders.person[o], variant=ful.ship_variant[o], ts=ts, clicked=same_day)


CHANGES: tuple[tuple[str, datetime, str, str, str | None], ...] = (
    (
        "CH001",
        P.EXPERIMENT_START,
        "shipping_confirmation_email",
        "A/B test: festive design of the shipping confirmation e-mail (basic vs festive, 50/50)",
        P.EXPERIMENT_ID,
    ),
    ("CH002", P.SMS_TRACKING_LINK, "shipping_sms", "Track-and-trace link added to the shipping SMS", None),
    (
        "CH003",
        P.CHECKOUT_REDESIGN,
        "checkout",
        "Checkout redesign: one-page checkout with saved addresses",
        None,
    ),
    (
        "CH004",
        P.REVIEW_REQUEST_EARLIER,
        "review_request",
        f"Review request sent {P.REVIEW_REQUEST_DAYS_AFTER} days after delivery instead of "
        f"{P.REVIEW_REQUEST_DAYS_BEFORE}",
        None,
    ),
)


def changes_table() -> pa.Table:
    """The change log as a ``changes`` table."""
    rows = sorted(CHANGES, key=lambda c: c[1])
    return pa.table(
        {
            "change_id": [r[0] for r in rows],
            "ts": pa.array(
                [int(np.datetime64(r[1], "us").astype(np.int64)) for r in rows], pa.timestamp("us")
            ),
            "touchpoint": [r[2] for r in rows],
            "description": [r[3] for r in rows],
            "experiment_id": [r[4] for r in rows],
        },
        schema=TABLES["changes"].arrow_schema,
    )
