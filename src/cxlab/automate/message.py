"""What the planner hands to delivery: a rendered message, the customer's contact, the adapter protocol and
its two kinds of failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Contact:
    """Where to reach a customer: read from the shop's contact file at send time, never stored."""

    customer_id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None


@dataclass(frozen=True)
class Message:
    """One rendered message for one outbox row (``key`` = flow, customer, trigger key)."""

    flow: str
    customer_id: str
    trigger_key: str
    channel: str
    variant: str
    language: str | None
    subject: str | None
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The idempotency key: the same for every try of this message (a Message-ID, Idempotency-Key)."""
        return f"{self.flow}/{self.customer_id}/{self.trigger_key}"


class TransientError(Exception):
    """The receiver may accept the message later (timeout, connection refused, 4xx SMTP, 5xx/429 HTTP)."""


class InDoubt(Exception):
    """The message may have left but no answer said so (a timeout or a dropped connection after the SMTP DATA
    ended, or after the webhook request was sent): the outbox row becomes ``in_doubt``, never sent again."""


class PermanentError(Exception):
    """The receiver will never accept this message (bad address, 5xx SMTP, 4xx HTTP other than 408/429)."""


class Adapter(Protocol):
    """Sends one message; returns the receiver's id for it (or a local one); raises the errors above. Error
    texts never hold contact data (addresses, phone numbers) or secrets (a webhook URL)."""

    def send(self, message: Message, contact: Contact) -> str: ...

    def close(self) -> None: ...


class Suppressed(Exception):
    """Not to be sent after all, decided at send time (consent withdrawn since the plan, customer erased);
    the outbox row becomes ``suppressed`` with this reason, never retried."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
