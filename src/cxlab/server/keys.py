"""API keys of a served store: created once and shown once, kept only as a SHA-256 hash, checked in constant time.

A key reads ``cxk_<id>_<secret>``: the id finds its row without scanning, the hash of the whole key is compared
with :func:`hmac.compare_digest`. Roles: ``write`` sends data, ``read`` reads analyses and the dashboard,
``admin`` does both and manages keys, ``browser`` is the public key of the page snippet: it may send events and
identify links only (never orders, feedback or consent), and is the only kind accepted in a URL (``?key=``). Creating and revoking keys is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from cxlab.privacy import audit

Role = Literal["write", "read", "admin", "browser"]
ROLES: tuple[Role, ...] = ("write", "read", "admin", "browser")
KEYS = "_cxlab_keys"
DDL = f"""CREATE TABLE IF NOT EXISTS {KEYS} (
  id VARCHAR PRIMARY KEY, name VARCHAR, role VARCHAR NOT NULL, hash VARCHAR NOT NULL,
  created TIMESTAMP NOT NULL, revoked TIMESTAMP
)"""
_KEY = re.compile(r"cxk_([0-9a-f]{12})_[A-Za-z0-9_-]{20,64}")
_DUMMY = hashlib.sha256(b"no such key").hexdigest()


class KeysError(ValueError):
    """A key operation on bad input (unknown role, unknown key id)."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    name: str | None
    role: Role
    created: dt.datetime
    revoked: dt.datetime | None

    def allows(self, role: Role) -> bool:
        """Whether this key may act as ``role`` (admin may do everything)."""
        return self.revoked is None and (self.role == role or self.role == "admin")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created": self.created.isoformat(),
            "revoked": self.revoked.isoformat() if self.revoked else None,
        }


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def create(con: duckdb.DuckDBPyConnection, role: str, name: str | None = None) -> tuple[str, ApiKey]:
    """A new key of ``role``: returns (the key, shown only now; its stored record)."""
    if role not in ROLES:
        raise KeysError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    con.execute(DDL)
    key_id = secrets.token_hex(6)
    key = f"cxk_{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(key_id, name, role, _now(), None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"INSERT INTO {KEYS} VALUES (?, ?, ?, ?, ?, NULL)",
            [key_id, name, role, _hash(key), record.created],
        )
        audit.record(con, "key", detail={"created": key_id, "role": role, "name": name})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return key, record


def _rows(con: duckdb.DuckDBPyConnection, where: str = "", params: list[Any] | None = None) -> list[tuple]:
    con.execute(DDL)
    return con.execute(
        f"SELECT id, name, role, created, revoked, hash FROM {KEYS} {where} ORDER BY created, id",
        params or [],
    ).fetchall()


def list_keys(con: duckdb.DuckDBPyConnection) -> list[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    return [ApiKey(*r[:5]) for r in _rows(con)]


def revoke(con: duckdb.DuckDBPyConnection, key_id: str) -> ApiKey:
    """Revoke a key by its id (the ``cxk_<id>_`` part); revoking twice keeps the first date."""
    found = _rows(con, "WHERE id = ?", [key_id])
    if not found:
        raise KeysError(f"no key with id {key_id!r} (see `cxlab keys list`)")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"UPDATE {KEYS} SET revoked = coalesce(revoked, ?) WHERE id = ?", [_now(), key_id])
        audit.record(con, "key", detail={"revoked": key_id})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return ApiKey(*_rows(con, "WHERE id = ?", [key_id])[0][:5])


class KeyRing:
    """The server's in-memory view of the keys table: verify without a query, revoke at once."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._by_id = {r[0]: (ApiKey(*r[:5]), r[5]) for r in _rows(con)}

    def put(self, record: ApiKey, key: str) -> None:
        self._by_id[record.id] = (record, _hash(key))

    def replace(self, record: ApiKey) -> None:
        _, h = self._by_id[record.id]
        self._by_id[record.id] = (record, h)

    def records(self) -> list[ApiKey]:
        """Every key, oldest first."""
        return sorted((r for r, _ in self._by_id.values()), key=lambda r: (r.created, r.id))

    def get(self, key_id: str) -> ApiKey | None:
        """The live (not revoked) key with this id."""
        found = self._by_id.get(key_id)
        return found[0] if found is not None and found[0].revoked is None else None

    def verify(self, key: str | None) -> ApiKey | None:
        """The live key record for ``key``, or None (unknown, malformed or revoked)."""
        m = _KEY.fullmatch(key or "")
        found = self._by_id.get(m.group(1)) if m else None
        ok = hmac.compare_digest(_hash(key or ""), found[1] if found else _DUMMY)
        if not ok or found is None or found[0].revoked is not None:
            return None
        return found[0]
