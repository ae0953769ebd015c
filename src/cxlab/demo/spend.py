"""Media spend of the demo shop: paid clicks per day, channel and campaign, priced per click.

Batches count their paid sessions into :attr:`cxlab.demo.truth.Stats.paid_clicks` (additive, so the
result does not depend on batching); :func:`spend_table` prices the totals once, with its own random stream.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cxlab.demo import params as P
from cxlab.schema import TABLES

PAID_CODES = np.array([P.CH[c] for c in P.PAID])
"""Channel codes of the paid channels, in :data:`P.PAID` order."""


def clicks_shape() -> tuple[int, int, int]:
    """(days, paid channels, campaigns) of the click counts."""
    return (P.N_DAYS, len(P.PAID), len(P.CAMPAIGNS))


def count_paid_clicks(start: np.ndarray, channel: np.ndarray, campaign: np.ndarray) -> np.ndarray:
    """Paid sessions counted by (day, paid channel, campaign), flattened."""
    slot = np.full(len(P.CHANNELS), -1)
    slot[PAID_CODES] = np.arange(PAID_CODES.size)
    day = (start - P.START_S) // P.DAY
    keep = (slot[channel] >= 0) & (campaign >= 0) & (day >= 0) & (day < P.N_DAYS)
    days, n_ch, n_camp = clicks_shape()
    flat = (day[keep] * n_ch + slot[channel[keep]]) * n_camp + campaign[keep]
    return np.bincount(flat, minlength=days * n_ch * n_camp).astype(np.float64)


def spend_table(seed: int, clicks: np.ndarray) -> pa.Table:
    """One row per day, channel and campaign with clicks: cost = clicks × CPC × lognormal noise."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(P.SPEND_STREAM,))))
    _, n_ch, n_camp = clicks_shape()
    noise = rng.lognormal(-0.5 * P.CPC_NOISE_SIGMA**2, P.CPC_NOISE_SIGMA, size=clicks.size)
    idx = np.flatnonzero(clicks)
    day, rest = np.divmod(idx, n_ch * n_camp)
    ch, camp = np.divmod(rest, n_camp)
    cpc = np.array([P.CPC[c] for c in P.PAID])[ch]
    cost = np.round(clicks[idx] * cpc * noise[idx], 2)
    start_day = np.datetime64(P.WINDOW_START, "D")
    return pa.table(
        {
            "date": pa.array(start_day + day.astype("timedelta64[D]"), pa.date32()),
            "channel": pa.array(np.array(P.PAID, dtype=object)[ch], pa.string()),
            "campaign": pa.array(np.array(P.CAMPAIGNS, dtype=object)[camp], pa.string()),
            "cost": pa.array(cost, pa.float64()),
        },
        schema=TABLES["spend"].arrow_schema,
    )
