"""Unique journeys as compact arrays: the one input every attribution model reads.

A :class:`Paths` holds unique channel sequences (``paid_search > email > direct``) with, per sequence, the
conversions, the conversion value and the journeys that did not convert — the layout ChannelAttribution
users already have. The sequences are stored flat (``touches`` with ``offsets``, like an Arrow list
array), so every model is a handful of vectorised numpy operations over touches, never a Python loop
over journeys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray

from cxlab.channels.parse import split_paths

TouchDecay = Callable[[float], tuple[NDArray[np.float64], NDArray[np.float64]]]
"""Given a half-life in days, per touch of :class:`Paths` the summed time-decay weights of the journeys
behind its path, weighted by their conversions and by their value (computed by the engine)."""


class EmptyPathError(ValueError):
    """A path string with no channel in it; ``index`` is its 0-based position."""

    def __init__(self, message: str, index: int):
        super().__init__(message)
        self.index = index


@dataclass(frozen=True, eq=False)
class Paths:
    """Unique journeys: channel sequences with conversions, value and non-converting journeys.

    ``touches[offsets[i]:offsets[i + 1]]`` are the channel codes (indices into ``channels``) of path ``i``,
    in order. Counts are floats so that resampled or weighted inputs fit too.
    """

    channels: tuple[str, ...]
    offsets: NDArray[np.int64]
    touches: NDArray[np.int32]
    conversions: NDArray[np.float64]
    value: NDArray[np.float64]
    nulls: NDArray[np.float64]
    decay: TouchDecay | None = None
    """Time-decay weights from real touch times, when the journeys came from the store."""
    source: str = "<paths>"
    meta: dict[str, Any] = field(default_factory=dict)
    """What the builder wants said about the journeys (e.g. conversions left without a touch)."""

    def __post_init__(self) -> None:
        n = self.offsets.size - 1
        if n < 0 or any(a.shape != (n,) for a in (self.conversions, self.value, self.nulls)):
            raise ValueError("offsets, conversions, value and nulls must describe the same paths")
        if n and (np.diff(self.offsets) < 1).any():
            raise ValueError(f"{self.source}: every path needs at least one channel")

    # --- shape -----------------------------------------------------------------------------------------

    @property
    def n_paths(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @cached_property
    def lengths(self) -> NDArray[np.int64]:
        return np.diff(self.offsets)

    @cached_property
    def path_of_touch(self) -> NDArray[np.int64]:
        """For each touch, the index of its path."""
        return np.repeat(np.arange(self.n_paths), self.lengths)

    @cached_property
    def position(self) -> NDArray[np.int64]:
        """For each touch, its 0-based position in its path."""
        pos = np.arange(self.touches.size)
        pos -= np.repeat(self.offsets[:-1], self.lengths)
        return pos

    @property
    def journeys(self) -> NDArray[np.float64]:
        """Journeys behind each path: conversions plus non-converting journeys."""
        return self.conversions + self.nulls

    @cached_property
    def touch_journeys(self) -> NDArray[np.float64]:
        """For each touch, the journeys behind its path."""
        return np.repeat(self.journeys, self.lengths)

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        return float(self.value.sum())

    def channel_sets(self) -> NDArray[np.bool_]:
        """``(n_paths, n_channels)``: whether each path touches each channel."""
        out = np.zeros((self.n_paths, self.n_channels), dtype=bool)
        out[self.path_of_touch, self.touches] = True
        return out

    def reach(self) -> NDArray[np.float64]:
        """Per channel, the journeys (converting or not) that touch it at least once."""
        if self.n_channels > 62:
            return np.asarray(self.journeys @ self.channel_sets(), dtype=np.float64)
        bits = np.left_shift(np.int64(1), self.touches)
        masks = np.bitwise_or.reduceat(bits, self.offsets[:-1]) if self.n_paths else bits[:0]
        # journeys per distinct channel set (a bit mask), then per channel: few sets, many paths
        of_path, sets = pd.factorize(masks)
        per_set = np.bincount(of_path, weights=self.journeys, minlength=sets.size)
        member = (sets[:, None] >> np.arange(self.n_channels)) & 1
        return np.asarray(per_set @ member, dtype=np.float64)

    def touch_counts(self) -> NDArray[np.float64]:
        """Per channel, its touches over all journeys (a journey visiting twice counts twice)."""
        return per_channel(self, self.touch_journeys)

    # --- construction ----------------------------------------------------------------------------------

    @classmethod
    def from_strings(
        cls,
        paths: Sequence[str] | pa.Array | pa.ChunkedArray | pd.Series,
        conversions: ArrayLike,
        value: ArrayLike | None = None,
        nulls: ArrayLike | None = None,
        *,
        sep: str = ">",
        source: str = "<paths>",
    ) -> Paths:
        """Parse ``a > b > c`` strings (spaces around ``sep`` optional, empty steps ignored)."""
        arr = (
            paths
            if isinstance(paths, pa.Array | pa.ChunkedArray)
            else pa.array(list(paths), pa.large_string())
        )
        if arr.null_count:
            nulls = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            raise ValueError(f"{source}: path {_first(nulls)}: missing path")
        lengths, codes, names = split_paths(arr, sep)
        if (lengths == 0).any():
            i = _first(lengths == 0)
            raise EmptyPathError(f"{source}: path {i}: no channel in the path", i - 1)
        n = len(arr)
        return cls(
            channels=tuple(names),
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            touches=codes,
            conversions=_floats(conversions, n, "conversions"),
            value=_floats(value, n, "value"),
            nulls=_floats(nulls, n, "nulls"),
            source=source,
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        path: str = "path",
        conversions: str = "total_conversions",
        value: str | None = "total_conversion_value",
        nulls: str | None = "total_null",
        sep: str = ">",
    ) -> Paths:
        """From a ChannelAttribution-style data frame (value and null columns optional)."""
        return cls.from_strings(
            pa.array(frame[path].astype(object), pa.large_string()),
            frame[conversions].to_numpy(float),
            frame[value].to_numpy(float) if value and value in frame else None,
            frame[nulls].to_numpy(float) if nulls and nulls in frame else None,
            sep=sep,
        )

    def unique(self) -> Paths:
        """The same journeys with equal paths merged (counts summed), in order of first occurrence.

        Equal channel sequences are found by a 64-bit hash of each path's codes, then checked touch by
        touch, so the merge is exact (on the astronomically unlikely collision nothing is merged)."""
        if self.n_paths < 2:
            return self
        lengths, pos = self.lengths, self.position
        powers = np.cumprod(np.full(int(lengths.max()), 1099511628211, dtype=np.uint64))
        mixed = self.touches.astype(np.uint64)
        mixed += np.uint64(1)
        mixed *= powers[pos]
        h = np.add.reduceat(mixed, self.offsets[:-1]) ^ (
            lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        )
        if pd.unique(h).size == self.n_paths:  # the usual case, and cheaper to see than to factorize
            return self
        group, _ = pd.factorize(h)
        n_groups = int(group.max()) + 1
        rep = np.zeros(n_groups, np.int64)
        rep[group[::-1]] = np.arange(self.n_paths)[::-1]
        of_touch = rep[group][self.path_of_touch]
        same = (lengths[rep[group]] == lengths).all() and (
            self.touches[self.offsets[of_touch] + pos] == self.touches
        ).all()
        if not same:
            return self
        keep = np.repeat(np.isin(np.arange(self.n_paths), rep), lengths)
        new_lengths = lengths[rep]

        def summed(x: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.bincount(group, weights=x, minlength=n_groups).astype(np.float64)

        return replace(
            self,
            offsets=np.concatenate([[0], np.cumsum(new_lengths)]).astype(np.int64),
            touches=self.touches[keep],
            conversions=summed(self.conversions),
            value=summed(self.value),
            nulls=summed(self.nulls),
            decay=None,
        )

    def with_counts(
        self,
        conversions: NDArray[np.float64],
        value: NDArray[np.float64],
        nulls: NDArray[np.float64],
        decay: TouchDecay | None = None,
    ) -> Paths:
        """The same paths with other counts (a bootstrap resample, a subset)."""
        return replace(self, conversions=conversions, value=value, nulls=nulls, decay=decay)

    # --- output ----------------------------------------------------------------------------------------

    def path_strings(self, sep: str = " > ") -> list[str]:
        names = np.asarray(self.channels, dtype=object)[self.touches]
        return [sep.join(names[a:b]) for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]

    def to_frame(self) -> pd.DataFrame:
        """ChannelAttribution layout: ``path``, ``total_conversions``, ``total_conversion_value``,
        ``total_null``."""
        return pd.DataFrame(
            {
                "path": self.path_strings(),
                "total_conversions": self.conversions,
                "total_conversion_value": self.value,
                "total_null": self.nulls,
            }
        )

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "unique_paths": self.n_paths,
            "journeys": float(self.journeys.sum()),
            "conversions": self.total_conversions,
            "value": self.total_value,
            "channels": list(self.channels),
            **self.meta,
        }


def _first(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def _floats(x: ArrayLike | None, n: int, name: str) -> NDArray[np.float64]:
    if x is None:
        return np.zeros(n)
    a = np.asarray(x, dtype=np.float64)
    if a.shape != (n,):
        raise ValueError(f"{name}: expected {n} values, got {a.size}")
    if not np.isfinite(a).all() or (a < 0).any():
        raise ValueError(f"{name}: counts and values must be finite and not negative")
    return a


def segment_sum(paths: Paths, per_touch: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum a per-touch quantity over each path."""
    return np.add.reduceat(per_touch, paths.offsets[:-1]) if paths.n_paths else np.zeros(0)


def per_channel(paths: Paths, per_touch: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum a per-touch quantity by channel."""
    return np.bincount(paths.touches, weights=per_touch, minlength=paths.n_channels).astype(np.float64)
