"""Shapley attribution: the axioms (efficiency, symmetry, null player) as property tests, the permutation
definition on small games, and the closed form of the simplified attribution game checked against the
textbook formula over all 2^n coalitions (the reference lives here, not in ``src/``)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import permutations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.channels import Paths, attribute, read_paths, shapley, shapley_values

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


def exponential_shapley(paths: Paths) -> tuple[np.ndarray, np.ndarray]:
    """The reference: build the game's 2^n worths ``v(S) = Σ_{T ⊆ S} R(T)`` (zeta transform over the
    journeys' channel sets) and solve it with the textbook formula."""
    n = paths.n_channels
    bits = np.left_shift(np.int64(1), paths.touches.astype(np.int64))
    masks = np.bitwise_or.reduceat(bits, paths.offsets[:-1])

    def worths(r: np.ndarray) -> np.ndarray:
        v = np.bincount(masks, weights=r, minlength=1 << n).astype(np.float64)
        for i in range(n):
            blocks = v.reshape(-1, 2, 1 << i)
            blocks[:, 1, :] += blocks[:, 0, :]
        return v

    return shapley_values(worths(paths.conversions)), shapley_values(worths(paths.value))


@settings(max_examples=60, deadline=None)
@given(rows=journeys)
def test_closed_form_equals_the_game_over_all_coalitions(
    rows: list[tuple[list[str], int, float, int]],
) -> None:
    p = paths_of(rows)
    conv, value = shapley(p)
    ref_conv, ref_value = exponential_shapley(p)
    np.testing.assert_allclose(conv, ref_conv, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(value, ref_value, rtol=1e-10, atol=1e-6)
    assert conv.sum() == pytest.approx(p.total_conversions, abs=1e-8)
    assert value.sum() == pytest.approx(p.total_value, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_closed_form_equals_the_game_on_random_paths(
    random_paths: Callable[..., pd.DataFrame], seed: int
) -> None:
    p = read_paths(random_paths(seed, n=200, channels=9, max_len=6))
    for got, ref in zip(shapley(p), exponential_shapley(p), strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-8)


def test_more_than_twenty_channels_by_hand() -> None:
    """25 channels (the old exact version refused > 20): each journey's conversions split equally over its
    distinct channels, counted by hand."""
    names = [f"c{i:02d}" for i in range(25)]
    everything = " > ".join(names)  # 4 conversions, worth 100: 4/25 and 4 each
    rows = [
        (everything, 4, 100.0),
        ("c00 > c01 > c00", 3, 30.0),  # c00 twice: still 1.5 each, 15 each
        ("c24", 2, 50.0),
        ("c07 > c08 > c09", 0, 0.0),  # no conversion: nothing
    ]
    p = Paths.from_strings([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    conv, value = shapley(p)
    got = dict(zip(p.channels, conv, strict=True))
    got_value = dict(zip(p.channels, value, strict=True))
    assert p.n_channels == 25
    assert got["c00"] == pytest.approx(4 / 25 + 1.5) and got_value["c00"] == pytest.approx(4 + 15)
    assert got["c01"] == pytest.approx(4 / 25 + 1.5) and got_value["c01"] == pytest.approx(4 + 15)
    assert got["c24"] == pytest.approx(4 / 25 + 2) and got_value["c24"] == pytest.approx(4 + 50)
    assert got["c08"] == pytest.approx(4 / 25) and got_value["c08"] == pytest.approx(4)
    assert conv.sum() == pytest.approx(9) and value.sum() == pytest.approx(180)
    assert attribute(p, "shapley").table.set_index("channel").loc["c24", "conversions"] == pytest.approx(2.16)


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
