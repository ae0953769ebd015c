"""SWOT: the demo's planted weak channel and touchpoint come out on top; a store with no effect yields none."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.stats import binom

from cxlab.config import Config
from cxlab.journey import swot
from cxlab.journey.swot import touchpoint_peer_groups
from cxlab.stats.peers import adjust_pvalues, compare_with_peers
from cxlab.store import Store
from tests.journey.conftest import build_demo_store


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    return build_demo_store(tmp_path_factory.mktemp("demo"), customers=4000, seed=11)


def test_planted_weak_channel_and_touchpoint_top_the_weaknesses(
    demo_store: tuple[Path, dict[str, object]],
) -> None:
    db, truth = demo_store
    with Store(db, read_only=True) as s:
        res = swot(s.ibis(), s.config)
    d = res.to_dict()
    weak = d["weaknesses"]
    assert [w["money_at_stake"] for w in weak] == sorted((w["money_at_stake"] for w in weak), reverse=True)
    top_channel = next(w for w in weak if w["kind"] == "channel")
    top_tp = next(w for w in weak if w["kind"] == "touchpoint")
    assert top_channel["name"] == truth["weak_channel"]
    assert top_tp["name"] == truth["weak_touchpoint"]
    assert {w["name"] for w in weak[:3]} >= {truth["weak_channel"], truth["weak_touchpoint"]}
    for w in weak:
        assert w["p_adjusted"] < 0.05 and w["ci"][0] <= w["value"] - w["peer_value"] <= w["ci"][1]
        assert set(w) >= {
            "kind",
            "name",
            "metric",
            "value",
            "peer_value",
            "ci",
            "n",
            "money_at_stake",
            "sentence",
        }
    assert f"n = {top_channel['n']:,}" in top_channel["details"]  # the statistics behind the plain sentence
    assert top_channel["name"] in top_channel["sentence"] and "n =" not in top_channel["sentence"]
    json.dumps(d)


def test_peer_comparison_controls_family_wise_error() -> None:
    """2,000 null replicates of 8 units × 3 groups: Holm keeps 'any weakness' near or below 5%."""
    rng = np.random.default_rng(3)
    reps, units = 2000, 24
    n = rng.integers(200, 3000, size=(reps, units))
    k = rng.binomial(n, 0.12)
    frame = pd.DataFrame(
        {
            "group": np.char.add(
                np.repeat(np.arange(reps).astype(str), units), np.tile(np.repeat(list("abc"), 8), reps)
            ),
            "n": n.ravel(),
            "total": k.ravel(),
        }
    )
    p = compare_with_peers(frame, kind="proportion")["p_value"].to_numpy().reshape(reps, units)
    # Holm per replicate, vectorised: step-down max of (m - i) * p_(i); checked against statsmodels on one
    ps = np.sort(p, axis=1)
    adj = np.minimum(np.maximum.accumulate((units - np.arange(units)) * ps, axis=1), 1.0)
    assert np.allclose(np.sort(adjust_pvalues(p[0])), adj[0])
    any_hit = (adj < 0.05).any(axis=1).mean()
    raw_hit = (p < 0.05).any(axis=1).mean()
    assert any_hit <= 0.07
    assert raw_hit > 0.5  # without correction, most null stores would show a "weakness"


def _null_store(path: Path, seed: int) -> Store:
    """People with exchangeable channels and touchpoints (each touchpoint of a stage drawn at random, so
    none comes before another): nothing differs but chance."""
    rng = np.random.default_rng(seed)
    paid, unpaid = ["paid_search", "social_ads", "display"], ["organic_search", "direct", "referral"]
    aware, consider = ["search_ad", "social_ad", "display_ad"], ["site", "product_page", "newsletter"]
    t0 = datetime(2024, 1, 1)
    rows: list[dict[str, object]] = []
    fb: list[dict[str, object]] = []
    for i in range(900):
        p = f"c{i}"
        ch = str(rng.choice(paid + unpaid))
        t = t0 + timedelta(hours=float(rng.uniform(0, 24 * 300)))
        rows.append(
            {
                "customer_id": p,
                "ts": t,
                "event": "ad_click",
                "touchpoint": str(rng.choice(aware)),
                "channel": ch,
            }
        )
        t += timedelta(minutes=5)
        rows.append(
            {
                "customer_id": p,
                "ts": t,
                "event": "page_view",
                "touchpoint": str(rng.choice(consider)),
                "channel": ch,
            }
        )
        if rng.random() < 0.5:
            t += timedelta(minutes=5)
            rows.append(
                {
                    "customer_id": p,
                    "ts": t,
                    "event": "add_to_cart",
                    "touchpoint": str(rng.choice(["cart", "checkout"])),
                    "channel": ch,
                }
            )
            for _ in range(int(rng.random() < 0.4) + int(rng.random() < 0.2)):
                t += timedelta(days=float(rng.uniform(1, 30)))
                rows.append(
                    {
                        "customer_id": p,
                        "ts": t,
                        "event": "purchase",
                        "touchpoint": str(rng.choice(["cart", "checkout"])),
                        "channel": ch,
                        "revenue": float(rng.gamma(4, 20)),
                    }
                )
                t += timedelta(days=2)
                rows.append(
                    {
                        "customer_id": p,
                        "ts": t,
                        "event": "delivered",
                        "touchpoint": str(rng.choice(["delivery", "unboxing"])),
                        "channel": None,
                    }
                )
                fb.append(
                    {
                        "feedback_id": f"f{len(fb)}",
                        "customer_id": p,
                        "ts": t,
                        "source": "review",
                        "touchpoint": str(rng.choice(["delivery", "product", "site", "checkout"])),
                        "score": float(rng.choice([1, 4, 5], p=[0.3, 0.3, 0.4])),
                    }
                )
    ev = pd.DataFrame(rows)
    ev["event_id"] = [f"e{i}" for i in range(len(ev))]
    s = Store(path)
    s.ingest("events", pa.Table.from_pandas(ev, preserve_index=False))
    s.ingest("feedback", pa.Table.from_pandas(pd.DataFrame(fb), preserve_index=False))
    return s


def _without_steps(config: Config) -> Config:
    """The config with every touchpoint of a stage on one step: all of them peers of each other."""
    return config.model_copy(update={"journey": config.journey.model_copy(update={"steps": {}})})


NULL_STORES = 60


def test_store_without_effect_shows_no_weakness_most_of_the_time(tmp_path: Path) -> None:
    """The family-wise false-alarm rate is about 5%, not 20%: with 60 null stores, at most 6 may show a
    weakness (P(Binomial(60, 0.05) > 6) = 0.03, while a 20% rate gets through with P = 0.03)."""
    hits, comparisons = 0, 0
    for seed in range(NULL_STORES):
        with _null_store(tmp_path / f"null{seed}.duckdb", seed) as s:
            # the null store draws the touchpoints of a stage at random: alternatives, so all on one step
            res = swot(s.ibis(), _without_steps(s.config))
        comparisons = max(
            comparisons, int((res.table["verdict"].isin(["weakness", "strength", "as peers"])).sum())
        )
        hits += int(len(res.weaknesses) > 0)
    assert comparisons >= 20  # the null stores exercise many comparisons
    assert hits <= 6, f"{hits} of {NULL_STORES} stores without an effect show a weakness"
    assert binom.sf(6, NULL_STORES, 0.05) < 0.05 and binom.cdf(6, NULL_STORES, 0.2) < 0.05


def test_peer_groups_are_steps_of_a_stage() -> None:
    cfg = Config.default()
    g = touchpoint_peer_groups(cfg)
    assert len({g["cart"], g["abandoned_cart_email"], g["checkout"]}) == 3  # a sequence, no alternatives
    assert g["cart"] == "conversion step 1" and g["checkout"] == "conversion step 3"
    assert g["shipping_confirmation_email"] == g["shipping_sms"] != g["delivery"]
    assert g["retargeting_ad"] == g["newsletter"] != g["site"] != g["product_page"]
    assert {g[t] for t, s in cfg.journey.touchpoints.items() if s == "awareness"} == {"awareness"}  # no steps
    plain = touchpoint_peer_groups(_without_steps(cfg))
    assert plain == cfg.journey.touchpoints  # without steps: the stage, as before
    with pytest.raises(ValueError, match=r"not in journey\.touchpoints"):
        Config.parse_toml(_STEPS_TOML + "[journey.steps]\nnowhere = 2\n")
    with pytest.raises(ValueError, match="1 or more"):
        Config.parse_toml(_STEPS_TOML + "[journey.steps]\ncart = 0\n")


_STEPS_TOML = """
[journey]
stages = ["consideration", "conversion", "retention"]
[journey.touchpoints]
site = "consideration"
cart = "conversion"
buy_now = "conversion"
checkout = "conversion"
delivery = "retention"
[channels]
names = ["direct"]
"""


def test_sequential_steps_of_a_stage_are_not_peers(
    make_store: Callable[[Sequence[tuple[str, float, str, str | None]]], Store],
) -> None:
    """cart and buy_now are alternatives (step 1), checkout comes after them (step 2): everyone who checks out
    went through cart or buy_now, so fewer move on from those than from the checkout, by construction."""
    rows: list[tuple[str, float, str, str | None]] = []
    for i in range(600):
        p = f"p{i}"
        rows += [(p, i, "page_view", "site"), (p, i + 0.1, "add_to_cart", "cart" if i % 2 else "buy_now")]
        if i % 5 < 3:  # 60% check out, as many from cart as from buy_now
            rows.append((p, i + 0.2, "checkout", "checkout"))
            if (i // 10) % 5 < 4:  # 80% of those buy and get it delivered
                rows += [(p, i + 0.3, "purchase", "checkout"), (p, i + 50, "delivered", "delivery")]
    s = make_store(rows)
    stepped = Config.parse_toml(_STEPS_TOML + "[journey.steps]\ncart = 1\nbuy_now = 1\ncheckout = 2\n")
    t = swot(s.ibis(), stepped).table
    nxt = t[t["metric"] == "next_stage"].set_index("name")
    assert nxt.loc["cart", "peer_group"] == nxt.loc["buy_now", "peer_group"] == "conversion step 1"
    assert nxt.loc["cart", "peers"] == 1 and nxt.loc["cart", "peer_value"] == pytest.approx(0.48)
    assert nxt.loc["cart", "verdict"] == "as peers" and nxt.loc["cart", "p_adjusted"] == pytest.approx(1.0)
    assert nxt.loc["checkout", "verdict"] == "no peers" and nxt.loc["checkout", "peers"] == 0
    assert not (t["verdict"] == "weakness").any() and not (t["verdict"] == "strength").any()
    # all of a stage as peers (no steps): the cart looks weak against the checkout after it
    flat = swot(s.ibis(), Config.parse_toml(_STEPS_TOML)).table
    flat = flat[flat["metric"] == "next_stage"].set_index("name")
    assert flat.loc["cart", "verdict"] == "weakness" and flat.loc["checkout", "verdict"] == "strength"
