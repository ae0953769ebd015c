"""Recommendation models over implicit feedback, with scikit-learn's conventions: parameters in
``__init__``, ``fit(purchases)``, learned attributes ending in ``_``, then ``recommend(customer_ids, k)``.

- :class:`Popularity`: the most-bought products (also every model's answer for a customer it has not seen).
- :class:`CoPurchase`: item-to-item similarity from co-purchase counts (scipy.sparse), normalised by
  asymmetric cosine ``c_ij / (n_i^α n_j^(1-α))`` with α = 0.65 (default: on the benchmark's log it beat
  cosine, α = 0.5, by 4% nDCG@10; lift and raw counts far behind), keeping each product's nearest
  ``neighbours``.
- :class:`ALS`: matrix factorisation for implicit feedback (Hu, Koren & Volinsky 2008) by ``implicit``'s
  alternating least squares (CPU, fixed seed, thread count bounded).
- :class:`EASE`: the closed-form item-item linear model of Steck (2019, "Embarrassingly shallow
  autoencoders"). It is five lines of NumPy (one regularised Gram-matrix inverse), which no well-kept
  library packages on its own; it is measured against the others in ``bench/recommend.py`` and used only up
  to :data:`EASE_MAX_PRODUCTS` products (its inverse is dense).

Scoring is shared: a dense score block per batch of customers, products a customer may not get masked out
(blocked, out of stock, already bought unless a repeat buy), the top candidates re-ranked for diversity (at
most ceil(k × ``max_per_category``) per category when the catalog has categories), and a one-line reason
per item from the co-purchase counts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.linalg as spla
import scipy.sparse as sp

from cxlab.personalize.data import Catalog, Purchases

EASE_MAX_PRODUCTS = 12_000
"""Largest catalogue :class:`EASE` fits (its dense inverse is products² doubles: 1.1 GB at 12k)."""
BATCH = 2048
"""Customers scored per dense block."""
REASON_HISTORY = 200
"""At most this many of a customer's products are searched for the reason of an item."""


@dataclass(frozen=True)
class Item:
    """One recommended product."""

    product_id: str
    score: float
    reason: str
    name: str | None = None
    """The catalogue's name of the product (None: the models know ids only; the store fills it in)."""

    @property
    def label(self) -> str:
        """What a customer may be shown: the catalogue name, else the product id."""
        return self.name or self.product_id


class Recommender:
    """What every model shares: the customer × product matrices, masks, scoring, diversity and reasons."""

    name: ClassVar[str] = "base"
    customers_: pd.Index
    products_: pd.Index
    weights_: sp.csr_matrix
    orders_: sp.csr_matrix
    bought_: sp.csr_matrix
    buyers_: np.ndarray
    popularity_: np.ndarray
    repeat_: np.ndarray
    blocked_: np.ndarray
    category_: np.ndarray | None
    catalog_: Catalog | None
    max_per_category_: float

    def fit(self, purchases: Purchases) -> Self:
        """Learn from ``purchases`` (one row per customer and product)."""
        f = purchases.frame
        cust = pd.Categorical(f["customer_id"].astype(str))  # sorted categories: reproducible numbering
        prod = pd.Categorical(f["product_id"].astype(str))
        self.customers_ = pd.Index(np.asarray(cust.categories, dtype=object))
        known = pd.Index(np.asarray(prod.categories, dtype=object))
        if purchases.catalog is not None:  # catalogue products nobody bought yet may still be recommended
            known = known.append(purchases.catalog.frame.index.difference(known))
        self.products_ = known
        rows = np.asarray(cust.codes, dtype=np.int64)
        cols = np.arange(len(prod.categories))[np.asarray(prod.codes, dtype=np.int64)]
        shape = (len(self.customers_), len(self.products_))
        orders = f["orders"].to_numpy(dtype=np.float32)
        w = orders + np.float32(purchases.view_weight) * np.minimum(f["views"].to_numpy(np.float32), 3) / 3
        self.weights_ = sp.csr_matrix((w, (rows, cols)), shape=shape, dtype=np.float32)
        self.weights_.eliminate_zeros()
        b = orders > 0
        self.orders_ = sp.csr_matrix((orders[b], (rows[b], cols[b])), shape=shape, dtype=np.float32)
        self.bought_ = self.orders_.copy()
        self.bought_.data[:] = 1
        self.buyers_ = np.asarray(self.bought_.sum(axis=0)).ravel().astype(np.int64)
        self.popularity_ = self.buyers_.astype(np.float32)
        self.repeat_ = self.products_.isin(list(purchases.repeat_products()))
        self.blocked_ = self.products_.isin(list(purchases.blocked()))
        self.catalog_ = purchases.catalog
        self.max_per_category_ = purchases.max_per_category
        self.category_ = None
        if purchases.catalog is not None and purchases.catalog.has_categories:
            cat = purchases.catalog.frame["category"].reindex(self.products_)
            codes = pd.factorize(cat)[0]  # a product without a category is a category of its own: no cap
            none = codes < 0
            codes[none] = codes.max(initial=-1) + 1 + np.arange(int(none.sum()))
            self.category_ = codes
        self._fit()
        return self

    def _fit(self) -> None:
        """Model-specific learning (the shared matrices are ready)."""

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        """Dense scores ``(len(rows), products)`` for known customers (row numbers of ``customers_``)."""
        return np.broadcast_to(self.popularity_, (len(rows), len(self.products_))).copy()

    @cached_property
    def co_buyers_(self) -> sp.csr_matrix:
        """Customers who bought both products (products × products, diagonal: buyers)."""
        b = self.bought_.T.tocsr()
        return (b @ b.T).tocsr().astype(np.int64)

    def name_of(self, j: int) -> str:
        pid = str(self.products_[j])
        return self.catalog_.name(pid) if self.catalog_ is not None else pid

    def rank(
        self, rows: np.ndarray, k: int, *, exclude_bought: bool = False, diversity: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` product numbers and scores for customer rows (-1: unknown customer, gets popularity).

        ``exclude_bought``: leave out every bought product, repeat buys too (what evaluation does: only new
        products count there). Missing places (too few products left) are -1 with score NaN."""
        out_i = np.full((len(rows), k), -1, dtype=np.int64)
        out_s = np.full((len(rows), k), np.nan, dtype=np.float64)
        cap = math.ceil(k * self.max_per_category_) if diversity and self.category_ is not None else k

        def batch(start: int) -> None:
            top, ts = self._rank_batch(rows[start : start + BATCH], k, cap, exclude_bought)
            valid = np.isfinite(ts)
            w = top.shape[1]
            out_i[start : start + top.shape[0], :w] = np.where(valid, top, -1)
            out_s[start : start + top.shape[0], :w] = np.where(valid, ts, np.nan)

        starts = range(0, len(rows), BATCH)
        if len(starts) > 1:  # NumPy and scipy.sparse release the GIL in the heavy parts
            with ThreadPoolExecutor(min(len(starts), os.cpu_count() or 1)) as pool:
                list(pool.map(batch, starts))
        else:
            for start in starts:
                batch(start)
        return out_i, out_s

    def _rank_batch(
        self, r: np.ndarray, k: int, cap: int, exclude_bought: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.products_)
        m = min(n, k if cap >= k else 4 * k)
        known = r >= 0
        if known.all():
            s = np.asarray(self._scores(r), dtype=np.float32)
        else:
            s = np.empty((len(r), n), dtype=np.float32)
            s[~known] = self.popularity_
            if known.any():
                s[known] = self._scores(r[known])
        s[:, self.blocked_] = -np.inf
        hist = self.bought_[np.where(known, r, 0)].tocoo()
        drop = known[hist.row] & (True if exclude_bought else ~self.repeat_[hist.col])
        s[hist.row[drop], hist.col[drop]] = -np.inf
        np.negative(s, out=s)  # in place: argpartition finds the smallest
        top = np.argpartition(s, m - 1, axis=1)[:, :m] if m < n else np.tile(np.arange(n), (len(r), 1))
        ts = -np.take_along_axis(s, top, axis=1)
        order = np.lexsort((top, -ts))  # ties: the catalogue's order, so lists are reproducible
        top, ts = np.take_along_axis(top, order, axis=1), np.take_along_axis(ts, order, axis=1)
        if cap < k and self.category_ is not None:
            top, ts = self._diversify(top, ts, k, cap)
        return top[:, :k], ts[:, :k]

    def _diversify(self, top: np.ndarray, ts: np.ndarray, k: int, cap: int) -> tuple[np.ndarray, np.ndarray]:
        """Keep the ranking but move a category's items past its ``cap``-th to the end of the list."""
        assert self.category_ is not None
        cats = self.category_[top]
        ncat = int(self.category_.max()) + 1
        onehot = np.zeros((*cats.shape, ncat), dtype=np.int32)
        np.put_along_axis(onehot, cats[..., None], 1, axis=2)
        seen = np.take_along_axis(np.cumsum(onehot, axis=1), cats[..., None], axis=2)[..., 0]
        over = (seen > cap) | ~np.isfinite(ts)
        order = np.argsort(over, axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1), np.take_along_axis(ts, order, axis=1)

    def rows_of(self, customer_ids: Iterable[str]) -> np.ndarray:
        return np.asarray(self.customers_.get_indexer(pd.Index(list(customer_ids), dtype=object)))

    def recommend(
        self, customer_ids: Sequence[str], k: int = 10, *, diversity: bool = True
    ) -> list[list[Item]]:
        """Up to ``k`` items with a reason each, per customer (popularity for a customer never seen)."""
        rows = self.rows_of(customer_ids)
        idx, score = self.rank(rows, k, diversity=diversity)
        reasons = self.reasons(rows, idx)
        return [
            [
                Item(str(self.products_[j]), float(s), reasons[u][p])
                for p, (j, s) in enumerate(zip(idx[u], score[u], strict=True))
                if j >= 0
            ]
            for u in range(len(rows))
        ]

    def _popular_reason(self, j: int) -> str:
        n = int(self.buyers_[j])
        cat = (
            self.catalog_.frame["category"].get(self.products_[j])
            if self.catalog_ is not None and self.category_ is not None
            else None
        )
        where = f" in {cat}" if isinstance(cat, str) and cat else ""
        return f"popular{where}: bought by {n:,} customer{'s' * (n != 1)}"

    def _related_reason(self, j: int, other: int, together: int) -> str:
        return f"bought together with {self.name_of(other)} by {together:,} customer{'s' * (together != 1)}"

    def reasons(self, rows: np.ndarray, idx: np.ndarray) -> list[list[str]]:
        """One line per recommended item: its strongest co-purchase with the customer's products, a repeat
        buy, or its popularity (customers never seen, or nothing bought with it)."""
        out = [[self._popular_reason(int(j)) if j >= 0 else "" for j in line] for line in idx]
        known = np.flatnonzero(rows >= 0)
        if known.size == 0:
            return out
        hist = self.orders_[rows[known]].tocsr()
        hist.sort_indices()
        lens = np.minimum(np.diff(hist.indptr), REASON_HISTORY)
        user = np.repeat(np.arange(known.size), lens)
        starts = np.repeat(hist.indptr[:-1].astype(np.int64), lens)
        take = starts + np.arange(user.size) - np.repeat(np.cumsum(lens) - lens, lens)
        item, times = hist.indices[take].astype(np.int64), hist.data[take].astype(np.int64)
        co = self.co_buyers_
        for p in range(idx.shape[1]):
            rec = idx[known, p]
            ru = rec[user]
            vals = np.zeros(user.size, dtype=np.int64)
            have = ru >= 0
            if have.any():
                vals[have] = np.asarray(co[item[have], ru[have]]).ravel()
            own = item == ru
            vals[own] = -1  # the product itself: a repeat buy, not a pair
            best = np.zeros(known.size, dtype=np.int64)
            best_item = np.full(known.size, -1, dtype=np.int64)
            own_times = np.zeros(known.size, dtype=np.int64)
            own_times[user[own]] = times[own]
            if user.size:
                o = np.lexsort((-vals, user))
                first = np.r_[0, np.flatnonzero(np.diff(user[o])) + 1]
                best[user[o][first]] = vals[o][first]
                best_item[user[o][first]] = item[o][first]
            for u, ku in enumerate(known):
                j = int(idx[ku, p])
                if j < 0:
                    continue
                if own_times[u]:
                    n = int(own_times[u])
                    out[ku][p] = f"a repeat buy: you bought it in {n:,} order{'s' * (n != 1)}"
                elif self.name == Popularity.name:
                    continue
                elif best[u] > 0 and not (self.name == ALS.name and best[u] < 3):
                    out[ku][p] = self._related_reason(j, int(best_item[u]), int(best[u]))
                else:
                    out[ku][p] = "customers like you bought it"
        return out

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}


class Popularity(Recommender):
    """The products bought by the most customers."""

    name = "popularity"


class CoPurchase(Recommender):
    """Item-to-item: products bought by the same customers, normalised, each product's nearest neighbours
    kept; a customer's score for a product sums its similarity to what they bought (weighted by orders)."""

    name = "co_purchase"
    NORMALISATIONS = ("cosine", "asymmetric", "lift", "count")

    def __init__(self, normalisation: str = "asymmetric", neighbours: int = 100, alpha: float = 0.65):
        if normalisation not in self.NORMALISATIONS:
            raise ValueError(f"normalisation: expected one of {', '.join(self.NORMALISATIONS)}")
        self.normalisation = normalisation
        self.neighbours = neighbours
        self.alpha = alpha

    similarity_: sp.csr_matrix

    def _fit(self) -> None:
        x = self.weights_.copy()
        x.data = np.log1p(x.data)  # damp heavy repeat buyers
        xt = x.T.tocsr()
        c = (xt @ xt.T).tocsr().astype(np.float32)
        norm = np.asarray(c.diagonal(), dtype=np.float64)
        c.setdiag(0)
        c.eliminate_zeros()
        coo = c.tocoo()
        ni, nj = norm[coo.row], norm[coo.col]
        if self.normalisation == "cosine":
            v = coo.data / np.sqrt(ni * nj)
        elif self.normalisation == "asymmetric":
            v = coo.data / (ni**self.alpha * nj ** (1 - self.alpha))
        elif self.normalisation == "lift":
            v = coo.data * norm.sum() / (ni * nj)
        else:
            v = coo.data.astype(np.float64)
        s = sp.csr_matrix((v.astype(np.float32), (coo.row, coo.col)), shape=c.shape)
        self.similarity_ = _top_per_row(s, self.neighbours)

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        x = self.weights_[rows]
        x.data = np.log1p(x.data)
        s = np.asarray((x @ self.similarity_).todense(), dtype=np.float32)
        return s + 1e-6 * (self.popularity_ / max(1.0, float(self.popularity_.max())))  # ties: popular first


class EASE(Recommender):
    """Steck's closed-form item-item model: ``B = I - P / diag(P)`` with ``P = (XᵀX + λI)⁻¹``."""

    name = "ease"

    def __init__(self, l2: float = 200.0):
        self.l2 = l2

    coef_: np.ndarray

    def _fit(self) -> None:
        n = len(self.products_)
        if n > EASE_MAX_PRODUCTS:
            raise ValueError(f"ease: {n:,} products is more than the {EASE_MAX_PRODUCTS:,} it can invert")
        x = self.weights_.copy()
        x.data = np.log1p(x.data)
        g = (x.T.tocsr() @ x).toarray()  # csr @ csr: scipy's fastest sparse product here
        g[np.diag_indices(n)] += self.l2
        # the Gram matrix is symmetric positive definite: Cholesky factor, then triangular solves against the
        # identity (level-3 BLAS; measured 2× faster than LAPACK's potri and than scipy.linalg.solve)
        c, info = spla.lapack.spotrf(g, lower=True, overwrite_a=True, clean=False)
        if info != 0:
            raise ValueError(
                f"ease: the regularised Gram matrix is not positive definite (LAPACK info {info})"
            )
        p, info = spla.lapack.spotrs(c, np.eye(n, dtype=np.float32), lower=True, overwrite_b=True)
        if info != 0:
            raise ValueError(f"ease: solving with the Cholesky factor failed (LAPACK info {info})")
        p /= -np.diag(p).copy()[None, :]  # in place: the matrix is products² floats
        p[np.diag_indices(n)] = 0.0
        self.coef_ = p

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        x = self.weights_[rows]
        x.data = np.log1p(x.data)
        return np.asarray(x @ self.coef_, dtype=np.float32)


class ALS(Recommender):
    """Implicit-feedback matrix factorisation by ``implicit``'s alternating least squares (CPU)."""

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int = 42,
        threads: int | None = None,
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.threads = threads

    user_factors_: np.ndarray
    item_factors_: np.ndarray

    def _fit(self) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        threads = self.threads or os.cpu_count() or 1
        x = self.weights_.copy()
        x.data = np.log1p(x.data)
        with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads thrash
            m = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
                num_threads=threads,
            )
            m.fit(x, show_progress=False)
        self.user_factors_ = np.asarray(m.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(m.item_factors, dtype=np.float32)

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors_[rows] @ self.item_factors_.T


def _top_per_row(s: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Keep the ``n`` largest entries of each row."""
    s = s.tocsr()
    s.sort_indices()
    lens = np.diff(s.indptr)
    if lens.max(initial=0) <= n:
        return s
    keep = np.zeros(s.nnz, dtype=bool)
    for i in np.flatnonzero(lens > 0):
        a, b = s.indptr[i], s.indptr[i + 1]
        d = s.data[a:b]
        keep[a + (np.argpartition(-d, n - 1)[:n] if b - a > n else np.arange(b - a))] = True
    coo = s.tocoo()
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=s.shape)


MODELS: dict[str, type[Recommender]] = {m.name: m for m in (Popularity, CoPurchase, EASE, ALS)}
"""Every model by name."""


def make_model(name: str) -> Recommender:
    """A model with its default parameters."""
    if name not in MODELS:
        raise ValueError(f"unknown recommendation model {name!r} (expected one of {', '.join(MODELS)})")
    return MODELS[name]()
