"""Rule-based attribution: each journey's conversions (and value) split over its touches by a fixed rule.

Every model is a weight per touch that sums to 1 over the touches of a path; a channel's attribution is
the sum of ``weight × conversions`` (and ``weight × value``) over its touches. First, last and linear
follow ChannelAttribution's ``heuristic_models`` exactly (repeated touches count each time; linear
gives each touch ``1 / path length``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from cxlab.channels.paths import Paths, per_channel, segment_sum

Split = tuple[NDArray[np.float64], NDArray[np.float64]]
"""Per channel: attributed conversions and attributed value."""


def _attribute(paths: Paths, weight: NDArray[np.float64]) -> Split:
    p = paths.path_of_touch
    return per_channel(paths, weight * paths.conversions[p]), per_channel(paths, weight * paths.value[p])


def first_touch_weights(paths: Paths) -> NDArray[np.float64]:
    return (paths.position == 0).astype(np.float64)


def last_touch_weights(paths: Paths) -> NDArray[np.float64]:
    w = np.zeros(paths.touches.size)
    w[paths.offsets[1:] - 1] = 1.0
    return w


def last_non_direct_weights(paths: Paths, direct: Iterable[str] = ("direct",)) -> NDArray[np.float64]:
    """The last touch that is not a direct visit; the last touch when the journey is all direct.

    This is how web analytics tools credit a sale that ends with a typed-in visit to the campaign that
    brought the customer before."""
    codes = [i for i, c in enumerate(paths.channels) if c in set(direct)]
    non_direct = ~np.isin(paths.touches, codes)
    idx = np.where(non_direct, np.arange(paths.touches.size), -1)
    last_nd = np.maximum.reduceat(idx, paths.offsets[:-1]) if paths.n_paths else idx[:0]
    pick = np.where(last_nd >= 0, last_nd, paths.offsets[1:] - 1)
    w = np.zeros(paths.touches.size)
    w[pick] = 1.0
    return w


def linear_weights(paths: Paths) -> NDArray[np.float64]:
    return 1.0 / np.repeat(paths.lengths, paths.lengths).astype(np.float64)


def position_weights(paths: Paths, first: float = 0.4, last: float = 0.4) -> NDArray[np.float64]:
    """U-shaped: ``first`` to the first touch, ``last`` to the last, the rest split over the middle.

    A single touch gets everything; two touches split in the ratio ``first : last``."""
    if first < 0 or last < 0 or first + last > 1 + 1e-12 or first + last == 0:
        raise ValueError(f"position shares must be >= 0 with 0 < first + last <= 1, got {first} and {last}")
    n = np.repeat(paths.lengths, paths.lengths).astype(np.float64)
    pos = paths.position
    middle = (1.0 - first - last) / np.maximum(n - 2, 1)
    w = np.where(pos == 0, first, np.where(pos == n - 1, last, middle))
    w = np.where(n == 1, 1.0, w)
    return np.where(n == 2, np.where(pos == 0, first, last) / (first + last), w)


def time_decay_weights(paths: Paths, half_life_touches: float = 2.0) -> NDArray[np.float64]:
    """Weight halves every ``half_life_touches`` steps back from the last touch (no times in a paths file)."""
    if not half_life_touches > 0:
        raise ValueError(f"half-life must be positive, got {half_life_touches}")
    back = (np.repeat(paths.lengths, paths.lengths) - 1 - paths.position).astype(np.float64)
    raw = np.exp2(-back / half_life_touches)
    return raw / np.repeat(segment_sum(paths, raw), paths.lengths)


def first_touch(paths: Paths) -> Split:
    return _attribute(paths, first_touch_weights(paths))


def last_touch(paths: Paths) -> Split:
    return _attribute(paths, last_touch_weights(paths))


def last_non_direct(paths: Paths, direct: Iterable[str] = ("direct",)) -> Split:
    return _attribute(paths, last_non_direct_weights(paths, direct))


def linear(paths: Paths) -> Split:
    return _attribute(paths, linear_weights(paths))


def position_based(paths: Paths, first: float = 0.4, last: float = 0.4) -> Split:
    return _attribute(paths, position_weights(paths, first, last))


def time_decay(paths: Paths, half_life_days: float = 7.0, half_life_touches: float = 2.0) -> Split:
    """Time decay: from real touch times (half-life in days) when the journeys came from the store, else
    by steps before the conversion (half-life in touches)."""
    if paths.decay is not None:
        if not half_life_days > 0:
            raise ValueError(f"half-life must be positive, got {half_life_days}")
        conv_w, value_w = paths.decay(half_life_days)
        return per_channel(paths, conv_w), per_channel(paths, value_w)
    return _attribute(paths, time_decay_weights(paths, half_life_touches))
