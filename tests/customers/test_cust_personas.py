"""Personas on a shop with three planted kinds of customer: found, named after their traits, stable."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import adjusted_rand_score

from cxlab.customers import personas
from cxlab.customers.personas import PROGRESS, STEPS, separation
from cxlab.store import Store

N = 120  # customers per planted group
# group: (channel, entry touchpoint, orders, basket, discount share, return share, review score)
GROUPS = {
    "deal": ("email", "newsletter", (4, 4), (20.0, 30.0), 1.0, 0.0, 4),
    "big": ("paid_search", "search_ad", (1, 1), (250.0, 350.0), 0.0, 0.0, 5),
    "unhappy": ("social_ads", "social_ad", (2, 2), (60.0, 90.0), 0.0, 1.0, 1),
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, str]]:
    rng = np.random.default_rng(3)
    orders: dict[str, list] = {
        k: [] for k in ("order_id", "customer_id", "ts", "revenue", "currency", "discount", "refunded")
    }
    events: dict[str, list] = {
        k: [] for k in ("event_id", "ts", "customer_id", "event", "channel", "touchpoint")
    }
    fb: dict[str, list] = {
        k: [] for k in ("feedback_id", "customer_id", "ts", "source", "touchpoint", "score")
    }
    truth: dict[str, str] = {}
    for g, (channel, entry, (lo, hi), (vlo, vhi), disc, ret, score) in GROUPS.items():
        for i in range(N):
            c = f"{g}{i:03d}"
            truth[c] = g
            n_orders = int(rng.integers(lo, hi + 1))
            for j in range(n_orders):
                day = 1 + 10 * j + int(rng.integers(0, 5))
                ts = f"2024-03-{day:02d} 10:00" if day <= 28 else f"2024-04-{day - 28:02d} 10:00"
                value = float(rng.uniform(vlo, vhi))
                orders["order_id"].append(f"o-{c}-{j}")
                orders["customer_id"].append(c)
                orders["ts"].append(ts)
                orders["revenue"].append(round(value, 2))
                orders["currency"].append("EUR")
                orders["discount"].append(round(0.15 * value, 2) if rng.random() < disc else 0.0)
                orders["refunded"].append(round(value, 2) if rng.random() < ret else 0.0)
                for k, (ev, ch, tp) in enumerate(
                    [
                        ("ad_click", channel, entry),
                        ("page_view", channel, "site"),
                        ("purchase", channel, "checkout"),
                    ]
                ):
                    events["event_id"].append(f"e-{c}-{j}-{k}")
                    events["ts"].append(ts.replace("10:00", f"10:0{k}"))
                    events["customer_id"].append(c)
                    events["event"].append(ev)
                    events["channel"].append(ch)
                    events["touchpoint"].append(tp)
            fb["feedback_id"].append(f"f-{c}")
            fb["customer_id"].append(c)
            fb["ts"].append("2024-04-20 10:00")
            fb["source"].append("review")
            fb["touchpoint"].append("delivery" if g == "unhappy" else "product")
            fb["score"].append(float(score))
    s = Store(tmp_path_factory.mktemp("personas") / "cxlab.duckdb")
    s.ingest("orders", pa.table(orders))
    s.ingest("events", pa.table(events))
    s.ingest("feedback", pa.table(fb))
    return s, truth


def test_finds_the_planted_groups(shop: tuple[Store, dict[str, str]]) -> None:
    store, truth = shop
    res = personas(store.ibis(), seed=7)
    assert res.k == 3  # chosen by silhouette among 3..8
    assert max(res.silhouette, key=lambda k: res.silhouette[k]) == 3
    a = res.assignments
    planted = a["customer_id"].map(truth)
    assert adjusted_rand_score(planted, a["persona"]) > 0.95
    assert res.customers == 3 * N
    assert sum(c.customers for c in res.cards) == 3 * N
    assert sum(c.revenue_share for c in res.cards) == pytest.approx(1.0)


def test_cards_describe_the_planted_traits(shop: tuple[Store, dict[str, str]]) -> None:
    store, truth = shop
    res = personas(store.ibis(), seed=7)
    a = res.assignments.assign(group=lambda d: d["customer_id"].map(truth))
    card_of = {g: res.cards[int(a.loc[a["group"] == g, "persona"].mode()[0]) - 1] for g in GROUPS}
    assert "Deal-hunting" in card_of["deal"].traits
    assert card_of["deal"].channels[0].startswith("email")
    assert card_of["big"].channels[0].startswith("paid_search")
    assert "Big-basket" in card_of["big"].traits
    assert "Return-prone" in card_of["unhappy"].traits or "Unhappy" in card_of["unhappy"].traits
    assert card_of["unhappy"].pains[0].startswith("delivery")
    assert card_of["big"].journey[:3] == ["search_ad", "site", "checkout"]
    assert card_of["big"].revenue_share > card_of["deal"].revenue_share
    assert len({c.name for c in res.cards}) == 3  # distinct names
    assert res.cards[0].revenue_share == max(c.revenue_share for c in res.cards)  # numbered by value


def test_same_seed_same_personas_and_fixed_k(shop: tuple[Store, dict[str, str]]) -> None:
    store, _ = shop
    one, two = personas(store.ibis(), seed=11), personas(store.ibis(), seed=11)
    assert one.assignments.equals(two.assignments)
    a, b = one.to_frame(), two.to_frame()
    for col in ("name", "customers", "traits", "channels", "touchpoints", "journey", "pains"):
        assert a[col].tolist() == b[col].tolist(), col
    assert a["revenue_share"].tolist() == pytest.approx(b["revenue_share"].tolist(), rel=1e-12)
    four = personas(store.ibis(), k=4, seed=11)
    assert four.k == 4 and len(four.cards) == 4
    assert "silhouette" in four.method and "seed 11" in four.method


def test_progress_hears_each_step_and_changes_nothing(shop: tuple[Store, dict[str, str]]) -> None:
    store, _ = shop
    heard: list[tuple[str, int, int]] = []
    res = personas(store.ibis(), seed=7, progress=lambda what, done, total: heard.append((what, done, total)))
    assert heard == [(PROGRESS, i, len(STEPS)) for i in range(len(STEPS) + 1)]
    assert res.assignments.equals(personas(store.ibis(), seed=7).assignments)


def test_summary_in_plain_words_and_the_method_in_details(shop: tuple[Store, dict[str, str]]) -> None:
    store, _ = shop
    res = personas(store.ibis(), seed=7)
    text = res.summary()
    assert text.startswith(f"Your {3 * N} customers fall into 3 groups") and "silhouette" not in text
    # three well separated planted groups: no warning that they overlap
    assert res.silhouette[3] >= 0.5 and "overlap" not in text
    assert f"k = 3: {res.silhouette[3]:.3f}" in res.details() and "k-means" in res.details()
    assert separation(0.1).startswith("The groups overlap a lot") and separation(0.3) and not separation(0.6)
