"""Which rows are about one customer (the data subject), in every table of the store.

Shared by erase and export, so both see exactly the same rows. A customer is found by id and, when given,
by the keyed hash of their e-mail or phone (so two accounts with one e-mail are one person). Their rows are:

- rows carrying one of their customer ids, in any table with a ``customer_id`` column (canonical tables,
  consent, exposures, and any derived table or outbox added later);
- rows of the anonymous ids linked to them (seen on an event together with their customer id) that carry no
  other customer's id. An anonymous id also seen with another customer (a shared device) is not theirs alone:
  its anonymous rows stay, only the rows with their customer id go;
- rows of their orders (``order_id``) and feedback (``feedback_id``) without another customer's id: feedback
  left as a guest on their order, the voice results per feedback row.

The ids are staged in temporary tables (in memory, never in the database file) for the engine to join.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from cxlab.journey import layout
from cxlab.privacy.keys import keyed, keyed_contact, sha256_hex
from cxlab.privacy.tables import AUDIT, TOMBSTONES
from cxlab.schema.tables import quote_ident
from cxlab.store.importers.common import derived_id

#: Tables never searched for a customer's rows: the privacy tables themselves (keyed hashes only), the ingest
#: log, fitted model heads (no per-customer rows), the embedding store (keyed by text, see erase) and the
#: journey layout (derived from ``events``, which are exported; erase drops it whole).
SKIP = frozenset({TOMBSTONES, AUDIT, "_cxlab_ingests", "voice_heads", "voice_embeddings", *layout.TABLES})
EMBEDDINGS = "voice_embeddings"

STAGE_CUSTOMERS = "_subject_customers"
STAGE_ANON = "_subject_anon"
STAGE_ORDERS = "_subject_orders"
STAGE_FEEDBACK = "_subject_feedback"


def normalise_email(email: str) -> str:
    """An e-mail as keyed: trimmed and lower-cased."""
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    """A phone number as keyed: only ``+`` and digits kept (E.164 when written with its country code)."""
    return "".join(c for c in phone if c.isdigit() or c == "+")


@dataclass(frozen=True)
class Subject:
    """One customer's identifiers in a store."""

    customer_id: str
    customer_ids: tuple[str, ...]
    """The given id and any other customer id found by e-mail or phone."""
    anonymous_ids: tuple[str, ...]
    """Anonymous ids linked to them alone."""
    contact_keys: tuple[tuple[str, str], ...]
    """(``email`` or ``phone``, stored contact key): given on the command line or stored on their rows."""
    derived_ids: tuple[str, ...] = ()
    """Ids importers derive from the given e-mail, stored or not: tombstoned, so a later import is refused."""


def contact_keys(secret: bytes, email: str | None, phone: str | None) -> list[tuple[str, str]]:
    """The keyed contact hashes of a given e-mail and phone (as :func:`keyed_contact` stores them)."""
    keys = []
    if email and normalise_email(email):
        keys.append(("email", keyed_contact(secret, normalise_email(email))))
    if phone and normalise_phone(phone):
        keys.append(("phone", keyed_contact(secret, normalise_phone(phone))))
    return keys


EMAIL_ID_PREFIXES = ("shopify_", "email_")
"""Prefixes of the customer ids importers derive from an e-mail (Shopify, GA4's e-mail user ids)."""


def email_ids(secret: bytes, email: str | None) -> list[str]:
    """The customer ids the importers derive from ``email``: keyed, and as a store from before keyed hashing
    holds them (so an e-mail finds that customer's rows even where no customers row holds the e-mail)."""
    if not email or not normalise_email(email):
        return []
    digest = sha256_hex(normalise_email(email))[:16]
    legacy = [prefix + digest for prefix in EMAIL_ID_PREFIXES]
    return [*(derived_id(secret, old) for old in legacy), *legacy]


def _column_set(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "WHERE c.table_schema = 'main' AND t.table_type = 'BASE TABLE' AND c.table_catalog = current_database()"
    ).fetchall()
    cols: dict[str, set[str]] = {}
    for table, column in rows:
        cols.setdefault(table, set()).add(column)
    return cols


def find(
    con: duckdb.DuckDBPyConnection,
    secret: bytes,
    customer_id: str,
    email: str | None = None,
    phone: str | None = None,
) -> Subject:
    """The customer's ids: ``customer_id``, customers with the given e-mail/phone (keyed, or plain SHA-256 in a
    store not migrated yet), and the anonymous ids linked to them alone."""
    given = contact_keys(secret, email, phone)
    lookup = [k for _, k in given]
    for value in (normalise_email(email) if email else None, normalise_phone(phone) if phone else None):
        if value:
            lookup.append(sha256_hex(value))
    derived = email_ids(secret, email)
    present = con.execute(
        "SELECT DISTINCT customer_id FROM (SELECT customer_id FROM events UNION ALL SELECT customer_id FROM orders "
        "UNION ALL SELECT customer_id FROM customers) WHERE customer_id IN (SELECT unnest(?)) ORDER BY 1",
        [derived],
    ).fetchall()
    ids = [customer_id, *(c for (c,) in present if c != customer_id)]
    stored: list[tuple[str, str]] = []
    rows = con.execute(
        "SELECT customer_id, email_hash, phone_hash FROM customers "
        "WHERE customer_id = ? OR email_hash IN (SELECT unnest(?)) OR phone_hash IN (SELECT unnest(?))",
        [customer_id, lookup, lookup],
    ).fetchall()
    for cid, email_hash, phone_hash in rows:
        if cid not in ids:
            ids.append(cid)
        stored += [(k, v) for k, v in (("email", email_hash), ("phone", phone_hash)) if v]
    anon = con.execute(
        "SELECT anonymous_id FROM events WHERE anonymous_id IN "
        "(SELECT anonymous_id FROM events WHERE customer_id IN (SELECT unnest(?)) AND anonymous_id IS NOT NULL) "
        "GROUP BY anonymous_id HAVING bool_and(customer_id IS NULL OR customer_id IN (SELECT unnest(?))) "
        "ORDER BY anonymous_id",
        [ids, ids],
    ).fetchall()
    keys = list(dict.fromkeys([*given, *stored]))
    return Subject(customer_id, tuple(ids), tuple(a for (a,) in anon), tuple(keys), tuple(derived))


def tombstone_keys(secret: bytes, subject: Subject) -> list[tuple[str, str]]:
    """(kind, key) of every tombstone the subject's erasure records: keyed ids and stored contact keys."""
    return [
        *(
            ("customer_id", keyed(secret, c))
            for c in dict.fromkeys([*subject.customer_ids, *subject.derived_ids])
        ),
        *(("anonymous_id", keyed(secret, a)) for a in subject.anonymous_ids),
        *subject.contact_keys,
    ]


def stage(con: duckdb.DuckDBPyConnection, subject: Subject) -> None:
    """Stage the subject's customer, anonymous, order and feedback ids as temporary tables."""
    for name, values in ((STAGE_CUSTOMERS, subject.customer_ids), (STAGE_ANON, subject.anonymous_ids)):
        con.register("_subject_ids", pa.table({"id": pa.array(values, pa.string())}))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT id FROM _subject_ids")
        con.unregister("_subject_ids")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE_ORDERS} AS SELECT DISTINCT order_id AS id FROM orders "
        f"WHERE customer_id IN (SELECT id FROM {STAGE_CUSTOMERS})"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE_FEEDBACK} AS SELECT DISTINCT feedback_id AS id FROM feedback "
        f"WHERE customer_id IN (SELECT id FROM {STAGE_CUSTOMERS}) "
        f"OR (customer_id IS NULL AND order_id IN (SELECT id FROM {STAGE_ORDERS}))"
    )


def unstage(con: duckdb.DuckDBPyConnection) -> None:
    for name in (STAGE_CUSTOMERS, STAGE_ANON, STAGE_ORDERS, STAGE_FEEDBACK):
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def predicates(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """SQL ``WHERE`` condition selecting the staged subject's rows, per table that can hold any."""
    out: dict[str, str] = {}
    for table, cols in _column_set(con).items():
        if table in SKIP:
            continue
        own = f"CAST(customer_id AS VARCHAR) IN (SELECT id FROM {STAGE_CUSTOMERS})"
        linked = [
            f"CAST({quote_ident(col)} AS VARCHAR) IN (SELECT id FROM {stage_})"
            for col, stage_ in (
                ("anonymous_id", STAGE_ANON),
                ("order_id", STAGE_ORDERS),
                ("feedback_id", STAGE_FEEDBACK),
            )
            if col in cols
        ]
        parts = [own] if "customer_id" in cols else []
        if linked:
            either = " OR ".join(linked)
            parts.append(f"(customer_id IS NULL AND ({either}))" if "customer_id" in cols else f"({either})")
        if parts:
            out[table] = " OR ".join(parts)
    return out
