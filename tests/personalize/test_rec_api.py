"""``GET /v1/recommendations/{customer_id}``: keys, the precomputed lists, popularity for strangers."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rec_helpers import orders_store
from test_rec_models import CATALOG, shop

from cxlab.personalize.api import router
from cxlab.personalize.store import fit_store
from cxlab.server.app import create_app
from cxlab.store import Store
from tests.server.conftest import add_keys


def client_for(db: Path) -> TestClient:
    app = create_app(db)
    app.include_router(router)  # the lead mounts it in cxlab.server.app
    return TestClient(app)


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    db = orders_store(tmp_path / "shop", shop(), '[personalize]\nexclude = ["E"]')
    (tmp_path / "shop" / "products.csv").write_text(CATALOG, encoding="utf-8")
    return db


def test_endpoint(shop_db: Path) -> None:
    with Store(shop_db) as s:
        fit_store(s.ibis(), s.con, config=s.config, store_dir=s.path.parent, model="co_purchase", k=5)
    keys = add_keys(shop_db)
    with client_for(shop_db) as c:
        assert c.get("/v1/recommendations/x").status_code == 401
        assert c.get("/v1/recommendations/x", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert (
            c.get("/v1/recommendations/x", headers={"Authorization": f"Bearer {keys['write']}"}).status_code
            == 403
        )
        auth = {"Authorization": f"Bearer {keys['read']}"}
        r = c.get("/v1/recommendations/x", params={"k": 2}, headers=auth)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["customer_id"] == "x" and doc["source"] == "table" and doc["model"] == "co_purchase"
        assert len(doc["items"]) == 2
        assert doc["items"][0]["product_id"] == "B"
        assert doc["items"][0]["reason"] == "bought together with Cloud Coat by 7 customers"
        r = c.get("/v1/recommendations/someone%20new", headers=auth)
        assert r.status_code == 200
        doc = r.json()
        assert doc["source"] == "popularity" and doc["customer_id"] == "someone new"
        assert doc["items"][0]["product_id"] == "D"
        assert doc["items"][0]["reason"].startswith("no purchases known for this customer")
        assert c.get("/v1/recommendations/x", params={"k": 0}, headers=auth).status_code == 422


def test_endpoint_without_a_fit_says_what_to_do(shop_db: Path) -> None:
    keys = add_keys(shop_db)
    with client_for(shop_db) as c:
        r = c.get("/v1/recommendations/x", headers={"Authorization": f"Bearer {keys['read']}"})
    assert r.status_code == 404 and "cxlab recommend fit" in r.json()["detail"]
