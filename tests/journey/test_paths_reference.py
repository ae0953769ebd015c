"""Paths against a plain-Python reference over random event lists: start, end or neither; loops collapsed or
not; the Sankey links per position."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cxlab.journey import paths

MakeStore = Callable[[Any], Any]
NODES = ["site", "cart", "checkout", "search_ad", "newsletter"]


def _reference(
    rows: list[tuple[str, float, str, str]], start: str | None, end: str | None, depth: int, collapse: bool
) -> Counter[tuple[str, ...]]:
    by: dict[str, list[tuple[float, int, str]]] = {}
    for i, (p, h, _, tp) in enumerate(rows):
        by.setdefault(p, []).append((h, i, tp))
    out: Counter[tuple[str, ...]] = Counter()
    for evs in by.values():
        seq = [tp for _, _, tp in sorted(evs)]
        if collapse:
            seq = [x for j, x in enumerate(seq) if j == 0 or x != seq[j - 1]]
        if start:
            if start not in seq:
                continue
            a = seq.index(start)
            out[tuple(seq[a : a + depth])] += 1
        elif end:
            if end not in seq:
                continue
            a = seq.index(end)
            out[tuple(seq[max(0, a - depth + 1) : a + 1])] += 1
        else:
            out[tuple(seq[:depth])] += 1
    return out


@pytest.mark.parametrize(
    "start,end,collapse",
    [
        ("cart", None, True),
        ("cart", None, False),
        (None, "checkout", True),
        (None, "checkout", False),
        (None, None, True),
    ],
)
def test_paths_match_reference(
    make_store: MakeStore, start: str | None, end: str | None, collapse: bool
) -> None:
    rng = np.random.default_rng(3)
    rows: list[tuple[str, float, str, str]] = []
    for p in range(200):
        for _ in range(rng.integers(1, 9)):
            # distinct times per person (event ids would break ties, as in the engine)
            rows.append(
                (f"p{p:03d}", float(rng.integers(0, 40)) + len(rows) * 1e-3, "x", str(rng.choice(NODES)))
            )
    depth = 3
    ref = _reference(rows, start, end, depth, collapse)
    with make_store(rows) as s:
        res = paths(s.ibis(), s.config, start=start, end=end, depth=depth, collapse_loops=collapse, top=1000)
    got = dict(zip(res.table["path"], res.table["units"], strict=True))
    assert got == {" > ".join(k): v for k, v in ref.items()}
    assert res.units == sum(ref.values())
    links: Counter[tuple[int, str, str]] = Counter()
    for path, n in ref.items():
        offset = depth - len(path) if end else 0
        for j in range(len(path) - 1):
            links[(j + offset, path[j], path[j + 1])] += n
    want = sorted(((p, -n, s, t) for (p, s, t), n in links.items()))
    have = res.links
    for pos in have["pos"].unique():  # the figure keeps the 12 biggest links per position
        mine = have[have["pos"] == pos]
        theirs = [(s, t, -n) for p, n, s, t in want if p == pos]
        assert len(mine) == min(12, len(theirs))
        for _, r in mine.iterrows():
            assert links[(int(pos), r["source"], r["target"])] == r["units"]
