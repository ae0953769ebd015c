"""The store's automation tables: the outbox (every decided trigger, and the delivery state of each message)
and the flow versions seen (for the change log).

The outbox key is (flow, customer_id, trigger_key): a trigger is decided once, and a message is sent at most
once per key. Statuses:

``variant`` is the customer's arm ('holdout' or a variant name), '' for a trigger never assigned to one
(suppressed before the draw); ``order_id`` is the order the trigger is about, when it has one.

- ``queued``: to send at ``due`` (UTC, after the delay and the customer's quiet hours);
- ``sending``: claimed and committed just before the adapter is called; a row still ``sending`` when a run
  starts was interrupted between the call and its record, so it becomes ``in_doubt`` and is never sent again;
- ``sent``: the adapter accepted it (``sent_at``, ``provider_id``);
- ``retry``: a transient error; tried again at ``next_try`` (back-off doubles each time);
- ``gave_up``: a permanent error, or ``max_tries`` transient ones; ``last_error`` says why;
- ``in_doubt``: see ``sending``; reported, never re-sent;
- ``held_out``: the customer is in the flow's holdout: no message, ever, for this trigger;
- ``suppressed``: decided not to send (``reason``: no_consent, capped, priority, audience, no_message,
  no_contact), recorded so the report can count it and it is not decided again.
"""

from __future__ import annotations

OUTBOX = "_cxlab_outbox"
FLOW_VERSIONS = "_cxlab_flow_versions"

STATUSES = ("queued", "sending", "sent", "retry", "gave_up", "in_doubt", "held_out", "suppressed")
PENDING = ("queued", "retry")
"""Statuses of messages still to send."""
COUNTS_AS_SENT = ("sending", "sent", "in_doubt")
"""Statuses that count against frequency caps (a message that may have left)."""

DDL = f"""CREATE TABLE IF NOT EXISTS {OUTBOX} (
  flow VARCHAR NOT NULL,
  customer_id VARCHAR NOT NULL,
  trigger_key VARCHAR NOT NULL,
  trigger_ts TIMESTAMP NOT NULL,
  channel VARCHAR NOT NULL,
  variant VARCHAR NOT NULL,
  language VARCHAR,
  order_id VARCHAR,
  due TIMESTAMP NOT NULL,
  decided TIMESTAMP NOT NULL,
  status VARCHAR NOT NULL,
  reason VARCHAR,
  tries INTEGER NOT NULL DEFAULT 0,
  next_try TIMESTAMP,
  last_error VARCHAR,
  sent_at TIMESTAMP,
  provider_id VARCHAR,
  PRIMARY KEY (flow, customer_id, trigger_key)
);
CREATE TABLE IF NOT EXISTS {FLOW_VERSIONS} (
  flow VARCHAR NOT NULL, version VARCHAR NOT NULL, first_seen TIMESTAMP NOT NULL, change_id VARCHAR NOT NULL,
  PRIMARY KEY (flow, version)
)"""
"""Created with the canonical tables on every writable open of a store."""
