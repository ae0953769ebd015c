"""The Python API: input checks, roles and statuses (goal, secondary, guardrail, inverse), result objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from cxlab.errors import MissingData
from cxlab.experiments import SufficientStats, analyze
from cxlab.experiments.report import SECTIONS
from cxlab.store import Store


def frame(rows: list[tuple[str, str, str, float, float]], **extra: list[object]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["metric", "type", "arm", "n", "sum"])
    return df.assign(**extra)


def test_from_frame_orders_arms_and_fills_defaults() -> None:
    df = frame(
        [("cr", "proportion", "b", 100, 10), ("cr", "proportion", "a", 110, 15)], guardrail=[True, True]
    )
    s = SufficientStats.from_frame(df, control="a")
    assert s.arms == ("a", "b") and s.kinds == ("proportion",)
    assert s.n.tolist() == [[110, 100]] and s.sum_squares.tolist() == [[15, 10]]  # proportions: ss = sum
    assert s.guardrail.tolist() == [True] and s.roles.tolist() == ["guardrail"]
    with pytest.raises(ValueError, match="every metric needs a row for every arm"):
        SufficientStats.from_frame(
            df.iloc[:1].pipe(lambda d: pd.concat([d, frame([("x", "mean", "a", 5, 1)])]))
        )
    with pytest.raises(ValueError, match="duplicates"):
        SufficientStats.from_frame(pd.concat([df, df]))


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ([{"n": 10, "sum": 1}], "at least two arms"),
        ([{"n": 10, "sum": 1}, {"n": -1, "sum": 1}], "whole, non-negative"),
        ([{"n": 10, "sum": 1}, {"n": 10.5, "sum": 1}], "whole, non-negative"),
        ([{"n": 10, "sum": "1"}, {"n": 10, "sum": 1}], "variants[0].sum: expected a number"),
        ([{"name": "a", "n": 10, "sum": 1}, {"name": "a", "n": 10, "sum": 1}], "unique"),
        ([{"n": 10, "sum": 1, "covariate_sum": 1}, {"n": 10, "sum": 1}], "not all"),
    ],
)
def test_input_errors_say_what_is_wrong(variants: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ValueError) as e:
        SufficientStats.from_json({"metric": {"type": "proportion"}, "variants": variants})
    assert message in str(e.value)


def _stats(inverse: bool = False, guardrail: bool = False, secondary: bool = False) -> SufficientStats:
    doc = {
        "metric": {"type": "proportion", "inverse": inverse, "guardrail": guardrail, "secondary": secondary},
        "variants": [{"name": "a", "n": 4000, "sum": 400}, {"name": "b", "n": 4000, "sum": 480}],
    }
    return SufficientStats.from_json(doc)


def test_statuses_respect_direction_and_role() -> None:
    def status(**kw: bool) -> str:
        return str(analyze(_stats(**kw)).to_frame().iloc[1]["status"])

    assert status() == "win"  # +20%, p < 0.01
    assert status(inverse=True) == "loss"  # lower is better: a significant rise is a loss
    assert status(guardrail=True) == "ok"  # a guardrail that improved
    assert status(guardrail=True, inverse=True) == "fail"  # a guardrail (e.g. returns) that got worse
    assert status(secondary=True) == "win"
    assert analyze(_stats(), engine="bayesian").to_frame().iloc[1]["status"] == "win"


def test_corrections_cover_goal_metrics_only() -> None:
    doc = pd.DataFrame(
        [
            (m, "proportion", arm, 4000, s)
            for m, sums in {
                "g1": (400, 452),
                "g2": (400, 440),
                "sec": (400, 452),
                "guard": (400, 452),
            }.items()
            for arm, s in zip(("a", "b"), sums, strict=True)
        ],
        columns=["metric", "type", "arm", "n", "sum"],
    ).assign(secondary=lambda d: d["metric"] == "sec", guardrail=lambda d: d["metric"] == "guard")
    t = analyze(SufficientStats.from_frame(doc), correction="holm").to_frame().set_index("metric")
    t = t[~t["is_control"]]
    goal_p = t.loc[["g1", "g2"], "p_value_absolute"].to_numpy()
    holm = np.maximum.accumulate(np.minimum(1, np.sort(goal_p) * [2, 1]))
    assert np.sort(t.loc[["g1", "g2"], "p_value_adjusted"].to_numpy()) == pytest.approx(holm)
    assert t.loc["sec", "p_value_adjusted"] == t.loc["sec", "p_value"]  # outside the family
    assert t.loc["guard", "p_value_adjusted"] == t.loc["guard", "p_value"]


def test_exact_bayes_replaces_the_gaussian_for_small_conversion_tests() -> None:
    doc = {"metric": {"type": "proportion"}, "variants": [{"n": 30, "sum": 3}, {"n": 30, "sum": 8}]}
    s = SufficientStats.from_json(doc)
    exact = analyze(s, engine="bayesian", exact=True).to_frame().iloc[1]
    aa, ba, ab, bb = 1 + 3, 1 + 27, 1 + 8, 1 + 22  # uniform priors
    i = np.arange(ab)  # Evan Miller's closed form for P(p_b > p_a)
    ref = np.exp(
        special.betaln(aa + i, ba + bb) - np.log(bb + i) - special.betaln(1 + i, bb) - special.betaln(aa, ba)
    ).sum()
    assert exact["chance_to_win"] == pytest.approx(ref, abs=1e-9)
    gauss = analyze(s, engine="bayesian").to_frame().iloc[1]
    assert abs(gauss["chance_to_win"] - ref) > 1e-3  # the approximation is visibly off at n = 30


def test_result_objects() -> None:
    r = analyze(_stats(), experiment_id="exp")
    d = r.to_dict()
    assert d["experiment_id"] == "exp" and d["control"] == "a" and d["srm_mismatch"] is False
    assert [v["name"] for v in d["metrics"][0]["variants"]] == ["a", "b"]
    assert d["metrics"][0]["variants"][1]["status"] == "win"
    text = r.summary()
    for needle in ("Experiment exp", "Welch t-test", "SRM check passed", "4,000", "95% interval", "win"):
        assert needle in text
    fig = r.figure()
    assert len(fig.data) == 1 and list(fig.data[0].y) == ["metric · b"]
    assert r.row("metric", "b")["lift_relative"] == pytest.approx(0.2)
    with pytest.raises(KeyError):
        r.row("metric", "zz")


def test_report_sections_on_an_empty_store_say_what_is_missing(tmp_path: Path) -> None:
    with Store(tmp_path / "cxlab.duckdb") as s:
        reasons = []
        for make in SECTIONS:
            with pytest.raises(MissingData) as e:
                make(s)
            reasons.append(str(e.value))
    assert reasons == [
        "Experiment results needs exposures with experiment_id, variant: none stored "
        "(load them with `cxlab ingest exposures FILE`)",
        "The change log needs changes with change_id: none stored (load them with `cxlab ingest changes FILE`)",
    ]
