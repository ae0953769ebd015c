"""Orders in one reporting currency: converted with [shop.rates], left out (and said) without a rate."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlab.config import Config, ConfigError, default_toml
from cxlab.currency import shop_orders
from cxlab.store import Store

ORDERS = """INSERT INTO orders (order_id, customer_id, ts, revenue, currency, discount, items) VALUES
 ('o1', 'a', '2024-01-01', 100, 'EUR', 5, [{'product_id': 'p1', 'quantity': 1, 'price': 100.0}]),
 ('o2', 'a', '2024-01-02', 50, 'GBP', 0, [{'product_id': 'p2', 'quantity': 2, 'price': 25.0}]),
 ('o3', 'b', '2024-01-03', 200, 'DKK', NULL, NULL)"""


def _config(rates: str = "") -> Config:
    text = default_toml()
    return Config.parse_toml(text.replace("[journey]", f"{rates}\n[journey]", 1) if rates else text)


@pytest.fixture
def mixed(tmp_path: Path) -> Store:
    s = Store(tmp_path / "cxlab.duckdb")
    s.con.execute(ORDERS)
    return s


def test_converts_with_rates_and_leaves_out_the_rest(mixed: Store) -> None:
    res = shop_orders(mixed.ibis(), _config("[shop.rates]\nGBP = 1.2"))
    t = res.table.order_by("order_id").execute()
    assert res.currency == "EUR"
    assert list(t["order_id"]) == ["o1", "o2"]
    assert list(t["revenue"]) == pytest.approx([100.0, 60.0])
    assert list(t["currency"]) == ["EUR", "EUR"]
    assert t["items"][1][0]["price"] == pytest.approx(30.0)
    assert res.left_out == 1
    assert any("1 orders in GBP" in n and "1.2" in n for n in res.notes)
    assert any("DKK" in n and "[shop.rates]" in n for n in res.notes)


def test_without_rates_only_the_shop_currency_counts(mixed: Store) -> None:
    res = shop_orders(mixed.ibis(), _config())
    assert res.table.count().execute() == 1
    assert res.left_out == 2
    (note,) = res.notes
    assert "GBP (GBP 50)" in note and "DKK (DKK 200)" in note


def test_one_foreign_currency_is_reported_as_itself(tmp_path: Path) -> None:
    with Store(tmp_path / "gb.duckdb") as s:
        s.con.execute(
            "INSERT INTO orders (order_id, customer_id, ts, revenue, currency) VALUES "
            "('1', 'a', '2010-12-01', 15.3, 'GBP'), ('2', 'b', '2010-12-01', 20, 'GBP')"
        )
        res = shop_orders(s.ibis(), _config())
        assert res.currency == "GBP"
        assert res.table.revenue.sum().execute() == pytest.approx(35.3)
        assert res.left_out == 0
        assert "reported in GBP" in res.notes[0]


def test_single_currency_store_has_no_notes(store: Store) -> None:
    store.con.execute(
        "INSERT INTO orders (order_id, customer_id, ts, revenue, currency) VALUES ('1', 'a', '2024-01-01', 1, 'EUR')"
    )
    res = shop_orders(store.ibis(), _config())
    assert (res.currency, res.notes, res.left_out) == ("EUR", [], 0)


@pytest.mark.parametrize(
    "rates", ["[shop.rates]\ngbp = 1.2", "[shop.rates]\nGBP = 0", "[shop.rates]\nGBP = -1"]
)
def test_bad_rates_are_config_errors(rates: str) -> None:
    with pytest.raises(ConfigError, match="rates"):
        _config(rates)
