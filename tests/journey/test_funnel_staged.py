"""The staged ordered funnel (one window pass per step over only the rows that matter to it) on the corner
cases it has to get right: a step repeated (one event completing two consecutive steps), many events in the
same second, exclusions between later steps, sessions as units. Checked against the brute-force reference."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cxlab.journey import Exclusion, Step, funnel

MakeStore = Callable[[Any], Any]


def _events(
    seed: int, letters: str, probs: list[float], people: int = 150
) -> list[tuple[str, int, str, int]]:
    rng = np.random.default_rng(seed)
    out, i = [], 0
    for p in range(people):
        for _ in range(rng.integers(1, 10)):
            # whole hours over 1.5 days: many events share a second, which must not chain
            out.append((f"p{p:03d}", int(rng.integers(0, 36)), str(rng.choice(list(letters), p=probs)), i))
            i += 1
    return out


@pytest.mark.parametrize(
    "steps,excl",
    [
        (["a", "a", "b"], None),  # one event type is two consecutive steps
        (["a", "b", "a", "c"], None),
        (["a", "b", "c"], Exclusion(Step("x"), after=2, before=3)),
        (["a", "b", "c"], Exclusion(Step("x"), after=1, before=2)),
    ],
)
def test_staged_ordered_matches_brute_force(
    make_store: MakeStore, steps: list[str], excl: Exclusion | None
) -> None:
    events = _events(11, "abcx", [0.4, 0.25, 0.2, 0.15])
    rows = [(p, float(h), e, None) for p, h, e, _ in events]
    with make_store(rows) as s:
        res = funnel(s.ibis(), s.config, steps, "10h", exclusions=[excl] if excl else ())
    secs = [(p, h * 3600, e, j) for p, h, e, j in events]
    expected, durations = _reference(secs, steps, 10 * 3600, excl)
    assert res.to_frame()["units"].tolist() == expected
    assert 0 < expected[-1] < expected[0]
    ttc = res.time_to_convert.set_index("quantile")["hours"]
    assert ttc["mean"] == pytest.approx(np.mean(durations) / 3600)
    assert ttc[0.5] == pytest.approx(np.quantile(durations, 0.5) / 3600)


def _reference(
    events: list[tuple[str, int, str, int]], steps: list[str], w: int, excl: Exclusion | None
) -> tuple[list[int], list[int]]:
    """Brute force over every chain of events: strictly increasing seconds, within ``w`` of its start, and
    no excluded event in a gap the exclusion covers (between step ``after`` and step ``before``). Returns
    the people per step and, per person who completes the funnel, the shortest complete chain (seconds)."""
    by: dict[str, list[tuple[int, int, str]]] = {}
    for p, t, e, i in events:
        by.setdefault(p, []).append((t, i, e))
    counts = [0] * len(steps)
    lo, hi = (excl.after, excl.before or len(steps)) if excl else (0, 0)
    durations = []
    for evs in by.values():
        evs.sort()
        best, shortest = 0, None
        for k in range(1, len(steps) + 1):
            for idx in itertools.combinations(range(len(evs)), k):
                ch = [evs[i] for i in idx]
                if any(ch[j][2] != steps[j] for j in range(k)) or ch[-1][0] - ch[0][0] > w:
                    continue
                if any(ch[j][0] >= ch[j + 1][0] for j in range(k - 1)):
                    continue
                gaps = [(ch[j][0], ch[j + 1][0]) for j in range(k - 1) if lo <= j + 1 and j + 2 <= hi]
                if excl and any(e == excl.step.name and a <= t < b for t, _, e in evs for a, b in gaps):
                    continue
                best = max(best, k)
                if k < len(steps):
                    break
                shortest = min(shortest or w, ch[-1][0] - ch[0][0])
        for k in range(best):
            counts[k] += 1
        if shortest is not None:
            durations.append(shortest)
    return counts, durations


def test_sessions_as_units(make_store: MakeStore) -> None:
    rows = [  # person, hours, event: p1 has two sessions (a 5h gap); only the second one converts
        ("p1", 0.0, "a", None), ("p1", 5.0, "a", None), ("p1", 5.1, "b", None),
        ("p2", 0.0, "a", None), ("p2", 0.2, "b", None), ("p2", 0.3, "c", None),
    ]  # fmt: skip
    with make_store(rows) as s:
        res = funnel(s.ibis(), s.config, ["a", "b", "c"], "1d", unit="sessions")
    assert res.to_frame()["units"].tolist() == [3, 2, 1]
    assert res.to_dict()["steps"][0]["sessions"] == 3


def test_ordered_steps_within_one_second_count(make_store: MakeStore) -> None:
    """A page view and a click 300 ms apart (the browser snippet sends such pairs): 'ordered' sees the order to
    the millisecond, as 'strict' does; the same millisecond is not 'later'."""
    ms = 1 / 3600 / 1000
    rows = [
        ("p1", 100 * ms, "page_view", None), ("p1", 400 * ms, "add_to_cart", None),
        ("p2", 0.0, "page_view", None), ("p2", 0.0, "add_to_cart", None),
    ]  # fmt: skip
    with make_store(rows) as s:
        counts = {
            order: funnel(s.ibis(), s.config, ["page_view", "add_to_cart"], "1d", order=order)
            .to_frame()["units"]
            .tolist()
            for order in ("ordered", "strict")
        }
    assert counts["ordered"] == [2, 1]
    assert counts["strict"][1] >= 1
