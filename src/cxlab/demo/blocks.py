"""Events as column blocks of codes, and the vectorised string helpers (ids, JSON) that turn them into Arrow."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlab.demo import params as P

Value: TypeAlias = str | np.ndarray | pa.Array


@dataclass
class EventBlock:
    """Events of one kind, as parallel arrays of codes (``-1``: null) and a JSON ``properties`` array."""

    person: np.ndarray
    ts: np.ndarray
    event: np.ndarray
    touchpoint: np.ndarray
    channel: np.ndarray
    campaign: np.ndarray
    device: np.ndarray
    session: np.ndarray
    revenue: np.ndarray
    properties: pa.Array

    @property
    def n(self) -> int:
        return int(self.person.size)


def _full(v: int | np.ndarray, n: int, dtype: type = np.int64) -> np.ndarray:
    if isinstance(v, np.ndarray):
        return v.astype(dtype, copy=False)
    return np.full(n, v, dtype=dtype)


def block(
    person: np.ndarray,
    ts: np.ndarray,
    event: str,
    *,
    touchpoint: str | np.ndarray | None = None,
    channel: str | np.ndarray | None = None,
    campaign: str | np.ndarray | None = None,
    device: int | np.ndarray = -1,
    session: int | np.ndarray = -1,
    revenue: np.ndarray | None = None,
    properties: pa.Array | None = None,
) -> EventBlock:
    """An :class:`EventBlock`; string arguments are names from :mod:`cxlab.demo.params`, arrays are codes."""
    n = int(person.size)

    def code(v: str | np.ndarray | None, table: dict[str, int]) -> np.ndarray:
        if v is None:
            return np.full(n, -1, dtype=np.int64)
        return _full(table[v] if isinstance(v, str) else v, n)

    return EventBlock(
        person=person.astype(np.int64, copy=False),
        ts=ts.astype(np.int64, copy=False),
        event=np.full(n, P.EV[event], dtype=np.int64),
        touchpoint=code(touchpoint, P.TP),
        channel=code(channel, P.CH),
        campaign=code(campaign, P.CAMP),
        device=_full(device, n),
        session=_full(session, n),
        revenue=np.full(n, np.nan) if revenue is None else revenue,
        properties=pa.nulls(n, pa.string()) if properties is None else properties,
    )


def select(b: EventBlock, mask: np.ndarray, properties: pa.Array | None = None) -> EventBlock:
    """The events of ``b`` where ``mask`` is true (or, for an index array, at those rows); ``properties``
    replaces theirs when given."""
    idx = np.flatnonzero(mask) if mask.dtype == np.bool_ else mask
    return EventBlock(
        person=b.person[idx],
        ts=b.ts[idx],
        event=b.event[idx],
        touchpoint=b.touchpoint[idx],
        channel=b.channel[idx],
        campaign=b.campaign[idx],
        device=b.device[idx],
        session=b.session[idx],
        revenue=b.revenue[idx],
        properties=b.properties.take(pa.array(idx)) if properties is None else properties,
    )


def concat(blocks: list[EventBlock]) -> EventBlock:
    """All events of ``blocks`` in one block (in block order)."""

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(b, name) for b in blocks])

    props = pa.concat_arrays([b.properties for b in blocks]) if blocks else pa.array([], pa.string())
    return EventBlock(
        person=cat("person"),
        ts=cat("ts"),
        event=cat("event"),
        touchpoint=cat("touchpoint"),
        channel=cat("channel"),
        campaign=cat("campaign"),
        device=cat("device"),
        session=cat("session"),
        revenue=cat("revenue"),
        properties=props,
    )


def as_text(v: np.ndarray) -> pa.Array:
    """Numbers as their decimal text (floats rounded to cents)."""
    if np.issubdtype(v.dtype, np.floating):
        return pa.array(np.round(v, 2)).cast(pa.string())
    return pa.array(v.astype(np.int64)).cast(pa.string())


def json_obj(n: int, **fields: Value) -> pa.Array:
    """A JSON object per row: str values are constant strings, ``pa.Array`` s strings, numpy arrays
    numbers or booleans. Values must not contain characters that need escaping."""
    parts: list[str | pa.Array] = []
    for i, (key, val) in enumerate(fields.items()):
        parts.append(("{" if i == 0 else ",") + json.dumps(key) + ":")
        if isinstance(val, str):
            parts.append(json.dumps(val))
        elif isinstance(val, pa.Array):
            parts += ['"', val, '"']
        elif val.dtype == np.bool_:
            parts.append(pc.if_else(pa.array(val), "true", "false"))
        else:
            parts.append(as_text(val))
    parts.append("}")
    merged: list[str | pa.Array] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    if all(isinstance(m, str) for m in merged):
        return pa.array([merged[0]], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64)))
    return pc.binary_join_element_wise(*merged, "")


def ids(prefix: str, gid: np.ndarray, seq: np.ndarray | None = None, seq_width: int = 4) -> pa.Array:
    """Ids like ``C00001234`` (from the global person number) or ``E00001234-0007`` (with a sequence)."""
    head = pc.utf8_lpad(as_text(gid), 8, "0")
    if seq is None:
        return pc.binary_join_element_wise(prefix, head, "")
    tail = pc.utf8_lpad(as_text(seq), seq_width, "0")
    return pc.binary_join_element_wise(prefix, head, "-", tail, "")


class PersonIds:
    """Id strings of a batch's people, built once and gathered per row (much cheaper than formatting)."""

    def __init__(self, gid: np.ndarray) -> None:
        self.gid = gid
        self._cache: dict[str, pa.Array] = {}

    def of(self, prefix: str, person: np.ndarray) -> pa.Array:
        """``prefix`` + the 8-digit person number, for each row's (batch-local) person."""
        if prefix not in self._cache:
            self._cache[prefix] = ids(prefix, self.gid)
        return self._cache[prefix].take(pa.array(person))

    def with_seq(self, prefix: str, person: np.ndarray, seq: np.ndarray, width: int) -> pa.Array:
        """``prefix`` + person number + ``-`` + the zero-padded ``seq``."""
        head = self.of(prefix, person)
        tail = pc.utf8_lpad(as_text(seq), width, "0")
        return pc.binary_join_element_wise(head, "-", tail, "")


def names(table: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Codes as names from ``table``; ``-1`` becomes null."""
    arr = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.array(table, pa.string()).take(arr)


def rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a sorted array."""
    n = groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n, dtype=np.int64) - first


def email_events(
    person: np.ndarray,
    send: np.ndarray,
    opened: np.ndarray,
    clicked: np.ndarray,
    *,
    touchpoint: str,
    campaign: str,
    device: np.ndarray,
    properties: pa.Array | None = None,
    channel: str = "email",
) -> list[EventBlock]:
    """``email_sent`` for all, ``email_open`` where ``opened >= 0``, ``email_click`` where ``clicked >= 0``
    (times in seconds; ``-1``: didn't happen)."""
    n = int(person.size)
    props = properties if properties is not None else pa.nulls(n, pa.string())
    sent = block(
        person,
        send,
        "email_sent",
        touchpoint=touchpoint,
        channel=channel,
        campaign=campaign,
        properties=props,
    )
    out = [sent]
    for name, when in (("email_open", opened), ("email_click", clicked)):
        m = when >= 0
        if m.any():
            b = block(
                person,
                when,
                name,
                touchpoint=touchpoint,
                channel=channel,
                campaign=campaign,
                device=device,
                properties=props,
            )
            out.append(select(b, m))
    return out
