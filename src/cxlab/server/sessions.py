"""Dashboard sessions: a random token in an HttpOnly, SameSite=Strict cookie, mapped in memory to the key that
logged in, with a CSRF token for the session's forms. A revoked key ends its sessions at once (the key is
checked on every request); a restart logs everyone out."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

SESSION_HOURS = 12


@dataclass(frozen=True)
class Session:
    key_id: str
    csrf: str
    expires: float


class Sessions:
    """The live sessions of this server process."""

    def __init__(self, hours: float = SESSION_HOURS):
        self._ttl = hours * 3600
        self._items: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, key_id: str) -> tuple[str, Session]:
        """A new session for ``key_id``: (cookie token, session)."""
        token = secrets.token_urlsafe(32)
        s = Session(key_id, secrets.token_urlsafe(32), time.time() + self._ttl)
        with self._lock:
            self._items = {t: v for t, v in self._items.items() if v.expires > time.time()}
            self._items[token] = s
        return token, s

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            s = self._items.get(token)
        return s if s is not None and s.expires > time.time() else None

    def close(self, token: str | None) -> None:
        with self._lock:
            self._items.pop(token or "", None)
