"""Temporal evaluation of recommendation models: train on purchases before a split date, score the
recommendations against what each customer bought after it that they had not bought before.

Metrics @k, macro-averaged over the test customers (those with at least one such new product; the products
are the relevant set, binary relevance): precision (hits / k), recall (hits / relevant), nDCG (DCG with the
standard 1/log2(rank + 1) discount over the ideal DCG of min(k, relevant) hits), hit rate (any hit) and
catalogue coverage (share of the training catalogue recommended to at least one test customer). Every bought
product is left out of a list being evaluated (only new products can be relevant).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cxlab.errors import MissingData
from cxlab.personalize.data import Catalog, Settings, purchases_of
from cxlab.personalize.models import MODELS, Recommender, make_model

METRICS = ("precision", "recall", "ndcg", "hit_rate", "coverage")


def ranking_metrics(
    recs: np.ndarray, relevant: Sequence[np.ndarray], n_products: int, k: int
) -> dict[str, float]:
    """Macro-averaged metrics of ``recs`` (customers × k product numbers, -1 = empty place) against each
    customer's relevant product numbers (a number that can't be recommended, e.g. -2, still counts)."""
    n = recs.shape[0]
    if n == 0:
        return dict.fromkeys(METRICS, float("nan"))
    recs = recs[:, :k]
    sizes = np.array([len(r) for r in relevant], dtype=np.int64)
    rows = np.repeat(np.arange(n), sizes)
    rel = np.concatenate([np.asarray(r, dtype=np.int64) for r in relevant]) if n else np.array([], np.int64)
    width = np.int64(max(n_products, int(rel.max(initial=0)) + 1) + 2)
    codes = np.unique(rows * width + rel + 2)
    rec_codes = np.arange(n)[:, None] * width + recs + 2
    hits = np.isin(rec_codes, codes) & (recs >= 0)
    nhits = hits.sum(axis=1)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * disc[: recs.shape[1]]).sum(axis=1)
    idcg = np.cumsum(disc)[np.minimum(k, sizes) - 1]
    shown = np.unique(recs[recs >= 0])
    return {
        "precision": float(np.mean(nhits / k)),
        "recall": float(np.mean(nhits / sizes)),
        "ndcg": float(np.mean(dcg / idcg)),
        "hit_rate": float(np.mean(nhits > 0)),
        "coverage": float(shown.size / n_products) if n_products else float("nan"),
    }


def relevant_numbers(products: pd.Index, relevant: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """Each customer's relevant products as product numbers (-2: a product the model never saw)."""
    flat = pd.Index([p for r in relevant for p in r], dtype=object)
    nums = products.get_indexer(flat)
    nums = np.where(nums >= 0, nums, -2)
    return np.split(nums, np.cumsum([len(r) for r in relevant])[:-1])


@dataclass
class Split:
    """The training purchases and the test customers with their new products after the split."""

    train: Any
    """:class:`cxlab.personalize.data.Purchases` before the split."""
    customers: list[str]
    relevant: list[list[str]]
    split: datetime
    test_customers_total: int
    """Test customers before sampling."""


def temporal_split(
    lines: ir.Table,
    views: ir.Table | None,
    split: datetime,
    *,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> Split:
    """Train on what happened before ``split``; test on each customer's new products on or after it."""
    train = purchases_of(lines, views, settings=settings, catalog=catalog, before=split)
    after = lines.filter(lines.ts >= split)
    new = after.select("customer_id", "product_id").distinct().to_pandas()
    if new.empty and train.bought.empty:
        raise MissingData("recommendations need purchases (orders with a customer and products): none found")
    if new.empty:
        raise ValueError(f"no purchases on or after the split date {split:%Y-%m-%d}: choose an earlier one")
    if train.bought.empty:
        raise ValueError(f"no purchases before the split date {split:%Y-%m-%d}: choose a later one")
    before = train.bought[["customer_id", "product_id"]].assign(_old=True)
    new = new.merge(before, on=["customer_id", "product_id"], how="left")
    new = new[new["_old"].isna()]
    if new.empty:
        raise ValueError(
            f"no customer bought a product after {split:%Y-%m-%d} that they had not bought before: "
            "nothing to evaluate"
        )
    groups = new.groupby("customer_id", sort=True)["product_id"].agg(list)
    total = len(groups)
    if sample is not None and total > sample:
        groups = groups.sample(sample, random_state=seed).sort_index()
    return Split(train, [str(c) for c in groups.index], [list(v) for v in groups], split, total)


@dataclass
class ModelScore:
    """One model's metrics and timings."""

    model: str
    metrics: dict[str, float]
    fit_s: float
    recommend_s: float
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evaluation:
    """Metrics @k per model on a temporal split, and the model with the best nDCG (the default)."""

    scores: list[ModelScore]
    k: int
    split: datetime
    customers: int
    customers_total: int
    train_customers: int
    products: int
    default: str
    source: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"model": s.model, **s.metrics, "fit_s": s.fit_s, "recommend_s": s.recommend_s}
                for s in self.scores
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": {
                s.model: {**s.metrics, "fit_s": s.fit_s, "recommend_s": s.recommend_s} for s in self.scores
            },
            "default": self.default,
            "customers": self.customers,
            "customers_total": self.customers_total,
            "k": self.k,
            "split_date": self.split.isoformat(),
            "train_customers": self.train_customers,
            "products": self.products,
            "source": self.source,
            "method": self.method,
        }

    @property
    def method(self) -> str:
        return (
            f"temporal split at {self.split:%Y-%m-%d}: trained on earlier purchases, scored @{self.k} on each "
            "test customer's products bought on or after it and not before (binary relevance, log2 discount), "
            "macro-averaged; bought products left out of the lists"
        )

    def summary(self) -> str:
        best = next(s for s in self.scores if s.model == self.default)
        sampled = (
            f" (a random sample of {self.customers:,} of {self.customers_total:,})"
            if self.customers < self.customers_total
            else ""
        )
        return (
            f"{self.default} recommends best: nDCG@{self.k} {best.metrics['ndcg']:.3f}, "
            f"{best.metrics['hit_rate']:.0%} of customers find a product they then bought among their top "
            f"{self.k}; {self.customers:,} test customers{sampled}, {self.products:,} products; "
            f"{self.method}."
        )

    def figure(self) -> go.Figure:
        t = self.to_frame()
        fig = go.Figure()
        for m in ("precision", "recall", "ndcg", "hit_rate"):
            fig.add_bar(name=f"{m}@{self.k}", x=t["model"], y=t[m])
        fig.update_layout(barmode="group", title=f"recommendation models @{self.k}", yaxis_title="score")
        return fig


def evaluate_split(
    data: Split,
    k: int = 10,
    models: Sequence[str | Recommender] | None = None,
    *,
    diversity: bool = True,
    source: str = "store",
) -> Evaluation:
    """Fit each model on the training purchases and score it on the test customers."""
    if k < 1:
        raise ValueError("k must be at least 1")
    scores = []
    for m in models if models is not None else list(MODELS):
        model = make_model(m) if isinstance(m, str) else m
        t0 = time.perf_counter()
        try:
            model.fit(data.train)
        except ValueError:
            if isinstance(m, str) and m == "ease":  # a catalogue too big to invert: not a candidate here
                continue
            raise
        t1 = time.perf_counter()
        rows = model.rows_of(data.customers)
        recs, _ = model.rank(rows, k, exclude_bought=True, diversity=diversity)
        t2 = time.perf_counter()
        rel = relevant_numbers(model.products_, data.relevant)
        metrics = ranking_metrics(recs, rel, len(model.products_), k)
        scores.append(ModelScore(model.name, metrics, t1 - t0, t2 - t1, model.get_params()))
    if not scores:
        raise ValueError("no model could be fitted")
    best = max(scores, key=lambda s: s.metrics["ndcg"])  # a tie: the first (simpler) model
    return Evaluation(
        scores,
        k,
        data.split,
        len(data.customers),
        data.test_customers_total,
        int(data.train.frame["customer_id"].nunique()),
        int(data.train.frame["product_id"].nunique()),
        best.model,
        source,
    )


def evaluate(
    lines: ir.Table,
    views: ir.Table | None,
    split: datetime,
    k: int = 10,
    models: Sequence[str | Recommender] | None = None,
    *,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    sample: int | None = None,
    seed: int = 0,
    source: str = "store",
) -> Evaluation:
    """:func:`temporal_split` then :func:`evaluate_split`."""
    data = temporal_split(lines, views, split, settings=settings, catalog=catalog, sample=sample, seed=seed)
    return evaluate_split(data, k, models, source=source)
