"""What the running server holds: the store (it is the store's one writer), the keys, the store's version and
the cache of analysis results per version, and the filtered read scopes that requests run analyses in.

Filters (date range, channel, country) are applied the way the analyses can't tell: a request's cursor gets
temporary views named like the canonical tables (``events`` → the filtered rows of ``<db>.main.events``), so
every analysis, in Ibis or in SQL, reads the filtered store through the same code as the CLI.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from cxlab.server.keys import KeyRing
from cxlab.server.sessions import Sessions
from cxlab.store import Store, served
from cxlab.store.filters import Filters, restrict

T = TypeVar("T")


@dataclass
class _Entry:
    version: int
    value: Any
    at: float
    refreshing: bool = False


class ResultCache:
    """Analysis results per request, tagged with the store version they were computed on.

    A result of an older version is stale (new data arrived). Strict callers (the read API) recompute it; the
    dashboard may take the stale result at once while it is recomputed in the background (``stale_ok``), so a
    page stays fast while events stream in and shows the newer figures on the next load."""

    def __init__(self, size: int = 256):
        self._size = size
        self._items: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _store(self, key: Hashable, version: int, value: Any) -> None:
        with self._lock:
            self._items[key] = _Entry(version, value, time.time())
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: Hashable, version: int, compute: Callable[[], T], stale_ok: bool = False) -> T:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
            fresh = entry is not None and entry.version == version
            refresh = entry is not None and not fresh and stale_ok and not entry.refreshing
            if refresh and entry is not None:
                entry.refreshing = True
        if fresh and entry is not None:
            return entry.value
        if stale_ok and entry is not None:
            if refresh:
                threading.Thread(target=self._refresh, args=(key, version, compute), daemon=True).start()
            return entry.value
        value = compute()
        self._store(key, version, value)
        return value

    def _refresh(self, key: Hashable, version: int, compute: Callable[[], Any]) -> None:
        try:
            self._store(key, version, compute())
        except Exception:  # the stale result stays; the next strict read reports the error
            with self._lock:
                entry = self._items.get(key)
                if entry is not None:
                    entry.refreshing = False

    def age(self, key: Hashable) -> tuple[int, float] | None:
        """(store version, seconds since computed) of the kept result for ``key``, if any."""
        with self._lock:
            entry = self._items.get(key)
        return (entry.version, time.time() - entry.at) if entry is not None else None


class ServerState:
    """The served store and everything requests share."""

    def __init__(self, db_path: str | Path, url: str):
        self.db_path = Path(db_path)
        self.url = url
        self.store = Store(self.db_path)
        self.store.secret  # noqa: B018 - fail at start, not on the first request, if the secret is wrong
        self.config = self.store.config
        self.keys = KeyRing(self.cursor())
        self.sessions = Sessions()
        self.collector: Any = None
        """The collector's writer (:class:`cxlab.server.collector.Collector`), set at startup."""
        self.cache = ResultCache()
        self._version = 0
        self._version_lock = threading.Lock()
        self._reading: set[duckdb.DuckDBPyConnection] = set()
        self._readers = threading.Condition()
        self._closing = False
        (self._db,) = self.store.con.execute("SELECT current_database()").fetchone() or ("",)

    @property
    def version(self) -> int:
        """Bumped by every commit the server makes: cached results of an older version are stale."""
        return self._version

    def bump(self) -> None:
        with self._version_lock:
            self._version += 1

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the served store (thread-safe to use from one thread at a time)."""
        return self.store.con.cursor()

    @contextmanager
    def scope(self, filters: Filters | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read cursor with ``filters`` applied; analyses that open the served store inside use it."""
        with self._readers:
            if self._closing:
                raise duckdb.ConnectionException("the server is stopping")
            cur = self.cursor()
            self._reading.add(cur)
        try:
            restrict(cur, filters or Filters(), self._db)
            with served.scoped(cur):
                yield cur
        finally:
            with self._readers:  # off the list before it closes: close() must not interrupt a closed cursor
                self._reading.discard(cur)
                self._readers.notify_all()
            cur.close()

    def cached(
        self, name: Hashable, filters: Filters | None, compute: Callable[[], T], *, stale_ok: bool = False
    ) -> T:
        """``compute()`` once per store version, name and filters; with ``stale_ok`` an older version's result is
        returned at once while the current one is computed in the background (see :class:`ResultCache`)."""
        return self.cache.get((name, filters or Filters()), self.version, compute, stale_ok=stale_ok)

    def staleness(self, name: Hashable, filters: Filters | None) -> tuple[int, float] | None:
        """How many commits behind, and how old (s), the kept result of ``name`` is; None when none is kept."""
        age = self.cache.age((name, filters or Filters()))
        return (self.version - age[0], age[1]) if age is not None else None

    def close(self, wait_s: float = 10.0) -> bool:
        """Stop reads (running queries of requests and background refreshes are interrupted), then close the
        store. Returns False, leaving the store open, when a read still runs after ``wait_s`` (an analysis busy
        in Python): closing DuckDB under it would abort the process. What the server acknowledged is committed
        either way, so the process may then simply exit."""
        with self._readers:
            self._closing = True
            for cur in self._reading:
                with suppress(duckdb.Error):
                    cur.interrupt()
            idle = self._readers.wait_for(lambda: not self._reading, timeout=wait_s)
        served.withdraw(self.db_path)
        if idle:
            self.store.close()
        return idle
