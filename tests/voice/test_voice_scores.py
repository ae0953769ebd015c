"""NPS, CSAT and CES against statsmodels/scipy on the same answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
from voice_helpers import feedback_frame, load

from cxlab.store import Store
from cxlab.voice.scores import compare_periods, nps_interval, score, score_range, score_sentence, score_table
from cxlab.voice.tables import ensure_tables


def _nps_coded(s: np.ndarray) -> np.ndarray:
    return np.where(s >= 9, 1.0, np.where(s <= 6, -1.0, 0.0))


def test_nps_matches_the_mean_of_coded_answers(store: Store) -> None:
    rng = np.random.default_rng(1)
    s = rng.integers(0, 11, 1500).astype(float)
    load(store, feedback_frame("nps", s))
    res = score(store.ibis(), "nps").table.iloc[0]
    x = _nps_coded(s)
    lo, hi = DescrStatsW(x, ddof=0).zconfint_mean(alpha=0.05)
    # NPS's multinomial variance is the population variance of the coded answers (ddof 0): the z-test's se
    se = np.sqrt(x.var() / len(x))
    assert res["score"] == pytest.approx(100 * x.mean())
    assert res["se"] == pytest.approx(100 * se)
    # the range is the adjusted Wald interval (Sauro & Lewis's statement of Rocks 2016): 3/4 added to promoters
    # and to detractors, 3 to n; at n = 1,500 it is within half a point of the plain interval of statsmodels
    p, d, n = ((s >= 9).sum() + 0.75) / 1503, ((s <= 6).sum() + 0.75) / 1503, 1503
    half = stats.norm.ppf(0.975) * np.sqrt((p + d - (p - d) ** 2) / n)
    assert res["ci_low"] == pytest.approx(100 * (p - d - half))
    assert res["ci_high"] == pytest.approx(100 * (p - d + half))
    assert abs(res["ci_low"] - 100 * lo) < 0.5 and abs(res["ci_high"] - 100 * hi) < 0.5
    assert res["promoters"] + res["passives"] + res["detractors"] == 1500
    assert res["promoters"] == int((s >= 9).sum()) and res["detractors"] == int((s <= 6).sum())


def test_nps_range_of_identical_answers_is_real_and_covers() -> None:
    # 51 detractors: the plain Wald interval is "-100 to -100"; the adjusted one is a real range
    t = score_table("nps", pd.DataFrame({"n": [51], "good": [0], "bad": [51], "total": [0], "total_sq": [0]}))
    r = t.iloc[0].to_dict()
    assert r["score"] == -100 and r["ci_low"] == -100 and -95 < r["ci_high"] < -80
    assert (
        score_sentence("nps", r)
        == "NPS is -100: 0% promoters, 100% detractors (51 answers; range -100 to -87)"
    )
    # and it covers the true NPS about 95% of the time at n = 51 (Rocks 2016), where the plain one falls short
    rng = np.random.default_rng(7)
    probs = np.array([0.1, 0.2, 0.7])  # detractors, passives, promoters: true NPS 0.6
    counts = rng.multinomial(51, probs, size=4000)
    lo, hi = nps_interval(counts[:, 2].astype(float), counts[:, 0].astype(float), np.full(4000, 51.0))
    covered = ((lo <= 0.6) & (hi >= 0.6)).mean()
    p, d = counts[:, 2] / 51, counts[:, 0] / 51
    half = 1.96 * np.sqrt((p + d - (p - d) ** 2) / 51)
    plain = ((p - d - half <= 0.6) & (p - d + half >= 0.6)).mean()
    assert covered >= 0.93 and covered > plain, (covered, plain)


def test_too_few_answers_get_no_range_but_words(store: Store) -> None:
    load(store, feedback_frame("csat", [5, 4, 1, 5, 5], touchpoints=["customer_service"] * 5))
    r = score(store.ibis(), "csat").table.iloc[0].to_dict()
    assert r["score"] == pytest.approx(80.0) and np.isnan(r["ci_low"]) and np.isnan(r["ci_high"])
    assert score_range(r, str) == "too few answers (5) for a range"
    assert score_sentence("csat", r) == (
        "80% of CSAT answers are satisfied, 4–5 of 5 (5 answers; too few answers (5) for a range)"
    )


def test_csat_share_and_mean(store: Store) -> None:
    rng = np.random.default_rng(2)
    s = rng.integers(1, 6, 400).astype(float)
    load(store, feedback_frame("csat", s, touchpoints=["customer_service"] * 400))
    r = score(store.ibis(), "csat").table.iloc[0]
    k = int((s >= 4).sum())
    # Wilson interval, closed form
    z = stats.norm.ppf(0.975)
    p, n = k / 400, 400
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert r["score"] == pytest.approx(100 * p)
    assert r["ci_low"] == pytest.approx(100 * (centre - half))
    assert r["ci_high"] == pytest.approx(100 * (centre + half))
    lo, hi = stats.t.interval(0.95, n - 1, loc=s.mean(), scale=stats.sem(s))
    assert (r["mean_ci_low"], r["mean_ci_high"]) == pytest.approx((lo, hi))


def test_ces_low_effort_share(store: Store) -> None:
    s = np.array([1, 2, 3, 4, 5, 6, 7, 7, 7, 5], float)
    load(store, feedback_frame("ces", s, touchpoints=["checkout"] * 10))
    r = score(store.ibis(), "ces").table.iloc[0]
    assert r["score"] == pytest.approx(60.0)
    assert r["mean_score"] == pytest.approx(s.mean())


def test_breakdown_and_trend_add_up(store: Store) -> None:
    rng = np.random.default_rng(3)
    s = rng.integers(0, 11, 600).astype(float)
    tps = np.where(np.arange(600) % 3 == 0, "delivery", "nps_survey")
    load(store, feedback_frame("nps", s, touchpoints=list(tps), days=list(np.arange(600) % 90)))
    by = score(store.ibis(), "nps", by="touchpoint").table
    assert set(by["group"]) == {"delivery", "nps_survey"}
    assert by["n"].sum() == 600
    d = by.set_index("group").loc["delivery"]
    assert d["score"] == pytest.approx(100 * _nps_coded(s[tps == "delivery"]).mean())
    trend = score(store.ibis(), "nps", period="month").table
    assert trend["n"].sum() == 600 and len(trend) == 4  # 6 Jan + 90 days: January to April


def test_latest_answer_per_customer(store: Store) -> None:
    # customer A answers twice (0 then 10): merged NPS counts only the latest (10)
    f = feedback_frame("nps", [0, 10, 9, 3], customers=["A", "A", "B", "C"], days=[0, 5, 1, 1])
    load(store, f)
    all_ = score(store.ibis(), "nps").table.iloc[0]
    latest = score(store.ibis(), "nps", merge="latest").table.iloc[0]
    assert all_["n"] == 4 and latest["n"] == 3
    assert latest["score"] == pytest.approx(100 * (2 - 1) / 3)


def test_period_change_against_statsmodels(store: Store) -> None:
    rng = np.random.default_rng(4)
    a = rng.choice(11, 800, p=[0.05] * 7 + [0.1, 0.1, 0.2, 0.25])
    b = rng.choice(11, 900, p=[0.03] * 7 + [0.1, 0.1, 0.25, 0.34])
    f = feedback_frame("nps", np.r_[a, b].astype(float), days=[0] * 800 + [40] * 900)
    load(store, f)
    ch = compare_periods(store.ibis(), "nps", ("2025-01-01", "2025-02-01"), ("2025-02-01", "2025-03-01"))
    x1, x2 = _nps_coded(a.astype(float)), _nps_coded(b.astype(float))
    _, p = CompareMeans(DescrStatsW(x2), DescrStatsW(x1)).ztest_ind(usevar="unequal")
    assert ch.diff == pytest.approx(100 * (x2.mean() - x1.mean()))
    assert ch.p_value == pytest.approx(p, rel=0.02)  # statsmodels uses ddof 1 variances
    assert ch.significant == (p < 0.05)


def test_unknown_breakdown_and_period(store: Store) -> None:
    load(store, feedback_frame("nps", [9, 10]))
    with pytest.raises(ValueError, match="unknown breakdown"):
        score(store.ibis(), "nps", by="planet")
    with pytest.raises(ValueError, match="unknown period"):
        score(store.ibis(), "nps", period="fortnight")


def test_mixed_comments_are_counted_apart_per_group(store: Store) -> None:
    scores = [9, 7, 7, 3, 8, 10]
    texts = [
        "Top service, snel geleverd.",
        "Mooie jas, maar de rits ging na een week stuk en retour kost geld.",
        "Fast delivery, but the colour is nothing like the photo.",
        "Nooit meer.",
        None,
        "Prima.",
    ]
    tps = ["delivery", "product", "product", "delivery", "product", "delivery"]
    load(store, feedback_frame("nps", scores, texts=texts, touchpoints=tps))
    ensure_tables(store.con)
    labels = [
        "positive",
        "mixed",
        "mixed",
        "negative",
        None,
        "positive",
    ]  # as `cxlab voice analyze` stores them
    for i, label in enumerate(labels):
        if texts[i] is not None:
            store.con.execute(
                "INSERT INTO voice_texts (feedback_id, label) VALUES (?, ?)", [f"F{i:06d}", label]
            )
    res = score(store.ibis(), "nps", by="touchpoint")
    t = res.table.set_index("group")
    assert t.loc["product", "comments"] == 2 and t.loc["product", "mixed_comments"] == 2
    assert t.loc["delivery", "comments"] == 3 and t.loc["delivery", "mixed_comments"] == 0
    assert t["n"].sum() == 6  # the join with the comments loses and doubles no answer
    assert "2 of them are mixed" in res.details
    before = score(store.ibis(), "csat")
    assert before.table.empty
