"""The item-item models against references: EASE against per-product ridge regressions (scikit-learn),
co-purchase cosine against ``sklearn.metrics.pairwise.cosine_similarity``, ALS against ``implicit``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.metrics.pairwise import cosine_similarity

from cxlab.personalize.data import Purchases
from cxlab.personalize.models import ALS, EASE, CoPurchase


def random_purchases(seed: int = 0, customers: int = 150, products: int = 25) -> Purchases:
    rng = np.random.default_rng(seed)
    m = sp.random(customers, products, density=0.15, random_state=seed, format="coo")
    return Purchases(
        pd.DataFrame(
            {
                "customer_id": [f"c{i:04d}" for i in m.row],
                "product_id": [f"p{j:03d}" for j in m.col],
                "orders": rng.integers(1, 4, m.nnz),
                "views": 0,
                "last_ts": pd.Timestamp("2024-01-01"),
            }
        )
    )


def test_ease_equals_ridge_per_product() -> None:
    m = EASE(l2=7.0).fit(random_purchases())
    x = m.weights_.toarray()
    x = np.log1p(x)
    n = x.shape[1]
    for j in range(n):
        others = [i for i in range(n) if i != j]
        ref = Ridge(alpha=7.0, fit_intercept=False).fit(x[:, others], x[:, j]).coef_
        np.testing.assert_allclose(m.coef_[others, j], ref, rtol=2e-3, atol=2e-5)
        assert m.coef_[j, j] == 0


def test_cosine_matches_sklearn() -> None:
    m = CoPurchase(normalisation="cosine", neighbours=1000).fit(random_purchases(1))
    x = np.log1p(m.weights_.toarray())
    ref = cosine_similarity(x.T)
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(m.similarity_.toarray(), ref, rtol=1e-5, atol=1e-6)


def test_neighbours_keep_the_largest() -> None:
    full = CoPurchase(normalisation="cosine", neighbours=1000).fit(random_purchases(2)).similarity_.toarray()
    few = CoPurchase(normalisation="cosine", neighbours=3).fit(random_purchases(2)).similarity_.toarray()
    for i in range(full.shape[0]):
        kept = np.flatnonzero(few[i])
        assert kept.size == min(3, np.count_nonzero(full[i]))
        assert few[i][kept].min() >= np.sort(full[i])[-3] - 1e-7


def test_als_is_implicit_with_a_fixed_seed() -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    p = random_purchases(3)
    ours = ALS(factors=8, iterations=5, seed=4, threads=1).fit(p)
    x = ours.weights_.copy()
    x.data = np.log1p(x.data)
    ref = AlternatingLeastSquares(
        factors=8,
        regularization=ours.regularization,
        alpha=ours.alpha,
        iterations=5,
        random_state=4,
        num_threads=1,
    )
    ref.fit(x, show_progress=False)
    np.testing.assert_allclose(ours.item_factors_, ref.item_factors, rtol=1e-4, atol=1e-5)
    again = ALS(factors=8, iterations=5, seed=4, threads=1).fit(p)
    np.testing.assert_array_equal(again.user_factors_, ours.user_factors_)


def test_batched_threads_give_the_same_lists() -> None:
    from cxlab.personalize import models

    p = random_purchases(5, customers=5000, products=60)
    m = CoPurchase().fit(p)
    rows = np.r_[np.arange(len(m.customers_)), -1, -1]
    idx, score = m.rank(rows, 5)
    assert len(rows) > models.BATCH  # several batches, run in threads
    for a in range(0, len(rows), 700):
        i2, s2 = m.rank(rows[a : a + 700], 5)
        np.testing.assert_array_equal(idx[a : a + 700], i2)
        np.testing.assert_array_equal(score[a : a + 700], s2)
    assert m.repeat_.any()  # 1-3 orders each: some products are repeat buys, and may come back
    bought = m.bought_.toarray().astype(bool)
    known = rows >= 0
    again = bought[rows[known][:, None], idx[known]]
    assert again.any() and m.repeat_[idx[known][again]].all()
    new_only, _ = m.rank(rows, 5, exclude_bought=True)
    assert not bought[rows[known][:, None], new_only[known]].any()
