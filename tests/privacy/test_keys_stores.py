"""Keyed contact hashes: ``cxlab init`` makes a private secret; two stores key the same e-mail differently."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.privacy.keys import SECRET_ENV, keyed_contact, load_secret
from cxlab.store import Store

runner = CliRunner()
FIXTURE = Path(__file__).parents[1] / "store" / "importers" / "fixtures" / "shopify_orders.csv"
ZOE = "zoe@example.com"


def imported(folder: Path) -> tuple[Path, dict[str, str]]:
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    db = folder / "cxlab.duckdb"
    r = runner.invoke(app, ["import", "shopify", str(FIXTURE), "--db", str(db)])
    assert r.exit_code == 0, r.output
    with Store(db, read_only=True) as store:
        return db, dict(store.con.execute("SELECT email_hash, customer_id FROM customers").fetchall())


def test_init_creates_a_private_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert runner.invoke(app, ["init", str(tmp_path / "shop")]).exit_code == 0
    path = tmp_path / "shop" / "cxlab.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64


def test_two_stores_key_the_same_email_differently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    db_a, a = imported(tmp_path / "a")
    db_b, b = imported(tmp_path / "b")
    zoe_a, zoe_b = keyed_contact(load_secret(db_a), ZOE), keyed_contact(load_secret(db_b), ZOE)
    assert zoe_a in a and zoe_b in b and zoe_a != zoe_b
    assert not set(a) & set(b) and not set(a.values()) & set(b.values())  # nothing joins across stores
    plain = hashlib.sha256(ZOE.encode()).hexdigest()
    assert plain not in a and not any(plain[:16] in c for c in a.values())
    # the same store keys the same e-mail the same way again: re-import is all duplicates
    r = runner.invoke(app, ["import", "shopify", str(FIXTURE), "--db", str(db_a), "--json"])
    assert r.exit_code == 0 and '"stored": 0' in r.stdout.replace("\n", "").replace("  ", " ")


def test_demo_stores_contact_data_keyed_with_the_store_secret(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from cxlab.demo import generate
    from cxlab.privacy.keys import keyed

    secret = b"a-demo-store-secret-of-32-bytes!"
    plain = generate(tmp_path / "plain", customers=300, seed=3)
    key = generate(tmp_path / "keyed", customers=300, seed=3, secret=secret)
    cols = ["customer_id", "email_hash", "phone_hash"]
    a = pq.read_table(plain.files["customers"][0], columns=cols).to_pylist()
    b = pq.read_table(key.files["customers"][0], columns=cols).to_pylist()
    assert len(a) == len(b) > 0
    for p, k in zip(a, b, strict=True):
        assert k["customer_id"] == p["customer_id"]
        # keyed_contact(secret, e) = HMAC(secret, SHA-256(e)): the keyed file holds HMACs of the plain digests
        assert k["email_hash"] == keyed(secret, p["email_hash"]) != p["email_hash"]
        assert k["phone_hash"] == (keyed(secret, p["phone_hash"]) if p["phone_hash"] else None)


def test_a_keyed_store_refuses_a_missing_or_other_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    db, _ = imported(tmp_path / "shop")
    erased = runner.invoke(app, ["privacy", "erase", "shopify_x", "--db", str(db)])
    assert erased.exit_code == 0, erased.output
    restored = tmp_path / "restored"
    restored.mkdir()
    for name in ("cxlab.duckdb", "cxlab.toml"):  # a restore that forgot cxlab.secret
        (restored / name).write_bytes((db.parent / name).read_bytes())
    r = runner.invoke(app, ["import", "shopify", str(FIXTURE), "--db", str(restored / "cxlab.duckdb")])
    assert r.exit_code == 2 and "missing" in r.stderr and "cxlab.secret" in r.stderr
    assert not (restored / "cxlab.secret").exists()  # no new secret made up silently
    monkeypatch.setenv(SECRET_ENV, "x" * 40)  # a stray secret that isn't this store's
    r = runner.invoke(app, ["import", "shopify", str(FIXTURE), "--db", str(db)])
    assert r.exit_code == 2 and "not the secret" in r.stderr
    monkeypatch.setenv(SECRET_ENV, "short")
    r = runner.invoke(app, ["import", "shopify", str(FIXTURE), "--db", str(db)])
    assert r.exit_code == 2 and "too short" in r.stderr
