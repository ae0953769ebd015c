"""The store's own privacy tables: tombstones of erased customers and the audit log.

Both hold keyed hashes only (see :mod:`cxlab.privacy.keys`), never a clear identifier.
"""

from __future__ import annotations

TOMBSTONES = "_cxlab_tombstones"
AUDIT = "_cxlab_audit"

TOMBSTONE_KINDS = ("customer_id", "anonymous_id", "order_id", "email", "phone")
"""What a tombstone's key is the keyed hash of: ``HMAC(secret, id)`` for customer, anonymous and order ids;
the stored contact key (``HMAC(secret, SHA-256(normalised value))``) for e-mail and phone."""

DDL = f"""CREATE TABLE IF NOT EXISTS {TOMBSTONES} (
  kind VARCHAR NOT NULL, key VARCHAR NOT NULL, ts TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS {AUDIT} (
  ts TIMESTAMP NOT NULL, action VARCHAR NOT NULL, actor VARCHAR, subject VARCHAR, rows BIGINT, detail VARCHAR
)"""
"""Created with the canonical tables on every writable open of a store."""
