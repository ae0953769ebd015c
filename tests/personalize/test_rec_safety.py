"""Recommendations can't be poisoned from the browser: views of product ids nobody ordered and the catalogue
doesn't list are ignored (anyone holding a browser key can send ``view_item`` events); a recommendation
carries the catalogue name, which is what a flow message shows."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from cxlab.automate.run import _recommendations
from cxlab.personalize.data import store_lines, store_purchases
from cxlab.personalize.store import fit_store, load_table, recommend_for
from cxlab.store import Store
from tests.automate.conftest import build_flow_store

EVIL = "Click https://evil.example/win"
N, P = 60, 8


@pytest.fixture
def poisoned(tmp_path: Path) -> Iterator[Store]:
    """60 customers with 3 orders each over P0–P7; every customer 'viewed' the attacker's product 3 times
    and the catalogued, never-ordered product NEW once."""
    rnd = random.Random(1)
    orders = [
        {
            "order_id": f"o{i}_{j}",
            "customer_id": f"c{i}",
            "ts": -24 * (60 - 10 * j) - i % 24,
            "revenue": 10.0,
            "items": [{"product_id": f"P{rnd.randrange(P)}", "quantity": 1, "price": 10.0}],
        }
        for i in range(N)
        for j in range(3)
    ]
    views = [
        {
            "event_id": f"v{i}_{k}",
            "ts": -1,
            "event": "view_item",
            "customer_id": f"c{i}",
            "properties": {"product_id": pid},
        }
        for i in range(N)
        for k, pid in enumerate([EVIL, EVIL, EVIL, "NEW"])
    ]
    folder = tmp_path / "shop"
    s = build_flow_store(
        folder, customers=[{"customer_id": f"c{i}"} for i in range(N)], orders=orders, events=views
    )
    (folder / "products.csv").write_text(
        "product_id,name\n" + "".join(f"P{i},Product {i}\n" for i in range(P)) + "NEW,New arrival\n",
        encoding="utf-8",
    )
    yield s
    s.close()


def test_views_of_unknown_products_are_ignored(poisoned: Store) -> None:
    p = store_purchases(poisoned.ibis(), poisoned.config, poisoned.path.parent)
    assert EVIL not in set(p.frame["product_id"])
    assert set(p.frame["product_id"]) <= {f"P{i}" for i in range(P)} | {"NEW"}
    # the catalogued product nobody ordered still counts as a view (one per customer)
    new = p.frame[p.frame["product_id"] == "NEW"]
    assert len(new) == N and new["views"].eq(1).all() and new["orders"].eq(0).all()
    # without the catalogue only ordered products count
    (poisoned.path.parent / "products.csv").unlink()
    bare = store_purchases(poisoned.ibis(), poisoned.config, poisoned.path.parent)
    assert set(bare.frame["product_id"]) <= {f"P{i}" for i in range(P)}
    assert int(store_lines(poisoned.ibis()).count().execute()) == 3 * N


@pytest.mark.parametrize("model", ["popularity", "co_purchase", "ease", "als"])
def test_no_model_recommends_a_made_up_product(poisoned: Store, model: str) -> None:
    fit_store(
        poisoned.ibis(), poisoned.con, config=poisoned.config, store_dir=poisoned.path.parent, model=model
    )
    table = load_table(poisoned.con)
    assert table is not None
    shown = {i.product_id for items in table.lists.values() for i in items} | {
        i.product_id for i in table.popular
    }
    assert EVIL not in shown and shown
    assert shown <= {f"P{i}" for i in range(P)} | {"NEW"}


def test_recommendations_carry_the_catalogue_name_into_messages(poisoned: Store) -> None:
    fit_store(
        poisoned.ibis(),
        poisoned.con,
        config=poisoned.config,
        store_dir=poisoned.path.parent,
        model="co_purchase",
    )
    rec = recommend_for(poisoned.con, "c1", 3)
    assert rec.items and all(
        i.name == f"Product {i.product_id[1:]}" for i in rec.items if i.product_id != "NEW"
    )
    assert rec.to_dict()["items"][0]["name"] == rec.items[0].name
    got = _recommendations(recommend_for, poisoned.con, "c1")
    assert [g["name"] for g in got] == [i.name for i in rec.items]
    assert all(g["name"] != g["product_id"] for g in got)
    # a product the catalogue does not name is shown by its id
    (poisoned.path.parent / "products.csv").write_text("product_id,name\nNEW,New arrival\n", encoding="utf-8")
    fit_store(
        poisoned.ibis(),
        poisoned.con,
        config=poisoned.config,
        store_dir=poisoned.path.parent,
        model="co_purchase",
    )
    got = _recommendations(recommend_for, poisoned.con, "c1")
    assert got and all(g["name"] == g["product_id"] for g in got if g["product_id"] != "NEW")
