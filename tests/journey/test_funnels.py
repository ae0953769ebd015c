"""Funnels against a hand-computed tiny store and against a brute-force reference over random event lists."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from cxlab.journey import Exclusion, Step, funnel

MakeStore = Callable[[Any], Any]
ROWS = [  # person, hours, event, touchpoint
    ("p1", 0, "a", "site"), ("p1", 1, "b", "cart"), ("p1", 2, "c", "checkout"),        # a b c in a day
    ("p2", 0, "a", "site"), ("p2", 30, "b", "cart"), ("p2", 31, "c", "checkout"),      # b after the 24h window
    ("p3", 0, "b", "cart"), ("p3", 1, "a", "site"), ("p3", 2, "c", "checkout"),        # b before a
    ("p4", 0, "a", "site"), ("p4", 1, "x", "site"), ("p4", 2, "b", "cart"),            # x between a and b
    ("p4", 3, "c", "checkout"),
    ("p5", 0, "a", "site"), ("p5", 50, "a", "site"), ("p5", 51, "b", "cart"),          # a later a restarts
    ("p6", 0, "c", "checkout"),                                                        # never a
]  # fmt: skip


def test_hand_computed_orders_window_and_exclusion(make_store: MakeStore) -> None:
    with make_store(ROWS) as s:
        con, cfg = s.ibis(), s.config
        units = lambda f: f.to_frame()["units"].tolist()  # noqa: E731
        assert units(funnel(con, cfg, ["a", "b", "c"], "1d")) == [5, 3, 2]  # p1, p4, p5 | p1, p4
        assert units(funnel(con, cfg, ["a", "b", "c"], "2d")) == [5, 4, 3]  # + p2 (31h)
        assert units(funnel(con, cfg, ["a", "b", "c"], "1d", order="strict")) == [5, 2, 1]  # p4: x breaks it
        assert units(funnel(con, cfg, ["a", "b", "c"], "1d", order="any")) == [5, 3, 2]  # p3 (b before a) no
        excl = [Exclusion(Step("x"))]
        assert units(funnel(con, cfg, ["a", "b", "c"], "1d", exclusions=excl)) == [5, 2, 1]
        tp = funnel(con, cfg, ["touchpoint:site", "touchpoint:cart"], "1d")
        assert tp.to_frame()["units"].tolist() == [5, 3]  # p3's cart is before its site
        d = funnel(con, cfg, ["a", "b", "c"], "1d").to_dict()
        assert [x["customers"] for x in d["steps"]] == [5, 3, 2]


def test_wilson_intervals_match_closed_form(make_store: MakeStore) -> None:
    with make_store(ROWS) as s:
        t = funnel(s.ibis(), s.config, ["a", "b", "c"], "1d").to_frame()
    k, n, z = 3.0, 5.0, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert t.loc[1, "ci_low_previous"] == pytest.approx(centre - half, abs=1e-12)
    assert t.loc[1, "ci_high_previous"] == pytest.approx(centre + half, abs=1e-12)
    lo, hi = proportion_confint(2, 3, method="wilson")
    assert (t.loc[2, "ci_low_previous"], t.loc[2, "ci_high_previous"]) == pytest.approx((lo, hi))


def _reference(
    events: list[tuple[str, int, str, int]], steps: list[str], w: int, order: str, excl: str | None
) -> list[int]:
    """Plain Python: per person, the furthest step any chain reaches (brute force over all chains)."""
    by: dict[str, list[tuple[int, int, str]]] = {}
    for p, t, e, i in events:
        by.setdefault(p, []).append((t, i, e))
    counts = [0] * len(steps)
    for evs in by.values():
        evs.sort()
        best = 0
        for a, (t0, _, e0) in enumerate(evs):
            if e0 != steps[0]:
                continue
            best = max(best, 1)
            if order == "any":
                for k in range(2, len(steps) + 1):
                    if all(any(e == s and t0 <= t <= t0 + w for t, _, e in evs) for s in steps[1:k]):
                        best = max(best, k)
                continue
            for k in range(2, len(steps) + 1):
                idx_sets = (
                    [tuple(range(a, a + k))]
                    if order == "strict"
                    else [(a, *c) for c in itertools.combinations(range(a + 1, len(evs)), k - 1)]
                )
                for idx in idx_sets:
                    if idx[-1] >= len(evs):
                        continue
                    ch = [evs[i] for i in idx]
                    ok = all(ch[j][2] == steps[j] for j in range(k)) and ch[-1][0] - t0 <= w
                    ok &= order == "strict" or all(ch[j][0] < ch[j + 1][0] for j in range(k - 1))
                    if excl and order == "ordered":
                        ok &= not any(
                            e == excl
                            and ch[0][0] <= t < ch[-1][0]
                            and any(ch[j][0] <= t < ch[j + 1][0] for j in range(k - 1))
                            for t, _, e in evs
                        )
                    if ok:
                        best = max(best, k)
                        break
        for k in range(best):
            counts[k] += 1
    return counts


@pytest.mark.parametrize("order,excl", [("ordered", None), ("ordered", "x"), ("strict", None), ("any", None)])
def test_matches_brute_force_reference(make_store: MakeStore, order: str, excl: str | None) -> None:
    rng = np.random.default_rng(7)
    events = []
    i = 0
    for p in range(120):
        for _ in range(rng.integers(1, 8)):
            events.append(
                (
                    f"p{p:03d}",
                    int(rng.integers(0, 72)),
                    str(rng.choice(list("abcx"), p=[0.35, 0.25, 0.25, 0.15])),
                    i,
                )
            )
            i += 1
    rows = [(p, float(h), e, None) for p, h, e, _ in events]
    with make_store(rows) as s:
        res = funnel(
            s.ibis(),
            s.config,
            ["a", "b", "c"],
            "20h",
            order=order,  # type: ignore[arg-type]
            exclusions=[Exclusion(Step(excl))] if excl else (),
        )
    secs = [(p, h * 3600, e, j) for p, h, e, j in events]
    expected = _reference(secs, ["a", "b", "c"], 20 * 3600, order, excl)
    assert res.to_frame()["units"].tolist() == expected
    assert expected[2] > 0 and expected[2] < expected[0]  # the case is not trivial


def test_breakdown_flags_the_different_value(make_store: MakeStore) -> None:
    rows = []
    for i in range(600):  # channel "bad" converts 10%, the others 50%
        p, bad = f"q{i}", i % 3 == 0
        rows.append((p, 0.0, "a", None))
        if (i % 10 == 0) if bad else (i % 2 == 0):
            rows.append((p, 1.0, "b", None))
    with make_store(rows) as s:
        s.con.execute(
            "UPDATE events SET channel = CASE WHEN CAST(substr(customer_id, 2) AS INT) % 3 = 0 "
            "THEN 'social_ads' ELSE (CASE WHEN CAST(substr(customer_id, 2) AS INT) % 3 = 1 "
            "THEN 'paid_search' ELSE 'display' END) END"
        )
        res = funnel(s.ibis(), s.config, ["a", "b"], "1d", by="channel")
    b = res.breakdown.set_index("value")  # type: ignore[union-attr]
    assert bool(b.loc["social_ads", "significant"]) and b.loc["social_ads", "diff"] < 0
    assert b.loc["social_ads", "p_adjusted"] >= b.loc["social_ads", "p_value"]
    assert b.loc["social_ads", "conversion"] == pytest.approx(20 / 200)


def test_bad_input(make_store: MakeStore) -> None:
    with make_store(ROWS) as s:
        with pytest.raises(ValueError, match="duration"):
            funnel(s.ibis(), s.config, ["a", "b"], "7 parsecs")
        with pytest.raises(ValueError, match="ordered"):
            funnel(s.ibis(), s.config, ["a", "b"], "1d", order="any", exclusions=[Exclusion(Step("x"))])
