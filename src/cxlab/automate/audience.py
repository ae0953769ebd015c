"""Who of a flow's due customers it may reach: audience filters, consent and the message language.

* **Audience**: country and language from ``customers``; the RFM segment (:mod:`cxlab.customers.rfm`, as of
  the plan's ``now``) and the persona (:mod:`cxlab.customers.personas`, by name or number) are computed only
  when a flow filters on them. An empty filter lets everyone through; a customer without a value for a
  filtered attribute is left out.
* **Consent** (:func:`cxlab.privacy.consent.consent_state` at ``now``) for the flow's channel: opt-in, so a
  customer without a granted row, or whose latest row is a withdrawal, gets nothing — no consent, no
  message, ever.
* **Language**: the customer's language when every arm of the flow has a message in it, else the first of
  ``[automate] language_fallback`` that has, else none (the trigger is suppressed ``no_message``).

Everything is looked up only for the given customers (joined in the engine against their ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from cxlab.automate.flows import Automate, Flow
from cxlab.config import Config
from cxlab.privacy.consent import consent_state

ATTRIBUTES = ["customer_id", "country", "language", "segment", "persona", "persona_number"]


def _ids(customer_ids: Iterable[str]) -> ir.Table:
    return ibis.memtable(pd.DataFrame({"a_customer": pd.Series(sorted(set(customer_ids)), dtype=str)}))


def attributes(
    con: BaseBackend,
    customer_ids: Iterable[str],
    now: datetime,
    *,
    segments: bool = False,
    personas: bool = False,
    config: Config | None = None,
) -> pd.DataFrame:
    """Per customer in ``customer_ids``: :data:`ATTRIBUTES` (segment and persona None unless asked for;
    country, language None for a customer without a ``customers`` row)."""
    ids = _ids(customer_ids)
    cust = con.table("customers")
    j = ids.left_join(cust, ids.a_customer == cust.customer_id)
    df = j.select(customer_id=j.a_customer, country=j.country, language=j.language).execute()
    df["segment"] = None
    df["persona"] = None
    df["persona_number"] = None
    if df.empty:
        return df[ATTRIBUTES]
    if segments:
        df["segment"] = df["customer_id"].map(_segments(con, ids, now, config))
    if personas:
        found = _personas(con, config)
        df["persona"] = df["customer_id"].map({c: name for c, (_, name) in found.items()})
        df["persona_number"] = df["customer_id"].map({c: str(n) for c, (n, _) in found.items()})
    df = df.astype({"segment": object, "persona": object, "persona_number": object})
    return df.where(df.notna(), None)[ATTRIBUTES]


def _segments(con: BaseBackend, ids: ir.Table, now: datetime, config: Config | None) -> dict[str, str]:
    from cxlab.currency import shop_orders
    from cxlab.customers.rfm import rfm_scores

    if "orders" not in con.list_tables():
        return {}
    s = rfm_scores(shop_orders(con, config).table, now)
    s = s.inner_join(ids, s.customer_id == ids.a_customer).select("customer_id", "segment").execute()
    return dict(zip(s["customer_id"], s["segment"], strict=True))


def _personas(con: BaseBackend, config: Config | None) -> dict[str, tuple[int, str]]:
    """Customer → (persona number, persona name)."""
    from cxlab.customers.personas import personas

    p = personas(con, config=config)
    names = {c.persona: c.name for c in p.cards}
    a = p.assignments
    return {str(c): (int(n), names[int(n)]) for c, n in zip(a["customer_id"], a["persona"], strict=True)}


def _allowed(values: pd.Series, wanted: Sequence[str], *, upper: bool = False) -> np.ndarray:
    norm = {w.strip().upper() if upper else w.strip().lower() for w in wanted}
    col = values.map(lambda v: v.strip().upper() if upper else v.strip().lower(), na_action="ignore")
    return col.isin(norm).to_numpy(bool)


def in_audience(flow: Flow, attrs: pd.DataFrame) -> np.ndarray:
    """Whether each row of ``attrs`` (:data:`ATTRIBUTES`) passes ``flow.audience``."""
    a = flow.audience
    ok = np.ones(len(attrs), dtype=bool)
    if a.country:
        ok &= _allowed(attrs["country"], a.country, upper=True)
    if a.language:
        ok &= _allowed(attrs["language"], a.language)
    if a.segment:
        ok &= _allowed(attrs["segment"], a.segment)
    if a.persona:  # by name or by number
        ok &= _allowed(attrs["persona"], a.persona) | _allowed(attrs["persona_number"], a.persona)
    return ok


def consented(con: BaseBackend, channel: str, customer_ids: Iterable[str], now: datetime) -> set[str]:
    """The customers of ``customer_ids`` whose consent for ``channel`` is granted at ``now``."""
    ids = _ids(customer_ids)
    st = consent_state(con, at=now)
    st = st.filter(st.channel == channel, st.granted)
    got = st.inner_join(ids, st.customer_id == ids.a_customer).select("customer_id").execute()
    return set(got["customer_id"].astype(str))


def flow_languages(flow: Flow) -> list[str]:
    """Languages every arm of ``flow`` has a message in (in declaration order)."""
    arms = list(flow.arms.values())
    return [lang for lang in arms[0].messages if all(lang in a.messages for a in arms[1:])]


def pick_language(customer_language: str | None, flow: Flow, settings: Automate) -> str | None:
    """The language to write to a customer in (see the module docstring), or None when there is none."""
    have = flow_languages(flow)
    lang = (customer_language or "").strip().lower()
    if lang in have:
        return lang
    return next((f for f in settings.language_fallback if f in have), None)
