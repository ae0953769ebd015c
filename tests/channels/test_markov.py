"""Markov attribution: exact removal effects against hand-solved chains, against a brute-force walk over
(state, channels visited) built independently of the library, and against ChannelAttribution."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from typing import Any

import numpy as np
import pytest

from cxlab.channels import Paths, attribute, build_chain, markov

Row = tuple[list[str], float, float, float]


def test_hand_solved_chain_without_loops() -> None:
    # start → a 2/3, b 1/3; a → b 1/2, null 1/2; b → conv 1/2, null 1/2
    p = Paths.from_strings(["a > b", "b", "a"], [1, 0, 0], [30.0, 0, 0], [0, 1, 1])
    m = markov(p)
    assert m.p_conversion == pytest.approx(1 / 3)
    np.testing.assert_allclose(m.removal_effect, [1 / 2, 1.0])  # without a: 1/6 of journeys convert
    np.testing.assert_allclose(m.conversions, [1 / 3, 2 / 3])
    np.testing.assert_allclose(m.value, [10.0, 20.0])


def test_hand_solved_chain_with_a_loop() -> None:
    # a → b 2/3, conv 1/3; b → a 1/3, null 2/3; start → a 2/3, b 1/3.
    # x_a = 1/3 + 2/3 x_b, x_b = 1/3 x_a  ⇒  x_a = 3/7, x_b = 1/7, P = 1/3; without b: P = 2/9.
    p = Paths.from_strings(["a > b > a", "b", "a > b"], [1, 0, 0], None, [0, 1, 1])
    m = markov(p)
    assert m.p_conversion == pytest.approx(1 / 3, abs=1e-14)
    np.testing.assert_allclose(m.removal_effect, [1.0, 1 / 3], atol=1e-14)
    np.testing.assert_allclose(m.conversions, [3 / 4, 1 / 4], atol=1e-14)


# --- brute force: an independent chain and a walk over (state, channels seen so far) -------------------


def independent_chain(rows: list[Row], order: int) -> dict[str, Any]:
    trans: dict[tuple[str, ...], dict[tuple[str, ...], float]] = defaultdict(lambda: defaultdict(float))
    start: dict[tuple[str, ...], float] = defaultdict(float)
    conv: dict[tuple[str, ...], float] = defaultdict(float)
    null: dict[tuple[str, ...], float] = defaultdict(float)
    value: dict[tuple[str, ...], float] = defaultdict(float)
    for steps, c, v, n in rows:
        if c + n == 0:
            continue
        if len(steps) < order:
            states = [tuple(steps)]
        else:
            states = [tuple(steps[i - order + 1 : i + 1]) for i in range(order - 1, len(steps))]
        states = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        start[states[0]] += c + n
        for a, b in pairwise(states):
            trans[a][b] += c + n
        conv[states[-1]] += c
        null[states[-1]] += n
        value[states[-1]] += v
    every = set(trans) | set(conv) | set(null)
    out = {s: sum(trans[s].values()) + conv[s] + null[s] for s in every}
    total = sum(start.values())
    return {
        "start": {s: w / total for s, w in start.items()},
        "next": {s: {t: w / out[s] for t, w in trans[s].items()} for s in every},
        "p_conv": {s: conv[s] / out[s] for s in every},
        "mean_value": {s: value[s] / conv[s] if conv[s] else 0.0 for s in every},
    }


def brute_force(chain: dict[str, Any], max_steps: int | None = None) -> tuple[dict[frozenset, float], ...]:
    """Conversions and value by the set of channels a converting journey visited, walking the chain."""
    dist = {(s, frozenset(s)): p for s, p in chain["start"].items()}
    conv: dict[frozenset, float] = defaultdict(float)
    value: dict[frozenset, float] = defaultdict(float)
    step = 1
    while dist and (max_steps is None or step <= max_steps):
        new: dict[tuple, float] = defaultdict(float)
        for (s, seen), p in dist.items():
            conv[seen] += p * chain["p_conv"][s]
            value[seen] += p * chain["p_conv"][s] * chain["mean_value"][s]
            for t, q in chain["next"][s].items():
                new[(t, seen | frozenset(t))] += p * q
        dist = {k: v for k, v in new.items() if v > 1e-18}
        step += 1
    return conv, value


def random_rows(seed: int, n: int = 40, channels: str = "abcd") -> list[Row]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        steps = list(rng.choice(list(channels), size=int(rng.integers(1, 6))))
        c = int(rng.poisson(1.0))
        rows.append((steps, c, float(c * rng.uniform(10, 100)), int(rng.poisson(1.5))))
    return rows


def to_paths(rows: list[Row]) -> Paths:
    return Paths.from_strings(
        [" > ".join(s) for s, *_ in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]
    )


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("seed", [11, 12])
@pytest.mark.parametrize("max_steps", [None, 4])
def test_exact_removal_effects_equal_brute_force(order: int, seed: int, max_steps: int | None) -> None:
    rows = random_rows(seed)
    paths = to_paths(rows)
    conv, value = brute_force(independent_chain(rows, order), max_steps)
    p_conv, total_value = sum(conv.values()), sum(value.values())
    re = np.array([sum(v for s, v in conv.items() if c in s) / p_conv for c in paths.channels])
    re_value = np.array([sum(v for s, v in value.items() if c in s) / total_value for c in paths.channels])
    m = markov(paths, order, max_steps)
    assert m.p_conversion == pytest.approx(p_conv, abs=1e-12)
    np.testing.assert_allclose(m.removal_effect, re, atol=1e-12)
    np.testing.assert_allclose(m.removal_effect_value, re_value, atol=1e-12)
    np.testing.assert_allclose(m.conversions, re / re.sum() * paths.total_conversions, atol=1e-9)
    np.testing.assert_allclose(m.value, re_value / re_value.sum() * paths.total_value, atol=1e-7)


def test_states_collapse_repeats_and_short_journeys_are_one_state() -> None:
    p = Paths.from_strings(["a > a > b", "b", "a > b > b > b"], [1, 1, 0], None, [0, 1, 1])
    assert sorted(build_chain(p, 1).labels()) == ["a", "b"]
    assert sorted(build_chain(p, 2).labels()) == ["a > a", "a > b", "b", "b > b"]
    assert sorted(build_chain(p, 3).labels()) == ["a > a > b", "a > b > b", "b", "b > b > b"]
    with pytest.raises(ValueError, match="order must be 1 to"):
        markov(p, 0)


@pytest.mark.parametrize(("order", "channels"), [(2, 60), (4, 70)])
def test_large_state_spaces_give_the_independent_chain(order: int, channels: int) -> None:
    """More than 2,047 states (sparse transition counts), and at order 4 over 70 channels a code space
    past 2²⁴ (states found by binary search); journeys with no weight add no state."""
    rng = np.random.default_rng(order)
    names = [f"c{i:02d}" for i in range(channels)]
    rows: list[Row] = []
    for _ in range(3000):
        steps = list(rng.choice(names, size=int(rng.integers(1, 7))))
        c = int(rng.poisson(1.0))
        rows.append((steps, c, float(c * 10), int(rng.poisson(1.0))))
    rows.append((["c00", "c01", "c02", "c03", "c04", "c05"], 0, 0.0, 0))  # no journey: adds nothing
    chain = build_chain(to_paths(rows), order)
    ref = independent_chain(rows, order)
    states = [tuple(s.split(" > ")) for s in chain.labels()]
    assert chain.n_states > 2047 and sorted(states) == sorted(ref["next"])
    at = {s: i for i, s in enumerate(states)}
    q = chain.q.tocoo()
    got = {(states[i], states[j]): v for i, j, v in zip(q.row, q.col, q.data, strict=True)}
    want = {(a, b): v for a, nxt in ref["next"].items() for b, v in nxt.items()}
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-12)
    np.testing.assert_allclose([chain.start[at[s]] for s in ref["start"]], list(ref["start"].values()))
    np.testing.assert_allclose(
        [chain.to_conversion[at[s]] for s in states], [ref["p_conv"][s] for s in states]
    )


# --- ChannelAttribution ------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
def test_transition_matrix_equals_channelattribution(
    order: int, ca: Any, quiet: Any, random_paths: Any
) -> None:
    df = random_paths(21, n=300, channels=5, max_len=6)
    ref = quiet(
        ca.transition_matrix, df, "path", "total_conversions", var_null="total_null", order=order,
        flg_equal=False, flg_pro=False,
    )  # fmt: skip
    ids = dict(zip(ref["channels"]["channel_name"], ref["channels"]["id_channel"].astype(str), strict=True))
    ours = build_chain(Paths.from_frame(df), order).transition_frame()
    special = {"(start)", "(conversion)", "(null)"}
    rename = {
        x: x if x in special else " ".join(ids[c] for c in x.split(" > "))
        for x in [*ours.index, *ours.columns]
    }
    ours = ours.rename(index=rename, columns=rename)
    pairs = ref["transition_matrix"]
    got = [ours.loc[str(f), str(t)] for f, t in zip(pairs["channel_from"], pairs["channel_to"], strict=True)]
    np.testing.assert_allclose(got, pairs["transition_probability"].to_numpy(), atol=1e-12)
    assert np.count_nonzero(ours.to_numpy()) == len(pairs)


@pytest.mark.parametrize("order", [1, 2])
def test_agrees_with_channelattribution_simulation(
    order: int, ca: Any, quiet: Any, random_paths: Any
) -> None:
    """With its step cut, ChannelAttribution's simulation (10⁶ journeys) lands within its simulation error
    of the exact answer; without the cut the exact removal effects are higher, because the simulation
    drops converting journeys longer than the longest observed path."""
    df = random_paths(5, n=2000, channels=6, max_len=6)
    paths = Paths.from_frame(df)
    res = quiet(
        ca.markov_model, df, "path", "total_conversions", var_value="total_conversion_value",
        var_null="total_null", order=order, out_more=True, verbose=False, flg_pro=False, nsim_start=1e6,
    )  # fmt: skip
    ref_re = res["removal_effects"].set_index("channel_name").loc[list(paths.channels)]
    ref = res["result"].set_index("channel_name").loc[list(paths.channels)]
    cut = markov(paths, order, "ca")
    np.testing.assert_allclose(cut.removal_effect, ref_re["removal_effects_conversion"], atol=0.008)
    np.testing.assert_allclose(
        cut.removal_effect_value, ref_re["removal_effects_conversion_value"], atol=0.01
    )
    np.testing.assert_allclose(cut.conversions, ref["total_conversions"], rtol=0.015)
    np.testing.assert_allclose(cut.value, ref["total_conversion_value"], rtol=0.02)
    exact = markov(paths, order)
    assert (exact.removal_effect > cut.removal_effect).all()
    assert (exact.removal_effect - ref_re["removal_effects_conversion"].to_numpy()).min() > 0.01


def test_exact_answers_do_not_move_while_simulated_ones_do(ca: Any, quiet: Any, random_paths: Any) -> None:
    df = random_paths(6, n=1000, channels=6, max_len=6)
    paths = Paths.from_frame(df)
    runs = [attribute(paths, "markov").table["conversions"].to_numpy() for _ in range(3)]
    assert all((r == runs[0]).all() for r in runs)
    sims = [
        quiet(
            ca.markov_model,
            df,
            "path",
            "total_conversions",
            var_null="total_null",
            seed=s,
            verbose=False,
            flg_pro=False,
        )["total_conversions"].to_numpy()
        for s in (0, 1000)  # its folds use seeds seed .. seed + nfold - 1, so nearby seeds agree
    ]
    assert np.abs(sims[0] - sims[1]).max() > 0
