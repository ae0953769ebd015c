"""Who is who: one ``person_id`` per human across anonymous and identified events.

An anonymous id seen together with a customer id on any event is that customer from the start, so a
visitor's pre-signup clicks count towards the customer's journey. Expressed in Ibis, run by the engine.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def with_person_id(events: ir.Table, links_from: ir.Table | None = None) -> ir.Table:
    """``events`` plus a ``person_id`` column (customer id when known, else ``anon:<anonymous_id>``).

    The anonymous-to-customer links come from ``links_from`` (default: ``events`` itself): pass the whole
    ``events`` table there when ``events`` is a filtered part of it, so a link seen on any event counts and
    only the rows that matter go through the join.
    """
    src = events if links_from is None else links_from
    links = (
        src.filter(src.customer_id.notnull() & src.anonymous_id.notnull())
        .group_by("anonymous_id")
        .aggregate(linked_customer=lambda t: t.customer_id.min())
    )
    joined = events.left_join(links, "anonymous_id")
    person = ibis.coalesce(joined.customer_id, joined.linked_customer, "anon:" + joined.anonymous_id)
    return joined.mutate(person_id=person).drop("linked_customer")
