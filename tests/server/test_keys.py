"""API keys: shown once, stored hashed, roles enforced (401/403), revocation immediate."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import duckdb

from cxlab.store import init_project
from tests.server.conftest import Served, add_keys
from tests.server.live import CXLAB, serving


def test_keys_are_stored_only_as_hashes(tmp_path: Path) -> None:
    db = init_project(tmp_path)
    keys = add_keys(db)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT id, hash FROM _cxlab_keys").fetchall()
    con.close()
    stored = {h for _, h in rows}
    for key in keys.values():
        assert key not in str(rows)
        assert hashlib.sha256(key.encode()).hexdigest() in stored


def test_roles(empty_served: Served) -> None:
    c = empty_served.client
    assert c.get("/v1/keys").status_code == 401
    assert (
        c.get("/v1/keys", headers={"Authorization": "Bearer cxk_000000000000_" + "x" * 43}).status_code == 401
    )
    assert c.get("/v1/keys", headers=empty_served.auth("read")).status_code == 403
    assert c.get("/v1/keys", headers=empty_served.auth("write")).status_code == 403
    listed = c.get("/v1/keys", headers=empty_served.auth("admin")).json()
    assert {k["role"] for k in listed} == {"read", "write", "admin", "browser"}
    assert all("key" not in k and "hash" not in k for k in listed)


def test_revoked_key_fails_at_once(empty_served: Served) -> None:
    c, admin = empty_served.client, empty_served.auth("admin")
    made = c.post("/v1/keys", json={"role": "admin", "name": "temp"}, headers=admin)
    assert made.status_code == 201
    new = {"Authorization": f"Bearer {made.json()['key']}"}
    assert c.get("/v1/keys", headers=new).status_code == 200
    assert c.delete(f"/v1/keys/{made.json()['id']}", headers=admin).json()["revoked"] is not None
    assert c.get("/v1/keys", headers=new).status_code == 401
    assert c.delete("/v1/keys/nosuchkey", headers=admin).status_code == 404


def test_keys_cli_and_a_command_on_a_served_store(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    subprocess.run([*CXLAB, "init", "--db", str(db)], check=True, capture_output=True)
    made = subprocess.run(
        [*CXLAB, "keys", "create", "--role", "write", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    doc = json.loads(made.stdout)
    assert doc["role"] == "write" and doc["key"].startswith("cxk_")
    bad = subprocess.run(
        [*CXLAB, "keys", "create", "--role", "owner", "--db", str(db)], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "role" in bad.stderr
    with serving(db) as url:
        held = subprocess.run([*CXLAB, "status", "--db", str(db)], capture_output=True, text=True, timeout=60)
        assert held.returncode == 2
        assert url in held.stderr and "Traceback" not in held.stderr
        assert len(held.stderr.strip().splitlines()) == 1
    listed = subprocess.run(
        [*CXLAB, "keys", "list", "--db", str(db), "--json"], capture_output=True, text=True
    )
    assert [k["id"] for k in json.loads(listed.stdout)["keys"]] == [doc["id"]]
    revoked = subprocess.run(
        [*CXLAB, "keys", "revoke", doc["id"], "--db", str(db), "--json"], capture_output=True, text=True
    )
    assert json.loads(revoked.stdout)["revoked"] is not None
