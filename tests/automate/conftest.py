"""Hand-built stores for the flow tests: a few customers, events, orders, feedback and consent rows.

``build_flow_store(tmp_path, customers=[...], events=[...], ...)`` returns an open :class:`Store` (close it,
or use the ``flow_store`` fixture that closes what it built). Rows are small dicts; omitted fields get plain
defaults. Times are naive UTC datetimes (or hours after :data:`T0` as numbers). ``flow(...)`` builds a
:class:`Flow` from keyword arguments as a ``[flows.<name>]`` table would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cxlab.automate.flows import Automate, Flow
from cxlab.config import CONFIG_NAME, default_toml
from cxlab.store import Store

T0 = datetime(2024, 5, 1)
"""Reference time of the hand-built stores (a Wednesday)."""

Row = Mapping[str, Any]


def at(when: datetime | float | int) -> datetime:
    """A datetime, or ``when`` hours after :data:`T0`."""
    return when if isinstance(when, datetime) else T0 + timedelta(hours=float(when))


def _frame(rows: Sequence[Row], defaults: Callable[[int, Row], dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{**defaults(i, r), **r} for i, r in enumerate(rows)])


def build_flow_store(
    tmp: Path,
    *,
    customers: Sequence[Row] = (),
    events: Sequence[Row] = (),
    orders: Sequence[Row] = (),
    feedback: Sequence[Row] = (),
    consent: Sequence[Row] = (),
    toml: str = "",
) -> Store:
    """A store in ``tmp`` holding the given rows; ``toml`` is appended to the default ``cxlab.toml``.

    customers: ``customer_id`` (+ country, language, birthday (date), first_seen); events: ``ts``, ``event``,
    ``customer_id`` or ``anonymous_id`` (+ event_id, touchpoint, properties as a dict); orders:
    ``order_id``, ``customer_id``, ``ts``, ``revenue`` (+ items); feedback: ``feedback_id``, ``customer_id``,
    ``ts``, ``source``, ``score``; consent: ``customer_id`` (+ channel "email", granted True, ts T0 − 30 days).
    """
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / CONFIG_NAME).write_text(default_toml() + "\n" + toml, encoding="utf-8")
    s = Store(tmp / "cxlab.duckdb")
    if customers:
        df = _frame(customers, lambda i, r: {"first_seen": T0 - timedelta(days=400)})
        if "birthday" in df:
            df["birthday"] = [b if isinstance(b, date) else None for b in df["birthday"]]
        s.ingest("customers", df)
    if events:

        def ev(i: int, r: Row) -> dict[str, Any]:
            return {"event_id": f"ev{i:04d}", "customer_id": None, "anonymous_id": None, "touchpoint": None}

        df = _frame(events, ev)
        df["ts"] = [at(t) for t in df["ts"]]
        if "properties" in df:
            df["properties"] = [None if not isinstance(p, dict) else json.dumps(p) for p in df["properties"]]
        s.ingest("events", df)
    if orders:
        df = _frame(orders, lambda i, r: {"currency": "EUR"})
        df["ts"] = [at(t) for t in df["ts"]]
        s.ingest("orders", df)
    if feedback:
        df = _frame(feedback, lambda i, r: {"source": "nps"})
        df["ts"] = [at(t) for t in df["ts"]]
        s.ingest("feedback", df)
    if consent:
        df = _frame(
            consent, lambda i, r: {"channel": "email", "granted": True, "ts": T0 - timedelta(days=30)}
        )
        df["ts"] = [at(t) for t in df["ts"]]
        s.ingest("consent", df)
    return s


def flow(name: str = "cart", **fields: Any) -> Flow:
    """A flow as ``[flows.<name>]`` would declare it; defaults: e-mail, an English message, the add_to_cart
    trigger after 4 h cancelled by a purchase, 10% holdout."""
    body: dict[str, Any] = {
        "channel": "email",
        "trigger": {"event": "add_to_cart", "delay": "4h", "cancel": ["purchase"]},
        "messages": {
            "en": {"subject": "Your cart", "body": "Hi {{ first_name or 'there' }}, your cart waits."}
        },
    }
    body.update(fields)
    return Flow.model_validate({**body, "name": name})


def settings(**fields: Any) -> Automate:
    """``[automate]`` with the given fields (no quiet hours and no caps unless given)."""
    return Automate.model_validate({"quiet_hours": [], "caps": {}, **fields})


@pytest.fixture
def flow_store(tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """``flow_store(customers=..., events=..., ...)``: :func:`build_flow_store` in a fresh folder, closed after."""
    opened: list[Store] = []

    def make(**kw: Any) -> Store:
        opened.append(build_flow_store(tmp_path / f"s{len(opened)}", **kw))
        return opened[-1]

    yield make
    for s in opened:
        s.close()
