"""Sessions: the store's ``session_id`` where present, else 30-minute-inactivity sessions built in the engine.

Events without a ``session_id`` are split per person wherever two consecutive ones are more than the timeout
apart (window functions, so it runs on any Ibis backend); their session key is ``<person_id>#<number>``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def with_session_key(events: ir.Table, timeout_minutes: int = 30) -> ir.Table:
    """``events`` (with ``person_id`` and ``t``, epoch seconds) plus ``session_key``."""
    if timeout_minutes <= 0:
        raise ValueError(f"session timeout must be positive, got {timeout_minutes} minutes")
    has_sid = events.session_id.notnull()
    marked = events.mutate(_has_sid=has_sid)
    order = ibis.window(group_by=[marked.person_id, marked._has_sid], order_by=[marked.t, marked.event_id])
    gap = marked.t - marked.t.lag().over(order)
    new = (gap.isnull() | (gap > timeout_minutes * 60)).cast("int64")
    numbered = marked.mutate(_new=new)
    cum = ibis.window(
        group_by=[numbered.person_id, numbered._has_sid],
        order_by=[numbered.t, numbered.event_id],
        rows=(None, 0),
    )
    numbered = numbered.mutate(_sess_no=numbered._new.sum().over(cum))
    key = ibis.coalesce(numbered.session_id, numbered.person_id + "#" + numbered._sess_no.cast("string"))
    return numbered.mutate(session_key=key).drop("_has_sid", "_new", "_sess_no")
