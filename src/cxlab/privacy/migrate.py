"""Re-key a store made before keyed hashing: plain SHA-256 contact hashes and ids → keyed (HMAC) values.

Contact keys are ``HMAC(secret, SHA-256(value))`` (:func:`cxlab.privacy.keys.keyed_contact`), so a stored
plain digest becomes its keyed value without the clear e-mail or phone. Ids derived from e-mails
(``shopify_`` / ``email_`` + 16 hex digits of a SHA-256) become ``prefix`` + 16 hex digits of the keyed hash
of the old id, as the importers now derive them (:func:`cxlab.store.importers.common.derived_id`), in every
canonical table that holds ``customer_id``. All in one transaction, with an audit entry; a marker in
``_cxlab_meta`` says the store is keyed (stores created since are marked at creation), so it runs once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from cxlab.privacy import audit
from cxlab.privacy.keys import hmac_sql
from cxlab.schema.tables import TABLES, quote_ident

META = "_cxlab_meta"
META_DDL = f"CREATE TABLE IF NOT EXISTS {META} (key VARCHAR NOT NULL, value VARCHAR)"
"""Facts about the store itself (``contact_keys`` = ``keyed`` once its contact data is keyed)."""
KEYED_MARK = ("contact_keys", "keyed")

LEGACY_ID_RE = "(shopify|email)_[0-9a-f]{16}"
"""Ids the importers derived from an e-mail's plain SHA-256 before keyed hashing."""
CONTACT_COLUMNS = ("email_hash", "phone_hash")


class MigrateError(ValueError):
    """The store can't be migrated (already keyed); nothing was changed."""


@dataclass
class MigrateResult:
    """Rows changed per ``table.column``."""

    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def is_keyed(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store's contact data is already keyed (created keyed, or migrated)."""
    con.execute(META_DDL)
    return bool(con.execute(f"SELECT 1 FROM {META} WHERE key = ? AND value = ?", list(KEYED_MARK)).fetchall())


def mark_keyed(con: duckdb.DuckDBPyConnection) -> None:
    """Record that the store's contact data is keyed."""
    con.execute(META_DDL)
    con.execute(f"DELETE FROM {META} WHERE key = ?", [KEYED_MARK[0]])
    con.execute(f"INSERT INTO {META} VALUES (?, ?)", list(KEYED_MARK))


def migrate_keys(con: duckdb.DuckDBPyConnection, secret: bytes) -> MigrateResult:
    """Re-key the store's plain SHA-256 contact hashes and e-mail-derived ids with ``secret``.

    Raises :class:`MigrateError` when the store is already keyed."""
    if is_keyed(con):
        raise MigrateError(
            "the store's contact data is already keyed (migrate-keys ran, or it was created keyed)"
        )
    result = MigrateResult()
    new_id = f"split_part(customer_id, '_', 1) || '_' || left({hmac_sql(secret, 'customer_id')}, 16)"
    con.execute("BEGIN TRANSACTION")
    try:
        for spec in TABLES.values():
            if "customer_id" in spec.column_names:
                result.rows[f"{spec.name}.customer_id"] = _update(
                    con,
                    spec.name,
                    f"customer_id = {new_id}",
                    f"regexp_full_match(customer_id, '{LEGACY_ID_RE}')",
                )
        for col in CONTACT_COLUMNS:
            c = quote_ident(col)
            result.rows[f"customers.{col}"] = _update(
                con, "customers", f"{c} = {hmac_sql(secret, c)}", f"{c} IS NOT NULL"
            )
        from cxlab.journey import layout

        layout.drop(con)  # its people and links hold the ids from before: rebuilt from the keyed ones
        mark_keyed(con)
        audit.record(con, "migrate", rows=result.total, detail={"keyed": True, "rows": result.rows})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def _update(con: duckdb.DuckDBPyConnection, table: str, assign: str, where: str) -> int:
    row = con.execute(f"UPDATE {quote_ident(table)} SET {assign} WHERE {where}").fetchone()
    return int(row[0]) if row else 0
