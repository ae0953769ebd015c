"""Flow declarations: ``[flows.<name>]`` in ``cxlab.toml`` and ``flows/*.toml`` beside it, plus ``[automate]``.

A flow is a trigger (an event after a delay unless a cancel event comes first, a date such as the birthday, or
a score crossing a threshold), an audience, a channel whose consent it needs, a holdout share, the metric its
effect is measured on, and messages per language (optionally several variants, each an arm of the flow's A/B
test). ``[automate]`` holds what all flows share: frequency caps, quiet hours, time zones, language fallback,
delivery adapters and retries. Everything is validated with pydantic; errors name the file, flow and field.

Example::

    [flows.abandoned_cart]
    channel = "email"
    priority = 10
    trigger = { event = "add_to_cart", delay = "4h", cancel = ["purchase"] }
    holdout = 0.1
    metric = "conversion"
    window = "7d"
    [flows.abandoned_cart.messages.en]
    subject = "You left something in your cart"
    body = "Hi {{ first_name or 'there' }}, your cart is still waiting."
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import tomllib
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cxlab.config import CONFIG_NAME, Config, ConfigError, config_error, section

FLOWS_DIR = "flows"
"""Folder beside ``cxlab.toml`` whose ``*.toml`` files each declare flows as ``[flows.<name>]`` tables."""

MESSAGE_CHANNELS = ("email", "sms")
"""Channels a flow can send on; each is also the consent channel it needs (see ``cxlab.privacy.consent``)."""

HOLDOUT = "holdout"
"""The control arm of every flow: customers who were due a message and got none (recorded as exposures)."""

DEFAULT_VARIANT = "send"
"""The treatment arm of a flow without message variants."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d|w)\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_NAME = r"^[a-z][a-z0-9_]{0,62}$"


def parse_delay(text: str) -> timedelta:
    """``"30m"``, ``"4h"``, ``"7d"``, ``"2w"`` (or ``"0h"``) → a :class:`timedelta`."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration such as '30m', '4h', '7d' or '2w'")
    return timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})


def _duration(v: str) -> str:
    parse_delay(v)
    return v


def parse_clock(text: str) -> time:
    """``"21:00"`` → :class:`datetime.time`."""
    m = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*", text)
    if not m:
        raise ValueError(f"{text!r} is not a time of day such as '21:00'")
    return time(int(m.group(1)), int(m.group(2)))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventTrigger(_Strict):
    """An event (optionally at one touchpoint), then ``delay``; cancelled when one of ``cancel`` follows
    before the message goes. Triggers due more than ``max_age`` ago are never acted on (a first run does not
    mail history); the age counts from the due time (event + delay), so ``delay = "7d"`` fires."""

    kind: Literal["event"] = "event"
    event: str
    touchpoint: str | None = None
    delay: str = "0h"
    cancel: list[str] = []
    max_age: str = "7d"

    _d = field_validator("delay", "max_age")(_duration)

    @property
    def delay_td(self) -> timedelta:
        return parse_delay(self.delay)

    @property
    def max_age_td(self) -> timedelta:
        return parse_delay(self.max_age)


class DateTrigger(_Strict):
    """A yearly date of the customer (``birthday``), ``days_before`` it, at ``at`` in their time zone."""

    kind: Literal["date"] = "date"
    date: Literal["birthday"]
    at: str = "09:00"
    days_before: int = Field(default=0, ge=0, le=60)

    @field_validator("at")
    @classmethod
    def _clock(cls, v: str) -> str:
        parse_clock(v)
        return v


class ScoreTrigger(_Strict):
    """A score crossing a threshold: ``churn_risk`` (probability the customer has lapsed, from
    ``cxlab.customers``) ``above`` a value, or an ``nps`` answer ``below`` one (detractors: below 7). Fires at
    most once per ``every`` per customer."""

    kind: Literal["score"] = "score"
    score: Literal["churn_risk", "nps"]
    above: float | None = None
    below: float | None = None
    every: str = "90d"

    _d = field_validator("every")(_duration)

    @model_validator(mode="after")
    def _one_bound(self) -> ScoreTrigger:
        if (self.above is None) == (self.below is None):
            raise ValueError("a score trigger needs exactly one of above or below")
        if self.score == "churn_risk" and self.above is None:
            raise ValueError("churn_risk triggers take above (a probability between 0 and 1)")
        if self.score == "churn_risk" and not 0 < (self.above or 0) < 1:
            raise ValueError("churn_risk above must lie between 0 and 1")
        return self


def _trigger_kind(v: Any) -> Any:
    if isinstance(v, dict) and "kind" not in v:
        for key in ("event", "date", "score"):
            if key in v:
                return {**v, "kind": key}
    return v


Trigger = Annotated[EventTrigger | DateTrigger | ScoreTrigger, Field(discriminator="kind")]


class Audience(_Strict):
    """Who a flow may reach; an empty list means everyone. Segments are RFM segment names, personas persona
    names (both from ``cxlab.customers``)."""

    country: list[str] = []
    language: list[str] = []
    segment: list[str] = []
    persona: list[str] = []


class MessageTemplate(_Strict):
    """One message in one language: Jinja2 source inline (``subject``, ``body``) or in a file (``template``,
    relative to the project folder: its first line ``Subject: …`` is the subject). ``html`` marks an HTML body
    (customer data is then HTML-escaped); plain-text bodies are sent as they render."""

    subject: str | None = None
    body: str | None = None
    template: str | None = None
    html: bool = False

    @model_validator(mode="after")
    def _source(self) -> MessageTemplate:
        if (self.body is None) == (self.template is None):
            raise ValueError("a message needs exactly one of body (inline) or template (a file)")
        return self


class Variant(_Strict):
    """A message variant (an arm of the flow's A/B test): its share of the sent arm and its messages."""

    weight: float = Field(default=1.0, gt=0)
    messages: dict[str, MessageTemplate] = Field(min_length=1)


class Flow(_Strict):
    """One automated flow (see the module docstring)."""

    name: str = Field(pattern=_NAME)
    description: str = ""
    enabled: bool = True
    channel: Literal["email", "sms"]
    priority: int = 0
    """When a customer is due messages from several flows in one run, only the highest priority is sent."""
    trigger: Annotated[Trigger, Field(discriminator="kind")]
    audience: Audience = Audience()
    holdout: float = Field(default=0.1, ge=0, lt=1)
    """Share of due customers who get no message, so the flow's effect can be measured."""
    metric: str = "conversion"
    """Name of a metric in ``[metrics]`` (see ``cxlab.experiments``) the flow's effect is measured on."""
    window: str | None = None
    """The metric's window after the message (default: the metric's own), e.g. ``"7d"``."""
    touchpoint: str | None = None
    """Touchpoint of the messages on the journey map (default: ``<name>_<channel>``)."""
    messages: dict[str, MessageTemplate] = {}
    """Messages per language (ISO 639-1), for a flow without variants."""
    variants: dict[str, Variant] = {}
    accept_tone: bool = False
    """Enable the flow even though the tone check flagged one of its messages as pushy."""

    _trigger = field_validator("trigger", mode="before")(_trigger_kind)

    @field_validator("window")
    @classmethod
    def _window(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d+(\.\d+)?[dh]", v.strip()):
            raise ValueError(f"{v!r} is not a window such as '7d' or '48h'")
        return v

    @model_validator(mode="after")
    def _messages(self) -> Flow:
        if bool(self.messages) == bool(self.variants):
            raise ValueError(
                "a flow needs messages (per language) or variants (each with messages), not both"
            )
        names = set(self.variants)
        if HOLDOUT in names:
            raise ValueError(f"{HOLDOUT!r} is the control arm's name; pick another variant name")
        bad = sorted(n for n in names if not re.fullmatch(_NAME, n))
        if bad:
            raise ValueError(f"variant names {bad} must be lower-case letters, digits and _")
        langs = sorted({lang for lang in self.languages if not re.fullmatch("[a-z]{2}", lang)})
        if langs:
            raise ValueError(f"message languages {langs} must be ISO 639-1 codes such as 'nl'")
        return self

    @property
    def arms(self) -> dict[str, Variant]:
        """The sent arms: the variants, or one arm :data:`DEFAULT_VARIANT` holding ``messages``."""
        return dict(self.variants) or {DEFAULT_VARIANT: Variant(messages=self.messages)}

    @property
    def languages(self) -> list[str]:
        """Languages with a message in every arm's message set (the union when arms differ)."""
        found: dict[str, None] = {}
        for arm in self.variants.values() if self.variants else [Variant(messages=self.messages)]:
            found.update(dict.fromkeys(arm.messages))
        return list(found)

    @property
    def experiment_id(self) -> str:
        """The experiment id the flow's exposures are recorded under."""
        return f"flow:{self.name}"

    @property
    def message_touchpoint(self) -> str:
        return self.touchpoint or f"{self.name}_{self.channel}"

    @property
    def split(self) -> dict[str, float]:
        """The planned share of each arm: the holdout, then the variants by weight (the SRM check's split)."""
        arms = self.arms
        total = sum(v.weight for v in arms.values())
        return {HOLDOUT: self.holdout, **{n: (1 - self.holdout) * v.weight / total for n, v in arms.items()}}

    def version_hash(self) -> str:
        """A short hash of the whole declaration: a new one is a new version in the change log."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


class Adapter(_Strict):
    """How one channel's messages leave: ``smtp`` (e-mail), ``webhook`` (POST with an HMAC signature: an SMS
    gateway or the shop's own system) or ``file`` (one JSON line per message in a folder).

    SMTP is encrypted by default (``tls = "starttls"`` on port 587; ``"implicit"``: TLS from the first byte,
    port 465 unless given; ``"none"``: only for a relay on this machine when logging in), the server's
    certificate checked against the system's CAs or ``cafile``. The older ``starttls = true/false`` is read as
    ``tls = "starttls"/"none"``. A webhook url must be https:// unless its host is loopback."""

    adapter: Literal["smtp", "webhook", "file"]
    # smtp
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    sender: str | None = None
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    cafile: str | None = None
    """A PEM file of the CA(s) to trust instead of the system's (a private CA), relative to the project."""
    username: str | None = None
    password_env: str | None = None
    """Name of the environment variable holding the SMTP password (never the password itself)."""
    # webhook
    url: str | None = None
    secret_env: str | None = None
    """Name of the environment variable holding the webhook's HMAC key."""
    timeout_s: float = Field(default=10.0, gt=0)
    # file
    path: str | None = None

    @staticmethod
    def is_loopback(host: str) -> bool:
        """Whether ``host`` names this machine (``localhost`` or a loopback address): traffic never leaves it."""
        host = host.strip().strip("[]").rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @model_validator(mode="before")
    @classmethod
    def _legacy_starttls(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "starttls" in data:
            legacy = data.pop("starttls")
            if not isinstance(legacy, bool):
                raise ValueError(
                    "starttls takes true or false (better: tls = 'starttls', 'implicit' or 'none')"
                )
            if "tls" in data and data["tls"] != ("starttls" if legacy else "none"):
                raise ValueError("starttls and tls disagree: keep only tls")
            data["tls"] = "starttls" if legacy else "none"
        if data.get("tls") == "implicit" and "port" not in data:
            data["port"] = 465
        return data

    @model_validator(mode="after")
    def _complete(self) -> Adapter:
        if self.adapter == "smtp":
            if not self.sender:
                raise ValueError("an smtp adapter needs sender (the From address)")
            if self.username and not self.password_env:
                raise ValueError("username needs password_env (the variable holding the SMTP password)")
            if self.username and self.tls == "none" and not Adapter.is_loopback(self.host):
                raise ValueError(
                    f"tls = 'none' with a username would send the password in clear to {self.host}: use "
                    "tls = 'starttls' or 'implicit'"
                )
        if self.adapter == "webhook":
            if not self.url or not re.match(r"https?://", self.url, re.IGNORECASE):
                raise ValueError("a webhook adapter needs url (https://)")
            parts = urlsplit(self.url)
            if parts.scheme.lower() != "https" and not Adapter.is_loopback(parts.hostname or ""):
                raise ValueError("a webhook url must be https:// (http:// only for a loopback host)")
            if not self.secret_env:
                raise ValueError("a webhook adapter needs secret_env (the variable holding its HMAC key)")
        if self.adapter == "file" and not self.path:
            raise ValueError("a file adapter needs path (a folder)")
        return self


class Automate(_Strict):
    """``[automate]``: what every flow shares."""

    caps: dict[str, str] = {"email": "3/7d", "sms": "1/7d"}
    """At most N messages per customer per channel per period, e.g. ``"3/7d"``."""
    quiet_hours: list[str] = ["21:00", "08:00"]
    """From, to (local time of the customer): a message due inside waits until the end."""
    timezone: str = "Europe/Amsterdam"
    """The shop's time zone: customers whose country has no known zone are in it."""
    timezones: dict[str, str] = {}
    """Country → IANA zone overrides (default: the country's main zone from the tz database)."""
    language_fallback: list[str] = ["en"]
    """Languages to try, in order, when a customer's language has no message."""
    contacts: str | None = None
    """The shop's contact file (CSV: customer_id, email, phone, first_name), read at send time and never
    stored: the store keeps only keyed hashes of contact data."""
    every: str = "5m"
    """How often ``cxlab flows run --every`` (and the server) plans and delivers."""
    max_tries: int = Field(default=5, ge=1, le=50)
    retry_after: str = "1m"
    """First retry delay after a transient error; doubled on each try."""
    delivery: dict[str, Adapter] = {}
    """Channel (email, sms) → adapter."""
    serve: bool = False
    """Let ``cxlab serve`` run the flows' rounds itself (every ``every``): an explicit opt-in to sending."""
    unsubscribe: str | None = None
    """Where a customer unsubscribes: an https URL or a mailto: address, sent as the e-mails'
    ``List-Unsubscribe`` header and given to templates as ``unsubscribe_url``."""

    @field_validator("unsubscribe")
    @classmethod
    def _unsubscribe(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"(https://|mailto:)[^\s<>\r\n]+", v):
            raise ValueError(f"unsubscribe: {v!r} is not an https:// URL or a mailto: address")
        return v

    _d = field_validator("every", "retry_after")(_duration)

    @field_validator("caps")
    @classmethod
    def _caps(cls, v: dict[str, str]) -> dict[str, str]:
        for channel, cap in v.items():
            if channel not in MESSAGE_CHANNELS:
                raise ValueError(
                    f"caps: {channel!r} is not a message channel ({', '.join(MESSAGE_CHANNELS)})"
                )
            parse_cap(cap)
        return v

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: list[str]) -> list[str]:
        if v and len(v) != 2:
            raise ValueError("quiet_hours: give [from, to] such as ['21:00', '08:00'], or [] for none")
        for t in v:
            parse_clock(t)
        return v

    @field_validator("delivery")
    @classmethod
    def _channels(cls, v: dict[str, Adapter]) -> dict[str, Adapter]:
        bad = sorted(set(v) - set(MESSAGE_CHANNELS))
        if bad:
            raise ValueError(f"delivery: {bad} are not message channels ({', '.join(MESSAGE_CHANNELS)})")
        return v


def parse_cap(text: str) -> tuple[int, timedelta]:
    """``"3/7d"`` → ``(3, 7 days)``."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\S+)\s*", text)
    if not m:
        raise ValueError(f"cap {text!r}: expected N/period such as '3/7d'")
    return int(m.group(1)), parse_delay(m.group(2))


def _flow_error(source: str, where: str, e: ValidationError) -> ConfigError:
    """:func:`cxlab.config.config_error`, without the tag a tagged union puts into the location
    (``trigger.event.delay`` → ``trigger.delay``)."""
    error = config_error(source, where, e)
    parts = [str(p) for p in e.errors()[0]["loc"]]
    if len(parts) > 2 and parts[0] == "trigger":
        error = ConfigError(str(error).replace(f".trigger.{parts[1]}.", ".trigger.", 1))
    return error


def automate_settings(config: Config) -> Automate:
    """The ``[automate]`` section of ``config`` (defaults where absent)."""
    return section(config, "automate", Automate)


def _flows_from(raw: Any, source: str) -> list[Flow]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: flows: expected tables such as [flows.abandoned_cart]")
    out = []
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: flows.{name}: expected a table")
        try:
            out.append(Flow.model_validate({**body, "name": name}))
        except ValidationError as e:
            raise _flow_error(source, f"flows.{name}", e) from e
    return out


def flow_split(config: Config, project_dir: Path | None, experiment_id: str) -> dict[str, float] | None:
    """The planned split of a flow's experiment (``flow:<name>``), or None for any other experiment or a flow
    no longer declared (its split is then unknown, and the SRM check assumes equal arms)."""
    if not experiment_id.startswith("flow:"):
        return None
    try:
        flows = load_flows(config, project_dir)
    except ConfigError:
        return None
    return next((f.split for f in flows if f.experiment_id == experiment_id), None)


def load_flows(config: Config, project_dir: Path | None = None) -> list[Flow]:
    """Every declared flow: ``[flows.*]`` of ``config`` and of each ``flows/*.toml`` in ``project_dir``.

    A name declared twice is an error naming both places."""
    flows = _flows_from((config.model_extra or {}).get("flows", {}), CONFIG_NAME)
    where = dict.fromkeys((f.name for f in flows), CONFIG_NAME)
    folder = (project_dir or Path(".")) / FLOWS_DIR
    for path in sorted(folder.glob("*.toml")) if project_dir is not None and folder.is_dir() else []:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read: {e}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from e
        extra = sorted(set(data) - {"flows"})
        if extra:
            raise ConfigError(f"{path}: only [flows.<name>] tables belong here, found {extra}")
        for flow in _flows_from(data.get("flows", {}), str(path)):
            if flow.name in where:
                raise ConfigError(f"{path}: flows.{flow.name}: already declared in {where[flow.name]}")
            where[flow.name] = str(path)
            flows.append(flow)
    return flows
