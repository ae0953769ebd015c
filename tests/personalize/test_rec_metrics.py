"""Ranking metrics against scikit-learn's ``ndcg_score`` and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import ndcg_score

from cxlab.personalize.evaluate import ranking_metrics


def test_hand_computed_case() -> None:
    recs = np.array([[3, 1, 7], [0, 2, 4]])
    relevant = [np.array([1, 9]), np.array([5])]  # 9: a product the model never saw
    m = ranking_metrics(recs, relevant, n_products=10, k=3)
    assert math.isclose(m["precision"], (1 / 3 + 0) / 2)
    assert math.isclose(m["recall"], (1 / 2 + 0) / 2)
    assert math.isclose(m["hit_rate"], 0.5)
    dcg = 1 / math.log2(3)  # hit at rank 2
    idcg = 1 + 1 / math.log2(3)  # two relevant, k = 3: ideal has 2 hits
    assert math.isclose(m["ndcg"], (dcg / idcg + 0) / 2)
    assert math.isclose(m["coverage"], 6 / 10)


def test_empty_places_and_unknown_relevant() -> None:
    recs = np.array([[4, -1, -1]])
    m = ranking_metrics(recs, [np.array([-2, 4])], n_products=5, k=3)
    assert math.isclose(m["precision"], 1 / 3)
    assert math.isclose(m["recall"], 1 / 2)
    assert math.isclose(m["ndcg"], 1 / (1 + 1 / math.log2(3)))
    assert math.isclose(m["coverage"], 1 / 5)


def test_ndcg_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    n_products, k, n = 40, 10, 200
    recs = np.array([rng.choice(n_products, k, replace=False) for _ in range(n)])
    relevant = [rng.choice(n_products, rng.integers(1, 15), replace=False) for _ in range(n)]
    y_true = np.zeros((n, n_products))
    y_score = np.zeros((n, n_products))
    for u in range(n):
        y_true[u, relevant[u]] = 1
        y_score[u, recs[u]] = np.arange(k, 0, -1)
    ours = ranking_metrics(recs, relevant, n_products, k)
    assert math.isclose(ours["ndcg"], ndcg_score(y_true, y_score, k=k), rel_tol=1e-12)
    hits = (y_true * (y_score > 0)).sum(axis=1)
    assert math.isclose(ours["precision"], float(np.mean(hits / k)))
    assert math.isclose(ours["recall"], float(np.mean(hits / y_true.sum(axis=1))))
