"""Choose the number of k-means clusters by the highest mean silhouette (Rousseeuw 1987) on a seeded sample.

One routine for every clustering in cxlab (personas, review themes): k-means (scikit-learn) for each
candidate k on the same seeded sample of rows, scored by scikit-learn's ``silhouette_score`` on the sample's
features or on a distance matrix the caller precomputed (e.g. cosine distances of text embeddings). Ties go
to the smaller k. The same seed gives the same choice.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class KChoice:
    """The chosen k, the mean silhouette of every k tried, and which rows were scored."""

    k: int
    scores: dict[int, float]
    sample: NDArray[np.intp]
    """Indices (sorted) of the rows the k-means fits and silhouettes were computed on."""


def sample_rows(n: int, size: int, seed: int) -> NDArray[np.intp]:
    """A seeded sorted sample of ``min(size, n)`` row indices out of ``n``, without replacement."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=min(size, n), replace=False)).astype(np.intp)


def silhouette(
    features: NDArray[Any],
    labels: NDArray[Any],
    rows: NDArray[np.intp],
    distances: NDArray[Any] | None = None,
) -> float:
    """Mean silhouette of ``labels`` (one per row of ``features``) over ``rows``, on the features'
    Euclidean distances or on ``distances`` (a square matrix over all rows)."""
    if distances is not None:
        return float(silhouette_score(distances[np.ix_(rows, rows)], labels[rows], metric="precomputed"))
    return float(silhouette_score(features[rows], labels[rows]))


def choose_k(
    features: NDArray[Any],
    ks: Iterable[int],
    *,
    seed: int = 0,
    sample: int = 5_000,
    distances: NDArray[Any] | None = None,
    n_init: int = 4,
) -> KChoice:
    """The k among ``ks`` whose k-means clustering of a seeded sample of ``sample`` rows of ``features``
    has the highest mean silhouette (on ``distances``, a square matrix over all rows, when given).

    A k that is not below the sample size, or whose clustering has a single distinct label, is skipped;
    raises ``ValueError`` when no k could be scored (too few rows)."""
    x = np.asarray(features)
    if distances is not None and np.shape(distances) != (len(x), len(x)):
        raise ValueError(f"distances must be a {len(x)} × {len(x)} matrix, got {np.shape(distances)}")
    rows = sample_rows(len(x), sample, seed)
    part = x[rows]
    d = None if distances is None else np.asarray(distances)[np.ix_(rows, rows)]
    scores: dict[int, float] = {}
    for k in ks:
        if not 2 <= k < len(part):
            continue
        # small fits: threads cost more than they give; fewer distinct rows than k is a k we skip, not news
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            labels = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(part)
        if len(set(labels)) < 2:
            continue
        scores[k] = float(
            silhouette_score(part, labels) if d is None else silhouette_score(d, labels, metric="precomputed")
        )
    if not scores:
        raise ValueError(f"too few distinct rows to choose a number of clusters ({len(part)} rows)")
    best = max(scores, key=lambda k: (scores[k], -k))
    return KChoice(best, scores, rows)
