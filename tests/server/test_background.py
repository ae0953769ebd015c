"""Work the server does by itself: feedback sent to the collector is analysed (language, sentiment) without a
CLI run, which the server's lock would refuse."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

import cxlab.server.app as server_app
from cxlab.personalize.store import fit_store
from cxlab.server.app import create_app
from cxlab.store import Store, init_project
from tests.server.conftest import add_keys, copy_store

TEXTS = [
    ("F1", "review", 5, "Snelle levering en heel vriendelijke service, top!"),
    ("F2", "review", 1, "The parcel arrived broken and nobody answered my e-mails."),
    ("F3", "nps", 9, "Sehr zufrieden mit der Bestellung, gerne wieder."),
]


def test_new_feedback_is_analysed_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_app, "VOICE_EVERY_S", 0.5)
    db = init_project(tmp_path / "shop")
    keys = add_keys(db)
    items = [
        {"feedback_id": f, "ts": "2025-03-01T10:00:00Z", "source": s, "score": sc, "text": t}
        for f, s, sc, t in TEXTS
    ]
    with TestClient(create_app(db, background=True)) as client:
        sent = client.post(
            "/v1/feedback", json={"batch": items}, headers={"Authorization": f"Bearer {keys['write']}"}
        )
        assert sent.status_code == 200, sent.text
        state = client.app.state.cx  # type: ignore[attr-defined]
        deadline = time.monotonic() + 90
        labelled: list[tuple[str, str, str]] = []
        while time.monotonic() < deadline and (
            len(labelled) < len(TEXTS) or any(r[2] is None for r in labelled)
        ):  # rows are stored first and labelled right after: wait for the labels too
            time.sleep(0.5)
            with state.scope() as cur:
                try:
                    labelled = cur.execute(
                        "SELECT f.feedback_id, v.language, v.label FROM feedback f "
                        "JOIN voice_texts v USING (feedback_id) ORDER BY 1"
                    ).fetchall()
                except duckdb.CatalogException:  # voice tables not created yet
                    labelled = []
    assert [r[0] for r in labelled] == ["F1", "F2", "F3"]
    assert [r[1] for r in labelled] == ["nl", "en", "de"]
    assert labelled[1][2] == "negative" and labelled[0][2] == "positive"


def test_recommendations_are_fitted_in_the_background_and_served(demo_db: Path, tmp_path: Path) -> None:
    """The CLI can't write to a served store, so the server fits the recommendations itself (at start and
    daily); the lookup endpoint then serves every buyer's list."""
    db = copy_store(demo_db, tmp_path / "store")
    keys = add_keys(db)
    with duckdb.connect(str(db), read_only=True) as con:
        (buyer,) = con.execute("SELECT min(customer_id) FROM orders WHERE customer_id IS NOT NULL").fetchone()
    read = {"Authorization": f"Bearer {keys['read']}"}
    with TestClient(create_app(db, background=True)) as client:
        deadline = time.monotonic() + 120
        r = client.get(f"/v1/recommendations/{buyer}?k=5", headers=read)
        while r.status_code == 404 and time.monotonic() < deadline:
            time.sleep(1)
            r = client.get(f"/v1/recommendations/{buyer}?k=5", headers=read)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer_id"] == buyer and 1 <= len(body["items"]) <= 5
    assert all(i["reason"] for i in body["items"])


def test_fresh_recommendations_are_not_refitted_at_restart(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart within a day of the last fit keeps the stored lists (the fit is the slow part of a start); a
    store without lists gets them fitted."""
    refits: list[Path] = []
    checked = threading.Event()
    age = server_app._recommendations_age_s

    def checking(state: Any) -> float | None:
        try:
            return age(state)
        finally:
            checked.set()

    monkeypatch.setattr(server_app, "_recommendations_age_s", checking)
    monkeypatch.setattr(server_app, "_refit_recommendations", lambda state: refits.append(state.db_path))
    for name, fitted in (("fresh", True), ("none", False)):
        db = copy_store(demo_db, tmp_path / name)
        if fitted:
            with Store(db) as s:
                fit_store(s.ibis(), s.con, config=s.config, store_dir=s.path.parent)
        checked.clear()
        with TestClient(create_app(db, background=True)):
            assert checked.wait(60)
            time.sleep(0.5)  # the decision right after the check
        assert (db in refits) is not fitted, name
