"""Exclusions (already bought, repeat buys, blocked, out of stock), diversity and reasons on hand-built
stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from rec_helpers import Order, orders_store

from cxlab.personalize.data import settings_of, store_purchases
from cxlab.personalize.models import MODELS, CoPurchase, Popularity, make_model
from cxlab.store import Store

CATALOG = """product_id,name,category,in_stock
A,Cloud Coat,coats,true
B,Wool Scarf,accessories,true
C,Felt Hat,accessories,true
D,Olive Soap,care,true
E,Old Boot,shoes,true
F,Rain Boot,shoes,false
G,Linen Coat,coats,true
H,Silk Scarf,accessories,true
"""


def shop() -> list[Order]:
    orders: list[Order] = []
    for i in range(7):  # coat and scarf bought together by 7 customers
        orders.append((f"ab{i}", f"pair{i}", 1 + i, ["A", "B"], "paid"))
    for i in range(9):  # soap, bought again and again
        orders += [(f"d{i}a", f"soap{i}", 2, ["D"], "paid"), (f"d{i}b", f"soap{i}", 30, ["D"], "paid")]
    for i in range(12):  # popular, but blocked / out of stock
        orders.append((f"e{i}", f"boot{i}", 3, ["E", "F"], "paid"))
    for i in range(8):
        orders.append((f"c{i}", f"hat{i}", 4, ["C", "H"], "paid"))
    for i in range(3):
        orders.append((f"g{i}", f"linen{i}", 4, ["G"], "paid"))
    orders.append(("x1", "x", 5, ["A"], "paid"))  # bought the coat only: the scarf goes with it
    orders.append(("y1", "y", 5, ["D", "A"], "paid"))
    orders.append(("r1", "refunder", 6, ["C"], "refunded"))  # left out
    orders.append(("guest1", None, 6, ["C"], "paid"))  # a guest: left out
    return orders


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = orders_store(tmp_path, shop(), '[personalize]\nexclude = ["E"]\nmax_per_category = 0.4')
    (tmp_path / "products.csv").write_text(CATALOG, encoding="utf-8")
    return db


def purchases(db: Path):  # type: ignore[no-untyped-def]
    with Store(db, read_only=True) as s:
        return store_purchases(s.ibis(), s.config, s.path.parent)


def test_data_leaves_out_guests_and_refunds(store: Path) -> None:
    p = purchases(store)
    assert "refunder" not in set(p.frame["customer_id"])
    assert p.frame["customer_id"].notna().all()
    assert p.repeat_products() == {"D"}  # 10 buyers, 9 of them in 2 orders
    assert p.blocked() == {"E", "F"}  # E by config, F out of stock


@pytest.mark.parametrize("name", list(MODELS))
def test_exclusions_hold_for_every_model(store: Path, name: str) -> None:
    m = make_model(name).fit(purchases(store))
    for c, items in zip(
        ["x", "y", "pair0", "nobody"], m.recommend(["x", "y", "pair0", "nobody"], 8), strict=True
    ):
        ids = [i.product_id for i in items]
        assert "E" not in ids and "F" not in ids, (name, c, ids)
        assert len(ids) == len(set(ids))
        if c == "x":
            assert "A" not in ids
        if c == "pair0":
            assert "A" not in ids and "B" not in ids
        assert all(i.reason for i in items)


def test_repeat_buy_may_come_back(store: Path) -> None:
    m = Popularity().fit(purchases(store))
    (items,) = m.recommend(["y"], 3, diversity=False)
    ids = [i.product_id for i in items]
    assert ids[0] == "D"  # the most bought product, a repeat buy: not excluded although y bought it
    assert "A" not in ids
    assert items[0].reason == "a repeat buy: you bought it in 1 order"


def test_reason_names_the_co_purchased_product_and_count(store: Path) -> None:
    m = CoPurchase().fit(purchases(store))
    (items,) = m.recommend(["x"], 3)
    assert items[0].product_id == "B"
    assert items[0].reason == "bought together with Cloud Coat by 7 customers"  # x bought A alone


def test_unknown_customer_gets_popularity(store: Path) -> None:
    m = CoPurchase().fit(purchases(store))
    (items,) = m.recommend(["nobody"], 2, diversity=False)
    assert [i.product_id for i in items] == ["D", "A"]  # 10 and 9 buyers; E and F blocked
    assert items[0].reason == "popular in care: bought by 10 customers"


def test_diversity_caps_each_category(store: Path) -> None:
    m = Popularity().fit(purchases(store))
    (plain,) = m.recommend(["nobody"], 5, diversity=False)
    (diverse,) = m.recommend(["nobody"], 5)
    assert [i.product_id for i in plain] == ["D", "A", "C", "H", "B"]  # three accessories
    assert [i.product_id for i in diverse] == ["D", "A", "C", "H", "G"]  # at most ceil(5 × 0.4) = 2


def test_settings_errors_name_the_field(tmp_path: Path) -> None:
    from cxlab.config import Config, ConfigError

    cfg = Config.default()
    cfg.__pydantic_extra__ = {"personalize": {"view_weight": 3}}
    with pytest.raises(ConfigError, match=r"personalize\.view_weight"):
        settings_of(cfg)


def test_catalog_errors_name_file_row_and_field(tmp_path: Path) -> None:
    from cxlab.personalize.data import read_catalog

    f = tmp_path / "products.csv"
    f.write_text("product_id,name,repeat\nA,Coat,false\nB,Soap,sometimes\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"products\.csv:3: repeat: not true/false \('sometimes'\)"):
        read_catalog(f)
    f.write_text("sku,name\nA,Coat\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column product_id"):
        read_catalog(f)
    f.write_text("product_id,name\nA,Coat\nA,Cape\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"products\.csv:3: product_id: listed twice"):
        read_catalog(f)


def test_configured_catalog_must_exist(tmp_path: Path) -> None:
    db = orders_store(tmp_path, shop(), '[personalize]\ncatalog = "missing.csv"')
    with pytest.raises(FileNotFoundError, match=r"personalize\.catalog: .*missing\.csv"):
        purchases(db)
