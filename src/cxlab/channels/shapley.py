"""Shapley-value attribution over channel sets, in closed form.

The game is the simplified (unordered) one of Zhao et al., *Shapley Value Methods for Attribution
Modeling in Online Advertising* (2018): the worth of a set of channels ``S`` is the conversions (or value)
of the journeys whose channels all lie in ``S``, ``v(S) = Σ_{T ⊆ S} R(T)``, where ``R(T)`` counts the
journeys that touch exactly the channels ``T``. That is a sum of unanimity games, one per journey, and the
Shapley value of the unanimity game on ``T`` gives ``1/|T|`` to each member of ``T``: so each journey's
conversions (and value) are split equally over its distinct channels. :func:`shapley` computes exactly
that, in ``O(touches)`` with NumPy, for any number of channels; efficiency, symmetry and the null-player
property hold exactly. (The tests check it against the textbook formula over all ``2ⁿ`` coalitions.)

:func:`shapley_values` solves a general game given by its ``2ⁿ`` worths (``O(n · 2ⁿ)``); attribution does
not need it.
"""

from __future__ import annotations

from math import comb

import numpy as np
from numpy.typing import NDArray

from cxlab.channels.paths import Paths


def shapley_values(worth: NDArray[np.float64]) -> NDArray[np.float64]:
    """Exact Shapley values of the ``n``-player game whose coalition ``S`` (bit ``i`` = player ``i``) is
    worth ``worth[S]``; ``worth`` has ``2ⁿ`` entries (a general game: cost ``O(n · 2ⁿ)``)."""
    v = np.asarray(worth, dtype=np.float64)
    n = int(v.size).bit_length() - 1
    if v.size != 1 << n:
        raise ValueError(f"a game needs 2^n worths, got {v.size}")
    size = np.bitwise_count(np.arange(v.size))
    # weight of a coalition of s players that i joins: s! (n - s - 1)! / n!
    weight = np.array([1.0 / (n * comb(n - 1, s)) for s in range(n)] + [0.0])
    phi = np.empty(n)
    for i in range(n):  # a loop over players, not over coalitions
        blocks = v.reshape(-1, 2, 1 << i)
        without, with_i = blocks[:, 0, :], blocks[:, 1, :]
        s = size.reshape(-1, 2, 1 << i)[:, 0, :]
        phi[i] = float((weight[s] * (with_i - without)).sum())
    return phi


def shapley(paths: Paths) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per channel: Shapley-attributed conversions and value (they sum to the totals): each journey's
    conversions and value split equally over its distinct channels."""
    n = paths.n_channels
    # distinct (path, channel) pairs, as one sorted key per pair
    pairs = np.unique(paths.path_of_touch.astype(np.int64) * max(n, 1) + paths.touches.astype(np.int64))
    path, channel = pairs // max(n, 1), pairs % max(n, 1)
    distinct = np.bincount(path, minlength=paths.n_paths).astype(np.float64)
    share = 1.0 / distinct[path]
    conv = np.bincount(channel, weights=paths.conversions[path] * share, minlength=n).astype(np.float64)
    value = np.bincount(channel, weights=paths.value[path] * share, minlength=n).astype(np.float64)
    return conv, value
