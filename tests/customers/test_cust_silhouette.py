"""``cxlab.stats.silhouette.choose_k`` (used by personas and review themes) against scikit-learn directly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances, silhouette_score

from cxlab.stats.silhouette import choose_k, sample_rows


def test_finds_the_planted_number_of_clusters_with_sklearns_scores() -> None:
    x, _ = make_blobs(n_samples=600, centers=4, cluster_std=0.6, random_state=1)
    got = choose_k(x, range(2, 8), seed=3, sample=300)
    assert got.k == 4 and sorted(got.scores) == list(range(2, 8))
    rows = sample_rows(len(x), 300, 3)
    assert np.array_equal(got.sample, rows) and len(set(rows)) == 300
    labels = KMeans(n_clusters=5, n_init=4, random_state=3).fit_predict(x[rows])
    assert got.scores[5] == pytest.approx(silhouette_score(x[rows], labels), rel=1e-12)


def test_a_precomputed_distance_matrix_gives_the_same_scores() -> None:
    x, _ = make_blobs(n_samples=200, centers=3, cluster_std=0.5, random_state=4)
    plain = choose_k(x, range(2, 6), seed=0, sample=150)
    pre = choose_k(x, range(2, 6), seed=0, sample=150, distances=pairwise_distances(x))
    assert pre.k == plain.k
    assert pre.scores == pytest.approx(plain.scores, rel=1e-9)
    cosine = choose_k(x, range(2, 6), seed=0, distances=pairwise_distances(x, metric="cosine"))
    assert cosine.scores != pytest.approx(plain.scores)


def test_too_few_rows_is_an_error() -> None:
    with pytest.raises(ValueError, match="too few distinct rows"):
        choose_k(np.zeros((3, 2)), range(3, 6))
    with pytest.raises(ValueError, match="distances must be a 3 × 3 matrix"):
        choose_k(np.ones((3, 2)), range(2, 3), distances=np.zeros((2, 2)))
