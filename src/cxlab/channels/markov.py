"""Markov-chain attribution of order 1–3 with removal effects computed exactly from the absorbing chain.

**The chain** (the same one ChannelAttribution builds): states are the channel at each step (order 1) or
the window of the last ``k`` channels (order ``k``; a journey shorter than ``k`` is one state holding the
whole journey); consecutive repeats of the same state collapse; ``(start)`` leads to each journey's first
state and its last state leads to ``(conversion)`` for its conversions and to ``(null)`` for its
non-converting journeys. Transition probabilities are the observed transition counts, weighted by the
journeys behind each path, divided by each state's outgoing total.

**Removal effect** of channel ``c``: the share of conversions lost when every state holding ``c`` leads to
``(null)`` instead, ``RE_c = 1 − P(conversion | c removed) / P(conversion)``. Both probabilities are
absorption probabilities of the chain: with ``Q`` the transient-to-transient block, ``r`` the one-step
probability of ``(conversion)`` and ``s`` the start distribution, ``P = sᵀ (I − Q)⁻¹ r`` — one sparse LU
solve per channel over the states that do not hold it. ``RE_c`` equals the share of simulated converting
journeys that pass through ``c``, which is what ChannelAttribution estimates by simulating the chain.
Attributed conversions are the removal effects normalised to the total conversions.

**Value** (as ChannelAttribution does it): a conversion is worth the mean conversion value observed at
the state it converts from; a channel's value effect is the expected value lost when it is removed, and
attributed value is that effect normalised to the total value.

**Difference from ChannelAttribution's ``markov_model``** (2.2.5), which estimates the same quantities by
simulating journeys through the chain (10⁵ and more, until ten folds agree to ``conv_par`` = 5%):

- *Simulation error.* Its answers move with the seed (by several percent per channel at its defaults;
  seeds closer than its ``nfold`` share folds and can agree). These are exact and identical on every run.
- *Step cut.* It stops a simulated journey after a fixed number of states and counts it as not converting:
  the longest observed path in chain states plus one (plus two when that path has neither conversions nor
  nulls). Converting journeys that loop longer are lost, so its removal effects lean low, most for
  channels on long, looping journeys (about 0.02–0.03 on the random test inputs). ``max_steps="ca"``
  reproduces the cut exactly, and then its estimates at ``nsim_start=1e6`` agree with these to within its
  simulation error (removal effects within 0.008, attributions within 1.5%; see the tests).

With ``max_steps`` the absorption probabilities are computed by that many exact sparse matrix-vector
steps instead of the solve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import splu

from cxlab.channels.paths import Paths

MAX_ORDER = 4
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


@dataclass(frozen=True, eq=False)
class MarkovChain:
    """The absorbing chain of a set of journeys (transient states are channels or channel windows)."""

    order: int
    channels: tuple[str, ...]
    codes: NDArray[np.int64]
    """State codes: the window's channel codes + 1 as base-(channels + 1) digits, oldest first."""
    members: NDArray[np.bool_]
    """``(states, channels)``: the channels each state holds."""
    q: sp.csr_matrix
    """Transition probabilities between transient states."""
    start: NDArray[np.float64]
    to_conversion: NDArray[np.float64]
    to_null: NDArray[np.float64]
    mean_value: NDArray[np.float64]
    """Mean value of the conversions observed from each state (0 where none)."""

    @property
    def n_states(self) -> int:
        return int(self.codes.size)

    def state_channels(self) -> list[tuple[str, ...]]:
        base = len(self.channels) + 1
        out = []
        for code in self.codes.tolist():
            digits = []
            while code:
                code, d = divmod(code, base)
                digits.append(self.channels[d - 1])
            out.append(tuple(reversed(digits)))
        return out

    def labels(self, sep: str = " > ") -> list[str]:
        return [sep.join(s) for s in self.state_channels()]

    def absorption(
        self, keep: NDArray[np.bool_] | None = None, max_steps: int | None = None
    ) -> NDArray[np.float64]:
        """``[P(conversion), E(conversion value)]`` from ``(start)`` when only states in ``keep`` remain
        (transitions into the others lead to ``(null)``).

        Exact: one sparse LU solve of ``(I − Q) x = r``; with ``max_steps``, journeys that have not
        converted after that many states count as not converting, by ``max_steps`` exact matrix-vector
        steps."""
        idx = np.arange(self.n_states) if keep is None else np.flatnonzero(keep)
        if idx.size == 0:
            return np.zeros(2)
        rhs = np.column_stack([self.to_conversion[idx], self.to_conversion[idx] * self.mean_value[idx]])
        if max_steps is None:
            x = splu(self._i_minus_q[idx][:, idx].tocsc()).solve(rhs)
        else:
            q = self.q[idx][:, idx]
            x = rhs.copy()
            for _ in range(max_steps - 1):
                x = rhs + q @ x
        return np.asarray(self.start[idx] @ x, dtype=np.float64)

    @cached_property
    def _i_minus_q(self) -> sp.csr_matrix:
        """``I − Q``, whose rows and columns of the states kept are the matrix of each solve."""
        return sp.csr_matrix(sp.identity(self.n_states, format="csr") - self.q)

    def transition_frame(self) -> pd.DataFrame:
        """Transition probabilities, ``(start)`` first, with ``(conversion)`` and ``(null)`` columns."""
        labels = self.labels()
        full = np.zeros((self.n_states + 1, self.n_states + 2))
        full[0, : self.n_states] = self.start
        full[1:, : self.n_states] = self.q.toarray()
        full[1:, self.n_states] = self.to_conversion
        full[1:, self.n_states + 1] = self.to_null
        return pd.DataFrame(full, index=[START, *labels], columns=[*labels, CONVERSION, NULL])


@dataclass(frozen=True, eq=False)
class _StateSequence:
    """Every journey as its sequence of chain states, flat: ``code`` per touch, ``0`` where a touch opens
    no state (the first ``order - 1`` touches of a long enough path)."""

    code: NDArray[np.int64]
    first: NDArray[np.int64]
    """Position of each path's first state."""
    last: NDArray[np.int64]
    """Position of each path's last state."""
    cut: NDArray[np.int64]
    """Positions ``i`` where ``i → i + 1`` is no transition: a path's last touch, a touch with no state."""

    def steps(self) -> NDArray[np.bool_]:
        """``steps[i]``: a transition from position ``i`` to ``i + 1`` (a repeated state is none)."""
        step = self.code[:-1] != self.code[1:]
        step[self.cut] = False
        return step


def _state_sequence(paths: Paths, order: int, base: int) -> _StateSequence:
    """State codes by adding the touch digits shifted ``m`` places back (``m < order``), as base-``base``
    digits. A shift reaches into the previous path only at a path's first ``order - 1`` touches: those
    open no state (code 0), unless the path is shorter than ``order``, whose one state (at its last
    touch) is recomputed from its own touches. Both are a few touches per path, found by index."""
    starts, lengths = paths.offsets[:-1], paths.lengths
    digits = paths.touches.astype(np.int64)
    digits += 1
    code = digits
    opening: list[NDArray[np.int64]] = []  # positions of the touches that open no state
    if order > 1:
        code = digits.copy()
        for m in range(1, order):
            code[m:] += digits[:-m] * base**m
        for length in range(1, order):
            at = starts[lengths == length]
            code[at + length - 1] = sum(digits[at + i] * base ** (length - 1 - i) for i in range(length))
        opening = [starts[lengths - 1 > j] + j for j in range(order - 1)]
        for at in opening:
            code[at] = 0
    first = starts + np.minimum(order - 1, lengths - 1)
    cut = np.concatenate([paths.offsets[1:-1] - 1, *opening])
    return _StateSequence(code, first, paths.offsets[1:] - 1, cut)


def build_chain(paths: Paths, order: int = 1) -> MarkovChain:
    """The order-``order`` absorbing chain of ``paths``: bincounts over touches, no loop over journeys.

    Every touch is mapped to its state's index (``n``, one past the states, where it opens none); the
    transition counts are one weighted ``bincount`` over consecutive pairs of touches, with the pairs
    that are no transition (across the seam between two paths, or out of a touch that opens no state)
    sent to an unused cell, and a repeat (a pair on the diagonal) dropped afterwards."""
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"Markov order must be 1 to {MAX_ORDER}, got {order}")
    base = paths.n_channels + 1
    space = base**order
    if space >= 2**62:
        raise ValueError(f"too many channels ({paths.n_channels}) for a Markov chain of order {order}")
    seq = _state_sequence(paths, order, base)
    weight = paths.journeys
    live = weight > 0  # paths with no journey add nothing to the chain
    all_live = bool(live.all())
    codes, index = _state_index(seq.code, None if all_live else paths.touch_journeys, space)
    n = codes.size
    state = index(seq.code)
    counts = _transition_counts(state, paths.touch_journeys[:-1], seq.cut, n)
    first, last = (index(seq.code[at if all_live else at[live]]) for at in (seq.first, seq.last))

    def per_state(at: NDArray[np.int64], x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.bincount(at, weights=x if all_live else x[live], minlength=n).astype(np.float64)

    start = per_state(first, weight)
    conv, null, value = (per_state(last, x) for x in (paths.conversions, paths.nulls, paths.value))
    out = np.asarray(counts.sum(axis=1)).ravel() + conv + null
    inv = 1.0 / np.where(out > 0, out, 1.0)

    members = np.zeros((n, paths.n_channels), dtype=bool)
    for m in range(order):
        d = (codes // base**m) % base
        has = d > 0
        members[np.flatnonzero(has), d[has] - 1] = True
    total_start = start.sum()
    return MarkovChain(
        order=order,
        channels=paths.channels,
        codes=codes.astype(np.int64),
        members=members,
        q=sp.csr_matrix(sp.diags(inv) @ counts),
        start=start / total_start if total_start > 0 else start,
        to_conversion=conv * inv,
        to_null=null * inv,
        mean_value=np.divide(value, conv, out=np.zeros(n), where=conv > 0),
    )


def _state_index(
    code: NDArray[np.int64], weight: NDArray[np.float64] | None, space: int
) -> tuple[NDArray[np.int64], Callable[[NDArray[np.int64]], NDArray[np.int64]]]:
    """The states (sorted codes) that occur on touches of positive ``weight`` (``None``: all do), and a
    function mapping codes to their index among them, or to ``n`` (one past) for any other code: a lookup
    table when the code space is small (shop-sized channel lists), a binary search otherwise."""
    if space > 1 << 24:
        codes = np.unique(code if weight is None else code[weight > 0])
        codes = codes[codes > 0]

        def search(c: NDArray[np.int64]) -> NDArray[np.int64]:
            at = np.searchsorted(codes, c)
            found = codes[np.minimum(at, codes.size - 1)] == c if codes.size else np.zeros(c.shape, bool)
            return np.where(found, at, codes.size).astype(np.int64)

        return codes, search
    occurs = np.bincount(code, weights=weight, minlength=space)
    occurs[0] = 0
    codes = np.flatnonzero(occurs).astype(np.int64)
    lookup = np.full(space, codes.size, dtype=np.int64)
    lookup[codes] = np.arange(codes.size)
    return codes, lambda c: lookup[c]


def _transition_counts(
    state: NDArray[np.int64], w: NDArray[np.float64], cut: NDArray[np.int64], n: int
) -> sp.csr_matrix:
    """Summed ``w[i]`` of the moves ``state[i] → state[i + 1]`` between two different states (index ``n``
    is no state), except at the positions in ``cut``, as an ``n × n`` sparse matrix."""
    m = n + 1
    src, dst = state[:-1], state[1:]
    if m * m <= 1 << 22:
        key = src * m
        key += dst
        key[cut] = m * m - 1  # the (no state → no state) cell, dropped with the rest of that row
        dense = np.bincount(key, weights=w, minlength=m * m).reshape(m, m)[:n, :n]
        np.fill_diagonal(dense, 0.0)
        return sp.csr_matrix(dense)
    keep = (src != dst) & (src < n) & (dst < n) & (w > 0)
    keep[cut] = False
    return sp.coo_matrix((w[keep], (src[keep], dst[keep])), shape=(n, n)).tocsr()


def ca_steps(paths: Paths, order: int = 1) -> int:
    """ChannelAttribution's default cut of a simulated journey: the largest step count of a path, which
    is its number of chain states plus one, or plus two for a path with neither conversions nor nulls
    (that is how its path encoder counts)."""
    seq = _state_sequence(paths, order, paths.n_channels + 1)
    per_path = np.bincount(paths.path_of_touch[:-1][seq.steps()], minlength=paths.n_paths)
    n_states = per_path + 1  # transitions + the first state
    steps = n_states + np.where(paths.journeys > 0, 1, 2)
    return int(steps.max()) if steps.size else 1


@dataclass(frozen=True)
class MarkovFit:
    """Per channel: attributed conversions and value, removal effects; and the chain's conversion rate."""

    conversions: NDArray[np.float64]
    value: NDArray[np.float64]
    removal_effect: NDArray[np.float64]
    removal_effect_value: NDArray[np.float64]
    p_conversion: float
    chain: MarkovChain


def markov(paths: Paths, order: int = 1, max_steps: int | Literal["ca"] | None = None) -> MarkovFit:
    """Exact removal-effect attribution of ``paths`` with an order-``order`` chain.

    ``max_steps`` (default ``None``: the exact infinite-horizon answer) counts journeys that have not
    converted after that many chain states as not converting, as ChannelAttribution's simulation does;
    ``"ca"`` uses its default cut, derived from the longest path (:func:`ca_steps`)."""
    chain = build_chain(paths, order)
    if max_steps == "ca":
        max_steps = ca_steps(paths, order)
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be a positive whole number, got {max_steps!r}")
    c = paths.n_channels
    full = chain.absorption(max_steps=max_steps)
    removed = np.array([chain.absorption(~chain.members[:, j], max_steps) for j in range(c)]).reshape(c, 2)
    lost = np.clip(full - removed, 0.0, None)
    re = lost[:, 0] / full[0] if full[0] > 0 else np.zeros(c)
    re_value = lost[:, 1] / full[1] if full[1] > 0 else np.zeros(c)
    return MarkovFit(
        conversions=_normalise(re, paths.total_conversions),
        value=_normalise(re_value, paths.total_value),
        removal_effect=re,
        removal_effect_value=re_value,
        p_conversion=float(full[0]),
        chain=chain,
    )


def _normalise(effect: NDArray[np.float64], total: float) -> NDArray[np.float64]:
    s = effect.sum()
    return effect / s * total if s > 0 else np.zeros_like(effect)
