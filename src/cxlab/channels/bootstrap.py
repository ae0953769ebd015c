"""Bootstrap intervals for attribution: resample journeys, refit, take percentiles.

Journeys are resampled on the aggregated paths: the converting and non-converting journeys of all
paths are the units, drawn with replacement (one multinomial draw over ``2 × paths`` cells when counts
are whole, a Poisson bootstrap otherwise). A path's value moves with its conversions (its mean value per
conversion is kept), and engine-computed time-decay weights scale the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from cxlab.channels.paths import Paths, TouchDecay

Fit = Callable[[Paths], dict[str, NDArray[np.float64]]]
"""A model: per-channel arrays by name (``conversions``, ``value``, ...)."""


def resample(paths: Paths, rng: np.random.Generator) -> Paths:
    """One bootstrap replicate of the journeys behind ``paths``."""
    conv, null = paths.conversions, paths.nulls
    cells = np.concatenate([conv, null])
    if np.all(cells == np.round(cells)):
        total = int(cells.sum())
        drawn = rng.multinomial(total, cells / total) if total else cells
    else:
        drawn = rng.poisson(cells)
    new_conv = drawn[: conv.size].astype(np.float64)
    new_null = drawn[conv.size :].astype(np.float64)
    scale = np.divide(new_conv, conv, out=np.zeros_like(conv), where=conv > 0)
    decay: TouchDecay | None = None
    if paths.decay is not None:
        base, touch_scale = paths.decay, np.repeat(scale, paths.lengths)

        def decay(half_life: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            c, v = base(half_life)
            return c * touch_scale, v * touch_scale

    return paths.with_counts(new_conv, paths.value * scale, new_null, decay)


def bootstrap_intervals(
    paths: Paths, fit: Fit, n: int = 200, level: float = 0.95, seed: int = 0
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Percentile intervals at ``level`` for every array ``fit`` returns, from ``n`` replicates."""
    if n < 2:
        raise ValueError(f"the bootstrap needs at least 2 replicates, got {n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    rng = np.random.default_rng(seed)
    if paths.decay is not None:  # the engine query runs once; replicates rescale its answer
        cached: dict[float, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        engine = paths.decay

        def once(half_life: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            if half_life not in cached:
                cached[half_life] = engine(half_life)
            return cached[half_life]

        paths = paths.with_counts(paths.conversions, paths.value, paths.nulls, once)
    draws: dict[str, list[NDArray[np.float64]]] = {}
    for _ in range(n):  # a loop over replicates; each fit is vectorised
        for name, arr in fit(resample(paths, rng)).items():
            draws.setdefault(name, []).append(arr)
    tail = (1 - level) / 2 * 100
    out = {}
    for name, arrs in draws.items():
        stack = np.vstack(arrs)
        out[name] = (np.percentile(stack, tail, axis=0), np.percentile(stack, 100 - tail, axis=0))
    return out
