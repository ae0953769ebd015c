"""The store's secret and keyed hashes (HMAC-SHA-256) of personal values.

An unsalted SHA-256 of a phone number or e-mail is clear text in disguise: every Dutch mobile number can be
hashed in minutes. cxlab stores contact fields as ``HMAC(secret, SHA-256(normalised value))`` with a secret
per store, kept outside the database file (``cxlab.secret`` beside it, mode 0600, or ``CXLAB_SECRET``). The
same customer maps to the same key within a store, so joins and dedup still work, while two stores (or a
plain SHA-256 table) can't be matched. Hashing the SHA-256 digest rather than the value lets a store that
holds plain SHA-256 digests from before be migrated without the clear values.

:func:`hmac_sql` computes the same HMAC inside DuckDB (from its ``sha256`` on blobs), so ingest keys millions
of rows in the engine; tests check it against Python's :mod:`hmac`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_NAME = "cxlab.secret"
SECRET_ENV = "CXLAB_SECRET"
_BLOCK = 64  # SHA-256 block size in bytes


class SecretError(ValueError):
    """The store's secret is missing or unreadable; the message says where it was looked for."""


def secret_path(db_path: str | Path) -> Path:
    """Where the secret of the store at ``db_path`` lives: ``cxlab.secret`` in the same folder."""
    return Path(db_path).parent / SECRET_NAME


def load_secret(db_path: str | Path, *, create: bool = False) -> bytes:
    """The store's secret: ``CXLAB_SECRET`` when set, else ``cxlab.secret`` beside the store (created with
    32 random bytes and mode 0600 when ``create`` and absent)."""
    env = os.environ.get(SECRET_ENV)
    if env:
        if len(env) < 32:
            raise SecretError(f"{SECRET_ENV}: the secret is too short (at least 32 characters)")
        return env.encode("utf-8")
    path = secret_path(db_path)
    if not path.exists():
        if not create:
            raise SecretError(
                f"{path}: no secret for this store (set {SECRET_ENV} or run `cxlab init` in its folder)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise SecretError(f"{path}: cannot read the store's secret: {e}") from e
    if len(text) < 32:
        raise SecretError(f"{path}: the secret is too short (expected 64 hex digits)")
    return text.encode("ascii")


def keyed(secret: bytes, message: str) -> str:
    """HMAC-SHA-256 of ``message`` (UTF-8) under ``secret``, as 64 lower-case hex digits."""
    return hmac.new(secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def keyed_contact(secret: bytes, normalised: str) -> str:
    """The stored key of a normalised contact value (e-mail, phone): ``HMAC(secret, SHA-256(value))``."""
    return keyed(secret, sha256_hex(normalised))


def _pads(secret: bytes) -> tuple[str, str]:
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()


def hmac_sql(secret: bytes, expr: str) -> str:
    """DuckDB SQL for :func:`keyed` of the text expression ``expr`` (NULL stays NULL)."""
    ipad, opad = _pads(secret)
    return f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode({expr}))))"


def keyed_contact_sql(secret: bytes, normalised_expr: str) -> str:
    """DuckDB SQL for :func:`keyed_contact` of a normalised text expression."""
    return hmac_sql(secret, f"sha256({normalised_expr})")
