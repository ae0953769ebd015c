"""Shapley attribution: the axioms (efficiency, symmetry, null player) as property tests, the permutation
definition on small games, and the closed form of the simplified attribution game."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.channels import Paths, attribute, shapley, shapley_values

games = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.floats(-100, 100, allow_nan=False), min_size=1 << n, max_size=1 << n)
)


def by_permutations(v: np.ndarray) -> np.ndarray:
    """Average marginal contribution over every order of the players (the definition)."""
    n = int(v.size).bit_length() - 1
    phi = np.zeros(n)
    orders = list(permutations(range(n)))
    for order in orders:
        s = 0
        for i in order:
            phi[i] += v[s | 1 << i] - v[s]
            s |= 1 << i
    return phi / len(orders)


@settings(max_examples=60, deadline=None)
@given(worth=games)
def test_equals_the_permutation_definition_and_is_efficient(worth: list[float]) -> None:
    v = np.array(worth)
    v[0] = 0.0
    phi = shapley_values(v)
    np.testing.assert_allclose(phi, by_permutations(v), atol=1e-9)
    assert phi.sum() == pytest.approx(v[-1] - v[0], abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(worth=games.filter(lambda w: len(w) >= 4), data=st.data())
def test_symmetric_players_get_the_same(worth: list[float], data: st.DataObject) -> None:
    n = len(worth).bit_length() - 1
    i, j = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))

    def swap(s: int) -> int:
        bi, bj = s >> i & 1, s >> j & 1
        return s & ~(1 << i) & ~(1 << j) | bi << j | bj << i

    v = np.array([worth[s] + worth[swap(s)] for s in range(len(worth))])
    phi = shapley_values(v)
    assert phi[i] == pytest.approx(phi[j], abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(worth=games.filter(lambda w: len(w) >= 2), data=st.data())
def test_null_player_gets_nothing(worth: list[float], data: st.DataObject) -> None:
    n = len(worth).bit_length() - 1
    k = data.draw(st.integers(0, n - 1))
    v = np.array([worth[s & ~(1 << k)] for s in range(len(worth))])
    phi = shapley_values(v)
    assert phi[k] == pytest.approx(0.0, abs=1e-9)


journeys = st.lists(
    st.tuples(
        st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=5),
        st.integers(0, 4),
        st.floats(0, 300, allow_nan=False),
        st.integers(0, 4),
    ),
    min_size=1,
    max_size=30,
)


def paths_of(rows: list[tuple[list[str], int, float, int]]) -> Paths:
    return Paths.from_strings(
        [" > ".join(p) for p, *_ in rows],
        [c for _, c, _, _ in rows],
        [v if c else 0.0 for _, c, v, _ in rows],
        [n for *_, n in rows],
    )


@settings(max_examples=60, deadline=None)
@given(rows=journeys)
def test_attribution_shares_out_the_totals_and_has_the_closed_form(
    rows: list[tuple[list[str], int, float, int]],
) -> None:
    p = paths_of(rows)
    conv, value = shapley(p)
    assert conv.sum() == pytest.approx(p.total_conversions, abs=1e-8)
    assert value.sum() == pytest.approx(p.total_value, rel=1e-9, abs=1e-6)
    # the simplified game's Shapley value: each journey's conversions split equally over its distinct channels
    sets = p.channel_sets()
    expected = (p.conversions / sets.sum(axis=1)) @ sets
    np.testing.assert_allclose(conv, expected, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(rows=journeys)
def test_attribution_symmetry_and_null_channel(rows: list[tuple[list[str], int, float, int]]) -> None:
    mirrored = []
    for path, c, v, n in rows:  # every journey through a has a twin through x, and the other way round
        mirrored.append((path, c, v, n))
        mirrored.append(([{"a": "x", "x": "a"}.get(ch, ch) for ch in path], c, v, n))
    mirrored += [(["never", "a"], 0, 0.0, 3), (["never", "x"], 0, 0.0, 3)]  # never on a converting journey
    p = paths_of(mirrored)
    t = attribute(p, "shapley").table.set_index("channel")
    assert t.loc["a", "conversions"] == pytest.approx(t.loc["x", "conversions"], abs=1e-8)
    assert t.loc["never", "conversions"] == 0.0
    assert t.loc["never", "value"] == 0.0


def test_refuses_more_channels_than_it_can_do_exactly() -> None:
    p = Paths.from_strings([f"c{i}" for i in range(21)], np.ones(21))
    with pytest.raises(ValueError, match="at most 20 channels"):
        shapley(p)
