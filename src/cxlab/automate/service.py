"""The flows inside ``cxlab serve``: while the server holds the store (its one writer), ``cxlab flows run``
can't open it, so the server runs the rounds itself, when ``[automate] serve = true`` says so (sending is
never a side effect of starting the server).

:class:`FlowRunner` is a daemon thread that runs :func:`cxlab.automate.run.run_once` every ``[automate]
every`` on its own cursor of the server's connection (the collector keeps writing meanwhile: the round's
transactions are short, and the network calls of delivery happen outside any transaction). A round that
changed something bumps the server's store version, so cached analyses are recomputed. A failing round is
logged and the next one tries again; it never stops the server.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from cxlab.automate.flows import automate_settings, load_flows, parse_delay
from cxlab.store import Store

if TYPE_CHECKING:
    from cxlab.automate.run import RunResult
    from cxlab.server.state import ServerState

log = logging.getLogger(__name__)


class FlowRunner:
    """Runs the flows of the served store every ``[automate] every`` until :meth:`stop`."""

    def __init__(self, state: ServerState, every_s: float | None = None):
        self.state = state
        settings = automate_settings(state.config)
        self.every_s = every_s if every_s is not None else parse_delay(settings.every).total_seconds()
        self.rounds = 0
        self.failures = 0
        self.last: RunResult | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def wanted(state: ServerState) -> bool:
        """Whether the server should send: ``[automate] serve = true`` AND an enabled flow is declared (a bad
        declaration is logged, not raised). Declaring a flow alone never makes ``cxlab serve`` send."""
        try:
            if not automate_settings(state.config).serve:
                return False
            return any(f.enabled for f in load_flows(state.config, state.db_path.parent))
        except ValueError:
            log.warning("flows are not run: their declaration is invalid", exc_info=True)
            return False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> FlowRunner:
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cxlab-flows", daemon=True)
        self._thread.start()
        return self

    def stop(self, wait_s: float = 30.0) -> bool:
        """Stop after the current round (if any); returns False when it still runs after ``wait_s``."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(wait_s)
        return not self._thread.is_alive()

    def run_round(self) -> RunResult | None:
        """One round on the server's store; a failure is logged and returned as None."""
        from cxlab.automate.run import run_once

        try:
            with self.state.scope(), Store(self.state.db_path) as store:
                result = run_once(store)
        except Exception as e:  # logged, never raised: the server keeps serving
            self.failures += 1
            self.last_error = f"{type(e).__name__}: {e}"
            log.warning("flows round failed: %s", self.last_error, exc_info=True)
            return None
        self.rounds += 1
        self.last, self.last_error = result, None
        if result.changed:
            self.state.bump()
        log.info("%s", result.summary())
        return result

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_round()
            self._stop.wait(self.every_s)
