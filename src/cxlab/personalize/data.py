"""The inputs of recommendations: who bought (and viewed) what, the product catalog, the ``[personalize]``
settings.

Purchases come from the store's ``orders.items`` (unnested by the engine; guest, refunded and voided orders
left out), product views from ``events`` (``view_item`` with ``properties.product_id``) as a weaker signal,
or from a plain transaction file (one row per purchase). Views count only for products someone ordered or
the catalogue lists: anyone holding a browser key can send ``view_item`` events, and a made-up product id
must never become a recommendation. The engine reduces either to one row per customer
and product (orders, views, first and last purchase), the compact form the models fit on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict, Field

from cxlab.config import CONFIG_NAME, Config, section
from cxlab.customers.inputs import parse_timestamps, read_input
from cxlab.errors import MissingData

CATALOG_NAME = "products.csv"
DROPPED_STATUSES = ("refunded", "voided")
REPEAT_MIN_BUYERS = 5
"""A product needs this many buyers before the data alone may call it a repeat buy."""
TRUE = ("true", "1", "yes", "y", "t")
FALSE = ("false", "0", "no", "n", "f", "")


class Settings(BaseModel):
    """The ``[personalize]`` section of ``cxlab.toml``."""

    model_config = ConfigDict(extra="forbid")
    catalog: str | None = None
    """Product catalog file (relative to the store's folder); default ``products.csv`` there, when it exists."""
    exclude: list[str] = Field(default_factory=list)
    """Product ids never recommended."""
    model: str | None = None
    """The model ``recommend fit`` uses; default: the best nDCG@k of ``evaluate`` on the store."""
    view_weight: float = Field(0.25, ge=0, le=1)
    """Weight of having viewed a product, against 1 per order that bought it."""
    repeat_share: float = Field(0.3, gt=0, le=1)
    """A product is a repeat buy (may be recommended again) when this share of its buyers bought it in 2+
    orders (unless the catalog's ``repeat`` column says otherwise)."""
    max_per_category: float = Field(0.5, gt=0, le=1)
    """Diversity: at most ceil(k × this) recommendations per category when the catalog has categories."""
    k: int = Field(10, ge=1, le=500)
    """Recommendations kept per customer by ``recommend fit``."""


def settings_of(config: Config | None) -> Settings:
    """The ``[personalize]`` settings of ``config`` (defaults where absent)."""
    return section(config, "personalize", Settings)


@dataclass(frozen=True)
class Catalog:
    """Products by id: name, category, repeat buy (True/False/None: unknown), in stock."""

    frame: pd.DataFrame
    """Indexed by ``product_id``; columns ``name``, ``category`` (None when unknown), ``repeat``, ``in_stock``."""
    source: str

    def name(self, product_id: str) -> str:
        if product_id in self.frame.index:
            n = self.frame.at[product_id, "name"]
            if isinstance(n, str) and n:
                return n
        return product_id

    @property
    def has_categories(self) -> bool:
        return bool(self.frame["category"].notna().any())


def _bools(src_name: str, table: pa.Table, col: str, row: object) -> pa.Array:
    text = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(table.column(col).combine_chunks(), pa.string())))
    text = pc.fill_null(text, "")
    ok = np.asarray(pc.is_in(text, pa.array(TRUE + FALSE)))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise ValueError(
            f"{src_name}:{row(i)}: {col}: not true/false ({text[i].as_py()!r})"  # type: ignore[operator]
        )
    return pc.is_in(text, pa.array(TRUE))


def read_catalog(path: str | Path) -> Catalog:
    """A product catalog file: ``product_id`` and optionally ``name``, ``category``, ``repeat``, ``in_stock``."""
    src = read_input(path)
    names = src.table.column_names
    if "product_id" not in names:
        raise ValueError(f"{src.name}: missing column product_id (found {', '.join(names)})")
    ids = pc.utf8_trim_whitespace(pc.cast(src.table.column("product_id").combine_chunks(), pa.string()))
    empty = np.asarray(pc.is_null(ids)) | (np.asarray(pc.utf8_length(ids).fill_null(0)) == 0)
    src.bad("product_id", empty, "missing value")
    n = src.table.num_rows
    cols: dict[str, object] = {"product_id": ids.to_pylist()}
    for c in ("name", "category"):
        cols[c] = (
            pc.cast(src.table.column(c).combine_chunks(), pa.string()).to_pylist()
            if c in names
            else [None] * n
        )
    cols["repeat"] = (
        _bools(src.name, src.table, "repeat", src.row).to_pylist() if "repeat" in names else [None] * n
    )
    cols["in_stock"] = (
        _bools(src.name, src.table, "in_stock", src.row).to_pylist() if "in_stock" in names else [True] * n
    )
    frame = pd.DataFrame(cols)
    dup = frame["product_id"].duplicated().to_numpy()
    src.bad("product_id", dup, "listed twice", frame["product_id"].to_numpy(dtype=object))
    return Catalog(frame.set_index("product_id"), src.name)


def catalog_for(store_dir: Path | None, settings: Settings) -> Catalog | None:
    """The configured catalog (an error when it is named and missing), else ``products.csv`` if present."""
    if store_dir is None:
        return None
    if settings.catalog is not None:
        path = Path(settings.catalog)
        path = path if path.is_absolute() else store_dir / path
        if not path.exists():
            raise FileNotFoundError(f"{CONFIG_NAME}: personalize.catalog: {path}: no such file")
        return read_catalog(path)
    default = store_dir / CATALOG_NAME
    return read_catalog(default) if default.exists() else None


def store_lines(con: BaseBackend) -> ir.Table:
    """Purchased order lines of the store: ``customer_id, product_id, ts, order_id, quantity`` (engine side).

    Guest orders (no customer), refunded and voided orders, and lines without a product are left out."""
    tables = con.list_tables()
    if "orders" not in tables:
        raise MissingData("recommendations need orders: this store has no orders table")
    o = con.table("orders")
    if "items" not in o.columns:
        raise MissingData(
            "recommendations need orders.items (the products of each order): the column is missing"
        )
    keep = o.customer_id.notnull() & o["items"].notnull()
    if "status" in o.columns:
        keep &= ~o.status.fill_null("").isin(DROPPED_STATUSES)
    o = o.filter(keep)
    lines = o.select(o.customer_id, o.ts, o.order_id, item=o["items"].unnest())
    lines = lines.select(
        customer_id=lines.customer_id.cast("string"),
        product_id=lines.item.product_id.cast("string"),
        ts=lines.ts.cast("timestamp"),
        order_id=lines.order_id.cast("string"),
    )
    return lines.filter(lines.product_id.notnull() & (lines.product_id != ""))


def store_views(con: BaseBackend) -> ir.Table | None:
    """Product views of known customers from ``events`` (``view_item`` with ``properties.product_id``)."""
    if "events" not in con.list_tables():
        return None
    e = con.table("events")
    if not {"properties", "event", "customer_id"} <= set(e.columns):
        return None
    e = e.filter((e.event == "view_item") & e.customer_id.notnull() & e.properties.notnull())
    pid = e.properties.cast("json")["product_id"].str
    v = e.select(customer_id=e.customer_id.cast("string"), product_id=pid, ts=e.ts.cast("timestamp"))
    return v.filter(v.product_id.notnull() & (v.product_id != ""))


def file_lines(
    path: str | Path, customer_col: str, product_col: str, date_col: str, date_format: str | None = None
) -> ir.Table:
    """A transaction file (CSV in any of the encodings and delimiters ``cxlab ingest`` reads, JSON Lines,
    Parquet) as lines: each row one purchase; a customer's rows on one date are one order. ``date_format``:
    strptime format of the dates (default ISO 8601)."""
    src = read_input(path)
    names = src.table.column_names
    missing = [c for c in (customer_col, product_col, date_col) if c not in names]
    if missing:
        raise ValueError(f"{src.name}: missing column(s) {', '.join(missing)} (found {', '.join(names)})")
    if src.table.num_rows == 0:
        raise ValueError(f"{src.name}: no rows")
    cols = {}
    for col, out in ((customer_col, "customer_id"), (product_col, "product_id")):
        v = pc.utf8_trim_whitespace(pc.cast(src.table.column(col).combine_chunks(), pa.string()))
        src.bad(
            col,
            np.asarray(pc.is_null(v)) | (np.asarray(pc.utf8_length(v).fill_null(0)) == 0),
            "missing value",
        )
        cols[out] = v
    ts = parse_timestamps(src, date_col, date_format)
    cols["ts"] = ts
    cols["order_id"] = pc.binary_join_element_wise(
        cols["customer_id"], pc.cast(pc.cast(ts, pa.date32()), pa.string()), "|"
    )
    return ibis.memtable(pa.table(cols))


@dataclass(frozen=True)
class Purchases:
    """Who bought (and viewed) what, one row per customer and product."""

    frame: pd.DataFrame
    """``customer_id, product_id, orders`` (orders that bought it; 0 = only viewed), ``views``, ``last_ts``."""
    catalog: Catalog | None = None
    exclude: tuple[str, ...] = ()
    view_weight: float = 0.25
    repeat_share: float = 0.3
    max_per_category: float = 0.5

    @property
    def bought(self) -> pd.DataFrame:
        return self.frame[self.frame["orders"] > 0]

    def repeat_products(self) -> set[str]:
        """Products that may be recommended again to their buyers: the catalog's ``repeat`` where it says,
        else products with at least :data:`REPEAT_MIN_BUYERS` buyers of whom ``repeat_share`` bought it in 2+
        orders."""
        b = self.bought
        g = (b["orders"] >= 2).groupby(b["product_id"]).agg(buyers="size", repeat="mean")
        found = set(g.index[(g["buyers"] >= REPEAT_MIN_BUYERS) & (g["repeat"] >= self.repeat_share)])
        if self.catalog is not None:
            said = self.catalog.frame["repeat"].dropna()
            found = (found - set(said.index[~said.astype(bool)])) | set(said.index[said.astype(bool)])
        return found

    def blocked(self) -> set[str]:
        """Blocked (``[personalize] exclude``) and out-of-stock products."""
        out = set(self.exclude)
        if self.catalog is not None:
            stock = self.catalog.frame["in_stock"]
            out |= set(stock.index[~stock.astype(bool)])
        return out


def known_views(views: ir.Table, lines: ir.Table, catalog: Catalog | None = None) -> ir.Table:
    """``views`` of products in ``lines`` (ordered by someone) or in ``catalog``; views of any other
    product id are dropped (engine side)."""
    known = lines.select("product_id").distinct()
    if catalog is not None and len(catalog.frame):
        listed = ibis.memtable(
            {"product_id": [str(p) for p in catalog.frame.index]}, schema={"product_id": "string"}
        )
        known = known.union(listed)
    return views.semi_join(known, "product_id")


def aggregate(
    lines: ir.Table,
    views: ir.Table | None = None,
    before: datetime | None = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Per customer and product (engine side): orders that bought it, views (of known products only, see
    :func:`known_views`), last purchase; only what happened before ``before`` when given."""
    if before is not None:
        lines = lines.filter(lines.ts < before)
    per = lines.group_by(["customer_id", "product_id"]).aggregate(
        orders=lines.order_id.nunique(), last_ts=lines.ts.max()
    )
    df = per.to_pandas()
    df["views"] = 0
    if views is not None:
        if before is not None:
            views = views.filter(views.ts < before)
        views = known_views(views, lines, catalog)
        vv = views.group_by(["customer_id", "product_id"]).aggregate(views=views.count()).to_pandas()
        if len(vv):
            df = df.drop(columns="views").merge(vv, on=["customer_id", "product_id"], how="outer")
            df["orders"] = df["orders"].fillna(0)
            df["views"] = df["views"].fillna(0)
    df["orders"] = df["orders"].astype(np.int64)
    df["views"] = df["views"].astype(np.int64)
    return df[["customer_id", "product_id", "orders", "views", "last_ts"]]


def purchases_of(
    lines: ir.Table,
    views: ir.Table | None = None,
    *,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    before: datetime | None = None,
) -> Purchases:
    """The :class:`Purchases` of ``lines`` (and ``views``), before ``before`` when given."""
    s = settings or Settings.model_validate({})
    frame = aggregate(lines, views if s.view_weight > 0 else None, before, catalog)
    return Purchases(
        frame,
        catalog,
        tuple(s.exclude),
        s.view_weight,
        s.repeat_share,
        s.max_per_category,
    )


def store_purchases(con: BaseBackend, config: Config | None, store_dir: Path | None) -> Purchases:
    """Everything the store knows for fitting: purchases, views, catalog and settings."""
    s = settings_of(config)
    p = purchases_of(store_lines(con), store_views(con), settings=s, catalog=catalog_for(store_dir, s))
    if p.bought.empty:
        raise MissingData("recommendations need orders with a customer and items: none stored")
    return p


def parse_day(text: str, what: str = "--split-date") -> datetime:
    """A date such as 2024-05-01 (or an ISO timestamp; one with an offset is converted to UTC)."""
    try:
        ts = pd.Timestamp(text.strip())
        ok = not pd.isna(ts)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ValueError(f"{what}: not a date such as 2024-05-01: {text!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()
