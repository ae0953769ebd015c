"""The product catalog: ids, categories, list prices, popularity and the planted co-purchase pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from cxlab.demo.params import N_PAIRS

CATEGORIES = ("apparel", "shoes", "accessories", "home", "beauty")
CATEGORY_SIZES = (70, 35, 40, 30, 25)
PRICE_MEDIAN = (45.0, 80.0, 30.0, 35.0, 22.0)
PRICE_SIGMA = (0.5, 0.35, 0.6, 0.6, 0.5)
NOUNS = {
    "apparel": ("Jacket", "Dress", "Sweater", "Shirt", "Coat"),
    "shoes": ("Sneakers", "Boots", "Sandals", "Loafers", "Running Shoes"),
    "accessories": ("Bag", "Belt", "Scarf", "Watch", "Cap"),
    "home": ("Lamp", "Blanket", "Vase", "Cushion", "Mug"),
    "beauty": ("Face Cream", "Perfume", "Shampoo", "Lipstick", "Serum"),
}
"""Five nouns per category; :mod:`cxlab.demo.texts` names the same items in each language."""
ADJECTIVES = (
    "Classic",
    "Linen",
    "Merino",
    "Organic",
    "Striped",
    "Relaxed",
    "Vintage",
    "Nordic",
    "Urban",
    "Soft",
    "Recycled",
    "Everyday",
    "Weekend",
    "Studio",
    "Coastal",
    "Amber",
    "Midnight",
    "Sand",
    "Forest",
    "Cloud",
)


@dataclass(frozen=True)
class Catalog:
    """Products as parallel arrays, indexed by product number ``0..n-1``."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    category: np.ndarray
    noun: np.ndarray
    price: np.ndarray
    popularity: np.ndarray
    pairs: np.ndarray
    """``(N_PAIRS, 2)`` product numbers bought together far more often than chance."""

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def id_array(self) -> pa.Array:
        return pa.array(self.ids, pa.string())

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Products drawn by popularity."""
        return np.searchsorted(self._cum, rng.random(size) * self._cum[-1], side="right").clip(0, self.n - 1)

    def near_price(self, rng: np.random.Generator, target: np.ndarray) -> np.ndarray:
        """For each target price, a product whose list price is among the ~7 closest to it."""
        order = self._by_price
        pos = np.searchsorted(self.price[order], target) + rng.integers(-3, 4, size=target.size)
        return order[pos.clip(0, self.n - 1)]

    @property
    def _cum(self) -> np.ndarray:
        return np.cumsum(self.popularity)

    @property
    def _by_price(self) -> np.ndarray:
        return np.argsort(self.price, kind="stable")

    def to_records(self) -> list[dict[str, object]]:
        return [
            {
                "product_id": self.ids[i],
                "name": self.names[i],
                "category": CATEGORIES[int(self.category[i])],
                "price": float(self.price[i]),
            }
            for i in range(self.n)
        ]


def make_catalog(rng: np.random.Generator) -> Catalog:
    """A catalog of 200 products in five categories, with ``N_PAIRS`` planted co-purchase pairs."""
    cats = np.repeat(np.arange(len(CATEGORIES)), CATEGORY_SIZES)
    n = cats.size
    noun = rng.integers(0, 5, size=n)
    adj = rng.integers(0, len(ADJECTIVES), size=n)
    median = np.array(PRICE_MEDIAN)[cats]
    sigma = np.array(PRICE_SIGMA)[cats]
    price = np.maximum(np.floor(median * np.exp(sigma * rng.standard_normal(n))) + 0.95, 4.95)
    rank = rng.permutation(n) + 1
    popularity = 1.0 / rank**0.8
    popularity /= popularity.sum()
    ids = tuple(f"P{i + 1:03d}" for i in range(n))
    names = tuple(f"{ADJECTIVES[adj[i]]} {NOUNS[CATEGORIES[cats[i]]][noun[i]]}" for i in range(n))
    pairs = rng.choice(n, size=2 * N_PAIRS, replace=False).reshape(N_PAIRS, 2)
    return Catalog(ids, names, cats, noun, price, popularity, pairs)


CONSUMABLE = ("beauty",)
"""Categories bought again and again: recommendations may suggest them to customers who bought them before."""


def catalog_table(catalog: Catalog) -> pa.Table:
    """The product catalog as the shop would export it (``products.csv``: id, name, category, repeat)."""
    category = np.array(CATEGORIES, dtype=object)[catalog.category]
    return pa.table(
        {
            "product_id": catalog.id_array,
            "name": pa.array(catalog.names, pa.string()),
            "category": pa.array(category.tolist(), pa.string()),
            "repeat": pa.array(np.isin(category, CONSUMABLE).tolist(), pa.bool_()),
        }
    )
