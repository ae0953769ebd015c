"""Stable random assignment of customers to a flow's arms: the holdout and the message variants.

The draw is a hash of (flow, customer id), so a customer is in the same arm of a flow on every run, on every
machine, without storing anything first; different flows draw independently. The hash is SHA-256 (its first
8 bytes as a uniform number in [0, 1)), the same scheme experiment platforms such as GrowthBook use with
their own hash functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import numpy as np

from cxlab.automate.flows import HOLDOUT

_SCALE = float(2**64)


def uniform(flow: str, customer_ids: Iterable[str], salt: str = "") -> np.ndarray:
    """A number in [0, 1) per customer, fixed by ``flow``, the customer id and ``salt``."""
    return np.array(
        [
            int.from_bytes(hashlib.sha256(f"{flow}\x1f{salt}\x1f{c}".encode()).digest()[:8], "big") / _SCALE
            for c in customer_ids
        ],
        dtype=np.float64,
    )


def assign(
    flow: str, customer_ids: Iterable[str], holdout: float, weights: Mapping[str, float]
) -> np.ndarray:
    """Each customer's arm: :data:`HOLDOUT` with probability ``holdout``, else one of ``weights``' variants in
    proportion to its weight (a second, independent draw, so changing the holdout share does not move
    customers between variants)."""
    ids = list(customer_ids)
    if not 0 <= holdout < 1:
        raise ValueError(f"holdout must lie in [0, 1), got {holdout}")
    if not weights or any(w <= 0 for w in weights.values()):
        raise ValueError("weights: at least one variant, each with a positive weight")
    names = list(weights)
    cum = np.cumsum([weights[n] for n in names], dtype=np.float64)
    pick = np.searchsorted(cum / cum[-1], uniform(flow, ids, "variant"), side="right").clip(0, len(names) - 1)
    arm = np.array(names, dtype=object)[pick]
    arm[uniform(flow, ids) < holdout] = HOLDOUT
    return arm
