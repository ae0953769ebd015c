"""The shop's contact file, read at send time: where each customer can be reached.

The store keeps only keyed hashes of contact data (see :mod:`cxlab.privacy`), so addresses come from a file
the shop keeps (``[automate] contacts``): CSV, JSON Lines or Parquet, optionally gzipped, in any encoding the
store's readers accept (see :mod:`cxlab.store.sources`), with ``customer_id`` and any of ``email``, ``phone``,
``first_name`` (other columns are ignored). It is held in memory for one delivery run and never written to
the store.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from cxlab.automate.message import Contact
from cxlab.schema.tables import quote_ident
from cxlab.store.sources import SourceError, open_source

FIELDS = ("email", "phone", "first_name")
NO_FILE = "no contact file: set [automate] contacts"
CHANNEL_FIELD = {"email": ("email", "e-mail address"), "sms": ("phone", "phone number")}


_EMAIL = re.compile(r"<?[^\s<>()\[\]\\,;:\"']+@[^\s<>()\[\]\\,;:\"']+>?")
_PHONE = re.compile(r"\+?\d[\d ().\-/]{5,}\d")
NOT_ONE_ADDRESS = "contact e-mail is not a single valid address"


def redact(text: str) -> str:
    """``text`` with anything shaped like an e-mail address or a phone number (7+ digits) replaced, for error
    texts kept in the outbox, logs and reports (a server reply may echo the recipient)."""
    text = _EMAIL.sub("<address>", text)
    return _PHONE.sub(lambda m: "<number>" if sum(c.isdigit() for c in m[0]) >= 7 else m[0], text)


def single_address(raw: str) -> str:
    """The one address (``local@domain``) in a contact's e-mail field; a :class:`ValueError` (with no part of
    the address in its text) when it holds none, several, or a malformed one: one row is one recipient."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise ValueError(NOT_ONE_ADDRESS)
    try:
        header = email.policy.default.header_factory("To", raw)
        addresses = header.addresses
    except Exception as e:  # the parser's own errors on malformed input (e.g. "bob@")
        raise ValueError(NOT_ONE_ADDRESS) from e
    if header.defects or len(addresses) != 1 or not addresses[0].username or not addresses[0].domain:
        raise ValueError(NOT_ONE_ADDRESS)
    return str(addresses[0].addr_spec)


class ContactError(ValueError):
    """The contact file can't be used; the message names the file (and row or column)."""


@dataclass(frozen=True)
class ContactBook:
    """Contacts by customer id; ``source`` None: no file configured (every message then gives up)."""

    contacts: dict[str, Contact] = field(default_factory=dict)
    source: Path | None = None

    @classmethod
    def empty(cls) -> ContactBook:
        return cls()

    @classmethod
    def for_settings(cls, contacts: str | None, project_dir: Path) -> ContactBook:
        """The book for ``[automate] contacts`` (a path relative to the project folder), or an empty one."""
        if not contacts:
            return cls.empty()
        path = Path(contacts)
        return cls.from_file(path if path.is_absolute() else project_dir / path)

    @classmethod
    def from_file(cls, path: str | Path, *, encoding: str | None = None) -> ContactBook:
        """Read the contact file at ``path`` (columns matched case-insensitively; empty values are None).

        A missing ``customer_id`` column, a malformed row or a customer listed twice is a
        :class:`ContactError` naming the file and row."""
        path = Path(path)
        con = duckdb.connect()
        try:
            try:
                with open_source(con, path, encoding=encoding) as src:
                    by_lower = {c.strip().lower(): c for c in src.types}
                    if "customer_id" not in by_lower:
                        raise ContactError(
                            f"{path}: no customer_id column (found {', '.join(src.types) or 'none'}); "
                            "the contact file needs customer_id and any of email, phone, first_name"
                        )

                    def col(name: str) -> str:
                        c = by_lower.get(name)
                        return f"nullif(trim(CAST({quote_ident(c)} AS VARCHAR)), '')" if c else "NULL"

                    rows = con.execute(
                        f"SELECT row_number() OVER () - 1, {col('customer_id')}, "
                        f"{', '.join(col(f) for f in FIELDS)} FROM {src.sql}"
                    ).fetchall()
                    src.scanned()
                    if src.dropped:
                        d = src.dropped[0]
                        raise ContactError(f"{path}:{d.row}: {d.message}")
                    contacts: dict[str, Contact] = {}
                    first_row: dict[str, int] = {}
                    for index, cid, email, phone, first_name in rows:
                        if cid is None:
                            continue
                        n = src.row_number(int(index))
                        if cid in contacts:
                            raise ContactError(
                                f"{path}:{n}: customer {cid!r} is listed twice (first on row {first_row[cid]}); "
                                "keep one row per customer"
                            )
                        first_row[cid] = n
                        contacts[cid] = Contact(cid, email=email, phone=phone, first_name=first_name)
            except SourceError as e:
                raise ContactError(str(e)) from e
        finally:
            con.close()
        return cls(contacts, path)

    def get(self, customer_id: str) -> Contact | None:
        return self.contacts.get(str(customer_id))

    def missing(self, channel: str, contact: Contact | None) -> str | None:
        """Why a ``channel`` message can't reach ``contact`` (None: it can)."""
        if self.source is None:
            return NO_FILE
        attr, words = CHANNEL_FIELD.get(channel, (channel, channel))
        if contact is None or not getattr(contact, attr, None):
            return f"no {words} for this customer in the contact file"
        return None

    def __len__(self) -> int:
        return len(self.contacts)

    def __iter__(self) -> Iterator[Contact]:
        return iter(self.contacts.values())
