"""Recommendations served from the store: ``recommend fit`` writes every customer's list to the table
``_cxlab_recommendations`` (built aside, swapped in with one transaction, so a reader sees the old lists or
the new ones, never half); a lookup is one point query, or a dictionary loaded once per store version.

Rows with ``customer_id`` NULL hold the popularity list, the answer for a customer without purchases. Each
row keeps the product's catalogue ``name`` (the id when the catalogue has none), what a message shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.personalize.data import (
    Catalog,
    Purchases,
    catalog_for,
    settings_of,
    store_lines,
    store_purchases,
    store_views,
)
from cxlab.personalize.evaluate import Evaluation, evaluate
from cxlab.personalize.models import Item, Recommender, make_model

TABLE = "_cxlab_recommendations"
FALLBACK_MODEL = "co_purchase"
"""Model fitted when none is configured and the store's history is too short to evaluate."""
EVAL_SAMPLE = 2000
"""Test customers sampled when ``recommend fit`` picks its model by evaluation."""
NO_PURCHASES = "no purchases known for this customer, so"


@dataclass
class Recommendations:
    """One customer's list and where it came from."""

    customer_id: str
    items: list[Item]
    model: str
    source: str
    """``table`` (precomputed), ``popularity`` (no purchases known) or ``fitted in memory`` (no table)."""
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "items": [
                {"product_id": i.product_id, "name": i.label, "score": i.score, "reason": i.reason}
                for i in self.items
            ],
            "model": self.model,
            "source": self.source,
            "note": self.note,
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"rank": r, "product_id": i.product_id, "name": i.label, "score": i.score, "reason": i.reason}
                for r, i in enumerate(self.items, 1)
            ],
            columns=["rank", "product_id", "name", "score", "reason"],
        )

    def summary(self) -> str:
        return f"{len(self.items)} recommendations for {self.customer_id} ({self.model}, {self.source})" + (
            f"; {self.note}" if self.note else ""
        )


def write_table(con: duckdb.DuckDBPyConnection, rows: pa.Table, model: str, fitted_at: datetime) -> None:
    """Replace ``_cxlab_recommendations`` by ``rows`` (customer_id, rank, product_id, score, reason, and
    optionally name) in one transaction."""
    if "name" not in rows.column_names:
        rows = rows.append_column("name", rows.column("product_id"))
    con.register("_cxlab_recs_in", rows)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"CREATE OR REPLACE TABLE {TABLE}__new AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, "
                "CAST(rank AS INTEGER) AS rank, CAST(product_id AS VARCHAR) AS product_id, "
                "CAST(score AS DOUBLE) AS score, CAST(reason AS VARCHAR) AS reason, "
                "CAST(coalesce(name, product_id) AS VARCHAR) AS name, CAST(? AS VARCHAR) AS model, CAST(? AS TIMESTAMP) AS fitted_at "
                "FROM _cxlab_recs_in ORDER BY customer_id NULLS FIRST, rank",
                [model, fitted_at],
            )
            con.execute(f"DROP TABLE IF EXISTS {TABLE}")
            con.execute(f"ALTER TABLE {TABLE}__new RENAME TO {TABLE}")
            con.execute(f"CREATE INDEX {TABLE}_customer ON {TABLE} (customer_id)")  # point lookups
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("_cxlab_recs_in")


def _items(rows: list[tuple[Any, ...]], prefix: str = "") -> list[Item]:
    """Items of (product_id, score, reason, model, name) rows."""
    return [
        Item(str(p), float(s), f"{prefix} {r}" if prefix else str(r), None if n is None else str(n))
        for p, s, r, _, n, *_ in rows
    ]


def _select(
    con: duckdb.DuckDBPyConnection, columns: str, where: str, params: list[Any]
) -> list[tuple[Any, ...]]:
    """Rows of the table; ``name`` read as the product id from a table fitted before it had names."""
    try:
        return con.execute(f"SELECT {columns} FROM {TABLE} {where}", params).fetchall()
    except duckdb.BinderException:
        if "name" not in columns:
            raise
        return con.execute(
            f"SELECT {columns.replace('name', 'product_id AS name')} FROM {TABLE} {where}", params
        ).fetchall()


def _popular(rows: list[tuple[Any, ...]], customer_id: str, k: int) -> Recommendations:
    model = str(rows[0][3]) if rows else "popularity"
    return Recommendations(customer_id, _items(rows[:k], NO_PURCHASES), model, "popularity")


def recommend_for(
    con: duckdb.DuckDBPyConnection,
    customer_id: str,
    k: int = 10,
    *,
    config: Config | None = None,
    store_dir: Path | None = None,
) -> Recommendations:
    """A customer's top ``k`` from the precomputed table (popularity for a customer without purchases).
    Without a table, fits the configured model (else co-purchase) in memory and says so in ``note``."""
    if k < 1:
        raise ValueError("k must be at least 1")
    try:  # a plain point query uses the index; ORDER BY … LIMIT in SQL would scan (10× slower)
        rows = _select(
            con, "rank, product_id, score, reason, model, name", "WHERE customer_id = ?", [customer_id]
        )
    except duckdb.CatalogException:
        return _fit_in_memory(con, customer_id, k, config, store_dir)
    if rows:
        rows = sorted(rows)[:k]
        return Recommendations(customer_id, _items([r[1:] for r in rows]), str(rows[0][4]), "table")
    pop = _select(con, "rank, product_id, score, reason, model, name", "WHERE customer_id IS NULL", [])
    return _popular([r[1:] for r in sorted(pop)], customer_id, k)


def _fit_in_memory(
    con: duckdb.DuckDBPyConnection, customer_id: str, k: int, config: Config | None, store_dir: Path | None
) -> Recommendations:
    backend = ibis.duckdb.from_connection(con)
    purchases = store_purchases(backend, config, store_dir)
    name = settings_of(config).model or FALLBACK_MODEL
    model = make_model(name).fit(purchases)
    (items,) = model.recommend([customer_id], k)
    items = _named(items, purchases.catalog)
    known = customer_id in model.customers_
    if not known:
        items = [Item(i.product_id, i.score, f"{NO_PURCHASES} {i.reason}", i.name) for i in items]
    note = f"no precomputed recommendations (run `cxlab recommend fit`): {name} fitted in memory"
    return Recommendations(customer_id, items, name, "fitted in memory" if known else "popularity", note)


@dataclass
class RecTable:
    """The precomputed table in memory: a lookup is a dictionary access."""

    lists: dict[str, list[Item]]
    popular: list[Item]
    model: str
    fitted_at: datetime | None

    def lookup(self, customer_id: str, k: int = 10) -> Recommendations:
        items = self.lists.get(customer_id)
        if items is not None:
            return Recommendations(customer_id, items[:k], self.model, "table")
        return Recommendations(
            customer_id,
            [Item(i.product_id, i.score, f"{NO_PURCHASES} {i.reason}", i.name) for i in self.popular[:k]],
            self.model,
            "popularity",
        )


def load_table(con: duckdb.DuckDBPyConnection) -> RecTable | None:
    """The whole precomputed table as a :class:`RecTable`; None when there is none."""
    sql = (
        f"SELECT customer_id, product_id, score, reason, model, fitted_at, {{name}} AS name FROM {TABLE} "
        "ORDER BY customer_id NULLS FIRST, rank"
    )
    try:
        try:
            t = con.execute(sql.format(name="name")).fetch_arrow_table()
        except duckdb.BinderException:  # fitted before the table had names
            t = con.execute(sql.format(name="product_id")).fetch_arrow_table()
    except duckdb.CatalogException:
        return None
    cust = t.column("customer_id").to_pylist()
    items = [
        Item(p, s, r, n)
        for p, s, r, n in zip(
            t.column("product_id").to_pylist(),
            t.column("score").to_pylist(),
            t.column("reason").to_pylist(),
            t.column("name").to_pylist(),
            strict=True,
        )
    ]
    lists: dict[str, list[Item]] = {}
    popular: list[Item] = []
    for c, it in zip(cust, items, strict=True):
        (popular if c is None else lists.setdefault(c, [])).append(it)
    model = str(t.column("model")[0].as_py()) if t.num_rows else "popularity"
    fitted = t.column("fitted_at")[0].as_py() if t.num_rows else None
    return RecTable(lists, popular, model, fitted)


@dataclass
class FitResult:
    """What ``recommend fit`` wrote."""

    model: str
    customers: int
    rows: int
    k: int
    fitted_at: datetime
    chosen_by: str
    evaluation: Evaluation | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "customers": self.customers,
            "rows": self.rows,
            "k": self.k,
            "fitted_at": self.fitted_at.isoformat(),
            "chosen_by": self.chosen_by,
            "params": self.params,
            "evaluation": self.evaluation.to_dict() if self.evaluation is not None else None,
            "table": TABLE,
        }

    def summary(self) -> str:
        return (
            f"{self.model} ({self.chosen_by}) fitted; top {self.k} for {self.customers:,} customers (who bought or viewed) "
            f"written to "
            f"{TABLE} ({self.rows:,} rows, popularity for everyone else)"
        )


def default_split(backend: BaseBackend) -> datetime | None:
    """The date 80% of the way through the purchases (by count): the split ``recommend fit`` evaluates at."""
    lines = store_lines(backend)
    q = lines.aggregate(q=lines.ts.quantile(0.8), lo=lines.ts.min()).to_pandas()
    if q.empty or pd.isna(q["q"].iloc[0]) or q["q"].iloc[0] <= q["lo"].iloc[0]:
        return None
    return pd.Timestamp(q["q"].iloc[0]).floor("D").to_pydatetime()


def choose_model(
    backend: BaseBackend, purchases: Purchases, settings_model: str | None
) -> tuple[str, str, Evaluation | None]:
    """The model to fit: the configured one, else the best nDCG@10 on the store's own history."""
    if settings_model is not None:
        make_model(settings_model)  # a clear error for an unknown name
        return settings_model, "from cxlab.toml [personalize] model", None
    split = default_split(backend)
    if split is not None:
        try:
            ev = evaluate(
                store_lines(backend),
                store_views(backend),
                split,
                10,
                settings=None,
                catalog=purchases.catalog,
                sample=EVAL_SAMPLE,
            )
            return ev.default, f"best nDCG@10 on a split at {split:%Y-%m-%d}", ev
        except ValueError:
            pass
    return FALLBACK_MODEL, "too little history to evaluate", None


def fit_store(
    backend: BaseBackend,
    con: duckdb.DuckDBPyConnection,
    *,
    config: Config | None,
    store_dir: Path | None,
    model: str | None = None,
    k: int | None = None,
) -> FitResult:
    """Fit the chosen model on the store's purchases and write every buyer's top ``k`` to the table."""
    settings = settings_of(config)
    purchases = store_purchases(backend, config, store_dir)
    chosen_by = "given"
    ev = None
    if model is None:
        model, chosen_by, ev = choose_model(backend, purchases, settings.model)
    k = k or settings.k
    m: Recommender = make_model(model).fit(purchases)
    fitted_at = datetime.now(UTC).replace(tzinfo=None)
    rows = _rows(m, k, purchases.catalog)
    write_table(con, rows, m.name, fitted_at)
    return FitResult(m.name, len(m.customers_), rows.num_rows, k, fitted_at, chosen_by, ev, m.get_params())


def _named(items: list[Item], catalog: Catalog | None) -> list[Item]:
    """``items`` with their catalogue names (the id where the catalogue has none)."""
    return [
        Item(i.product_id, i.score, i.reason, catalog.name(i.product_id) if catalog else i.product_id)
        for i in items
    ]


def _rows(m: Recommender, k: int, catalog: Catalog | None = None) -> pa.Table:
    """Every known customer's top ``k`` and the popularity list (customer NULL) as table rows, each with
    the product's catalogue name (the id where there is none)."""
    cust: list[str | None] = []
    ranks, pids, scores, reasons = [], [], [], []
    n = len(m.customers_)
    step = 20_000
    chunks = [np.arange(a, min(a + step, n)) for a in range(0, n, step)] + [np.array([-1])]
    for rows in chunks:  # the last chunk: an unknown customer, i.e. the popularity list
        idx, sc = m.rank(rows, k)
        why = m.reasons(rows, idx)
        for u, r in enumerate(rows):
            for p in range(k):
                j = idx[u, p]
                if j < 0:
                    continue
                cust.append(str(m.customers_[r]) if r >= 0 else None)
                ranks.append(p + 1)
                pids.append(str(m.products_[j]))
                scores.append(float(sc[u, p]) if math.isfinite(sc[u, p]) else 0.0)
                reasons.append(why[u][p])
    names = {p: catalog.name(p) for p in set(pids)} if catalog is not None else {}
    return pa.table(
        {
            "customer_id": pa.array(cust, pa.string()),
            "rank": pa.array(ranks, pa.int32()),
            "product_id": pa.array(pids, pa.string()),
            "score": pa.array(scores, pa.float64()),
            "reason": pa.array(reasons, pa.string()),
            "name": pa.array([names.get(p, p) for p in pids], pa.string()),
        }
    )


@dataclass
class Similar:
    """Products bought by the customers who bought one product."""

    product_id: str
    name: str
    buyers: int
    frame: pd.DataFrame
    """``product_id, name, customers`` (bought both), ``score`` (cosine of the buyer sets), ``reason``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "buyers": self.buyers,
            "items": self.frame.to_dict(orient="records"),
            "method": "customers who bought both / sqrt(buyers of each) (cosine of the buyer sets)",
        }

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def summary(self) -> str:
        return (
            f"{len(self.frame)} products most often bought by the {self.buyers:,} customers who bought "
            f"{self.name}, ranked by the cosine of their buyer sets"
        )


def similar(
    backend: BaseBackend,
    product_id: str,
    k: int = 10,
    *,
    config: Config | None = None,
    store_dir: Path | None = None,
) -> Similar:
    """The ``k`` products most bought together with ``product_id`` (engine side; blocked and out-of-stock
    products left out)."""
    settings = settings_of(config)
    catalog = catalog_for(store_dir, settings)
    lines = store_lines(backend)
    lines = lines.select("customer_id", "product_id").distinct()
    buyers = lines.filter(lines.product_id == product_id).select("customer_id")
    n_p = int(buyers.count().execute())
    if n_p == 0:
        raise ValueError(f"product {product_id!r}: nobody bought it (check the id)")
    co = lines.semi_join(buyers, "customer_id")
    co = co.filter(co.product_id != product_id)
    co = co.group_by("product_id").aggregate(customers=co.count())
    per = lines.group_by("product_id").aggregate(buyers=lines.count())
    j = co.join(per, "product_id")
    j = j.mutate(score=j.customers / (j.buyers * n_p).cast("float64").sqrt())
    blocked = set(settings.exclude)
    if catalog is not None:
        stock = catalog.frame["in_stock"]
        blocked |= set(stock.index[~stock.astype(bool)])
    if blocked:
        j = j.filter(~j.product_id.isin(list(blocked)))
    df = j.order_by([ibis.desc("score"), "product_id"]).limit(k).to_pandas()
    name = catalog.name(product_id) if catalog is not None else product_id
    names = [catalog.name(p) if catalog is not None else p for p in df["product_id"]]
    out = pd.DataFrame(
        {
            "product_id": df["product_id"].astype(str),
            "name": names,
            "customers": df["customers"].astype(int),
            "score": df["score"].astype(float),
        }
    )
    out["reason"] = [
        f"bought together with {name} by {c:,} customer{'s' * (c != 1)}" for c in out["customers"]
    ]
    return Similar(product_id, name, n_p, out)
