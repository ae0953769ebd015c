"""One round of the flows: decide, record, and deliver.

:func:`run_once` loads the declared flows, checks before anything is recorded that the round can deliver what
it decides (:func:`preflight`: every enabled flow's metric exists, and with delivery on each of their channels
has an adapter that builds and a contact file with the channel's field; else a ``ConfigError``, since a round
that went on would expose customers and then give every message up), turns interrupted sends into
``in_doubt`` (never re-sent), plans the new triggers (:func:`cxlab.automate.plan.plan`), and then in ONE
transaction records the plan's rows in the outbox, records the exposures of the customers assigned to an arm
(the flow is an experiment: its first exposure per customer counts) and versions the flows in the change log
(a declaration not seen before becomes a ``changes`` row, so the journey's change log ties each flow version
to its measured effect). Nothing is half-written: an error rolls the whole round back, and the next round
decides the same triggers again.

Then the due messages are delivered (:meth:`cxlab.automate.outbox.Outbox.deliver`): consent is checked once
more at the moment of sending, always against the real clock, even in a round replayed ``--at`` a past moment
(a withdrawal since the plan suppresses the message); so is a message whose trigger the person has since
cancelled (a purchase after the cart: :func:`cancelled_triggers`, one query per round), and one planned on a
channel the flow no longer uses. The message is rendered in the customer's language with their first name,
the order the outbox recorded for it (never text taken from events), recommendations and the unsubscribe text
in their language (naming ``[automate] unsubscribe`` when set, which e-mails also carry as their
``List-Unsubscribe`` header), and each sent message becomes an event (``email_sent`` / ``sms_sent`` at the
flow's touchpoint) in the same transaction that marks it sent, so the journey map sees the flows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd

from cxlab.automate.flows import (
    Automate,
    DateTrigger,
    EventTrigger,
    Flow,
    automate_settings,
    load_flows,
    parse_delay,
)
from cxlab.automate.message import Contact, Message, Suppressed
from cxlab.automate.tables import FLOW_VERSIONS, OUTBOX, PENDING
from cxlab.config import ConfigError
from cxlab.display import count
from cxlab.identity import with_person_id
from cxlab.privacy.consent import may_contact
from cxlab.store import Store

log = logging.getLogger(__name__)

SENT_EVENTS = {"email": "email_sent", "sms": "sms_sent"}

UNSUBSCRIBE: dict[str, dict[str, str]] = {
    "email": {
        "en": "You get this e-mail because you agreed to hear from {shop}. Reply 'unsubscribe' to stop.",
        "nl": "Je krijgt deze e-mail omdat je berichten van {shop} wilde ontvangen. Antwoord 'afmelden' om te "
        "stoppen.",
        "da": "Du får denne e-mail, fordi du har sagt ja til at høre fra {shop}. Svar 'afmeld' for at stoppe.",
        "de": "Du erhältst diese E-Mail, weil du Nachrichten von {shop} zugestimmt hast. Antworte "
        "'abmelden', um sie abzubestellen.",
    },
    "sms": {
        "en": "Reply STOP to stop messages from {shop}.",
        "nl": "Antwoord STOP om geen berichten van {shop} meer te krijgen.",
        "da": "Svar STOP for ikke at få flere beskeder fra {shop}.",
        "de": "Antworte STOP, um keine Nachrichten von {shop} mehr zu erhalten.",
    },
}
"""The ``{{ unsubscribe }}`` text per channel and language (other languages get English)."""
UNSUBSCRIBE_AT: dict[str, dict[str, str]] = {
    "email": {
        "en": "You get this e-mail because you agreed to hear from {shop}. Unsubscribe: {link}",
        "nl": "Je krijgt deze e-mail omdat je berichten van {shop} wilde ontvangen. Afmelden: {link}",
        "da": "Du får denne e-mail, fordi du har sagt ja til at høre fra {shop}. Afmeld: {link}",
        "de": "Du erhältst diese E-Mail, weil du Nachrichten von {shop} zugestimmt hast. Abmelden: {link}",
    },
    "sms": {
        "en": "Reply STOP or unsubscribe at {link}.",
        "nl": "Antwoord STOP of meld je af via {link}.",
        "da": "Svar STOP eller afmeld dig på {link}.",
        "de": "Antworte STOP oder melde dich ab unter {link}.",
    },
}
"""The same when ``[automate] unsubscribe`` is set (``link``: the URL, or the address of a mailto:)."""


def unsubscribe_text(channel: str, language: str | None, shop: str, url: str | None) -> str:
    """The ``{{ unsubscribe }}`` text for a message: in the customer's language (nl, da, de, else English),
    naming ``[automate] unsubscribe`` when it is set."""
    lang = (language or "en").replace("_", "-").split("-")[0].lower()
    texts = UNSUBSCRIBE_AT if url else UNSUBSCRIBE
    table = texts.get(channel, texts["email"])
    text = table.get(lang, table["en"])
    link = url.removeprefix("mailto:").split("?")[0] if url and url.startswith("mailto:") else url
    return text.format(shop=shop, link=link)


RECOMMENDATIONS_K = 3
"""Recommendations put in a message's context (``recommendations`` in the template)."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _naive(ts: dt.datetime | None) -> dt.datetime:
    if ts is None:
        return _utcnow()
    return ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def trigger_words(flow: Flow) -> str:
    """The flow's trigger in plain words: ``add_to_cart + 4h unless purchase``."""
    t = flow.trigger
    if isinstance(t, EventTrigger):
        text = t.event + (f" at {t.touchpoint}" if t.touchpoint else "")
        if parse_delay(t.delay).total_seconds():
            text += f" + {t.delay}"
        if t.cancel:
            text += f" unless {' or '.join(t.cancel)}"
        return text
    if isinstance(t, DateTrigger):
        before = f"{t.days_before} days before the " if t.days_before else ""
        return f"{before}{t.date} at {t.at} local time"
    bound = f"above {t.above}" if t.above is not None else f"below {t.below}"
    return f"{t.score} {bound} (at most every {t.every})"


def flow_words(flow: Flow, version: int) -> str:
    """The change log's description of a flow version."""
    channel = "e-mail" if flow.channel == "email" else "SMS"
    arms = f", variants {', '.join(flow.variants)}" if flow.variants else ""
    state = "" if flow.enabled else " (disabled)"
    return (
        f"Flow {flow.name} (v{version}){state}: {trigger_words(flow)}, {channel}, "
        f"{round(100 * flow.holdout):d}% holdout{arms}"
    )


@dataclass(frozen=True)
class RunResult:
    """One round: what the plan decided (per flow × status), what was delivered, which flow versions are new."""

    now: dt.datetime
    decided: pd.DataFrame
    """Per flow × status × reason: rows recorded in the outbox this round."""
    exposures: int
    versions: list[str]
    """change_id of each new flow version written to the change log."""
    blocked: dict[str, str]
    delivery: Any | None = None
    """The :class:`cxlab.automate.outbox.DeliveryReport`, or None with ``deliver=False``."""
    recovered: int = 0
    """Messages found interrupted mid-send, now ``in_doubt``."""
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the round wrote anything (the server bumps its store version then)."""
        d = self.delivery
        moved = d is not None and bool(d.attempted or d.in_doubt_recovered)
        return bool(len(self.decided)) or bool(self.versions) or bool(self.recovered) or moved

    def to_frame(self) -> pd.DataFrame:
        return self.decided.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "decided": self.decided.to_dict(orient="records"),
            "exposures": self.exposures,
            "versions": list(self.versions),
            "blocked": dict(self.blocked),
            "recovered": self.recovered,
            "delivery": self.delivery.to_dict() if self.delivery is not None else None,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        n = int(self.decided["n"].sum()) if len(self.decided) else 0
        parts = [f"Flows round at {self.now:%Y-%m-%d %H:%M} UTC: {count(n)} new trigger(s) decided"]
        if n:
            by = self.decided.groupby("status")["n"].sum()
            parts[-1] += " (" + ", ".join(f"{count(v)} {k}" for k, v in by.items()) + ")"
        parts.append(f"{count(self.exposures)} new exposure(s)")
        if self.versions:
            parts.append(f"{len(self.versions)} new flow version(s) in the change log")
        if self.recovered:
            parts.append(f"{count(self.recovered)} interrupted send(s) marked in doubt, not re-sent")
        if self.blocked:
            parts.append("not running: " + "; ".join(f"{k} ({v})" for k, v in self.blocked.items()))
        text = "; ".join(parts) + "."
        if self.delivery is not None:
            text += " " + self.delivery.summary()
        return " ".join([text, *self.notes])


def _record_exposures(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, flows: Mapping[str, Flow]) -> int:
    """Insert the first exposure of each (flow, customer) not stored yet; returns how many."""
    if rows.empty:
        return 0
    exposed = rows[rows["exposed"].astype(bool) & rows["variant"].notna()]
    if exposed.empty:
        return 0
    x = pd.DataFrame(
        {
            "experiment_id": [flows[f].experiment_id for f in exposed["flow"]],
            "variant": exposed["variant"].astype(str).to_numpy(),
            "customer_id": exposed["customer_id"].astype(str).to_numpy(),
            "ts": pd.to_datetime(exposed["due"]).dt.tz_localize(None).to_numpy(),
        }
    )
    con.register("_cxlab_new_exposures", x)
    try:
        ((n,),) = con.execute(
            """SELECT count(*) FROM (SELECT DISTINCT experiment_id, customer_id FROM _cxlab_new_exposures) x
               WHERE NOT EXISTS (SELECT 1 FROM exposures e
                                 WHERE e.experiment_id = x.experiment_id AND e.customer_id = x.customer_id)"""
        ).fetchall()
        con.execute(
            """INSERT INTO exposures (experiment_id, variant, customer_id, ts)
               SELECT experiment_id, arg_min(variant, ts), customer_id, min(ts) FROM _cxlab_new_exposures x
               WHERE NOT EXISTS (SELECT 1 FROM exposures e
                                 WHERE e.experiment_id = x.experiment_id AND e.customer_id = x.customer_id)
               GROUP BY experiment_id, customer_id"""
        )
    finally:
        con.unregister("_cxlab_new_exposures")
    return int(n)


def _version_flows(con: duckdb.DuckDBPyConnection, flows: Sequence[Flow], now: dt.datetime) -> list[str]:
    """A ``changes`` row and a version row for each flow declaration not seen before."""
    out = []
    for flow in flows:
        h = flow.version_hash()
        seen = con.execute(f"SELECT version FROM {FLOW_VERSIONS} WHERE flow = ?", [flow.name]).fetchall()
        if any(v == h for (v,) in seen):
            continue
        change_id = f"flow-{flow.name}-{h}"
        con.execute(
            "INSERT INTO changes (change_id, ts, touchpoint, description, experiment_id) "
            "SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM changes WHERE change_id = ?)",
            [
                change_id,
                now,
                flow.message_touchpoint,
                flow_words(flow, len(seen) + 1),
                flow.experiment_id,
                change_id,
            ],
        )
        con.execute(f"INSERT INTO {FLOW_VERSIONS} VALUES (?, ?, ?, ?)", [flow.name, h, now, change_id])
        out.append(change_id)
    return out


def _outbox_rows(rows: pd.DataFrame, now: dt.datetime) -> pd.DataFrame:
    """The plan's rows as the outbox takes them (it keeps the columns its table has, e.g. ``order_id``)."""
    return rows.drop(columns=["exposed"], errors="ignore").assign(decided=now)


def record_plan(
    store: Store, flows: Sequence[Flow], rows: pd.DataFrame, now: dt.datetime
) -> tuple[int, list[str]]:
    """Outbox rows, exposures and flow versions of one plan in one transaction; returns (exposures, versions).

    Any error rolls everything back."""
    from cxlab.automate.outbox import Outbox

    con = store.con
    by_name = {f.name: f for f in flows}
    con.begin()
    try:
        if len(rows):
            Outbox(con).record(_outbox_rows(rows, now), now, in_transaction=True)
        exposures = _record_exposures(con, rows, by_name)
        versions = _version_flows(con, flows, now)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return exposures, versions


def _field(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(name)
    if isinstance(row, pd.Series):
        return row.get(name)
    return getattr(row, name, None)


def _recommender(con: duckdb.DuckDBPyConnection) -> Callable[..., Any] | None:
    """``cxlab.personalize``'s lookup when that capability is installed and its lists are precomputed in the
    store (``cxlab recommend fit``); None otherwise: a message never waits on fitting a model."""
    try:
        from cxlab.personalize.store import TABLE, recommend_for
    except ImportError:
        return None
    found = con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [TABLE]).fetchall()
    return recommend_for if found else None


def _recommendations(lookup: Callable[..., Any] | None, con: Any, customer_id: str) -> list[dict[str, Any]]:
    """The customer's top recommendations for a message ({product_id, name, reason}); none without a lookup
    or when it fails (a message without recommendations beats no message)."""
    if lookup is None:
        return []
    try:
        found = lookup(con, customer_id, RECOMMENDATIONS_K)
    except Exception:
        log.debug("no recommendations for a message", exc_info=True)
        return []
    out = []
    for it in list(getattr(found, "items", None) or [])[:RECOMMENDATIONS_K]:
        pid = getattr(it, "product_id", None)
        out.append(
            {
                "product_id": pid,
                "name": getattr(it, "name", None) or pid,
                "reason": getattr(it, "reason", None),
            }
        )
    return out


def cancelled_triggers(store: Store, flows: Sequence[Flow]) -> dict[tuple[str, str, str], str]:
    """Messages still to send (queued or retry) whose flow's trigger has since been cancelled: (flow,
    customer_id, trigger_key) → the first cancel event (by name) the person had after the trigger time.

    The plan cancels on events up to its own time; this catches a purchase between the plan and the send."""
    pairs = [(f.name, e) for f in flows if isinstance(f.trigger, EventTrigger) for e in f.trigger.cancel]
    if not pairs:
        return {}
    con = store.ibis()
    wanted = ibis.memtable(pd.DataFrame(pairs, columns=["w_flow", "w_event"]))
    ob = con.table(OUTBOX)
    ob = ob.filter(ob.status.isin(list(PENDING)))
    ob = ob.inner_join(wanted, ob.flow == wanted.w_flow)
    ev = con.table("events")
    c = ev.filter(ev.event.isin(sorted({e for _, e in pairs})))
    c = with_person_id(c, links_from=ev)
    c = c.select(c_person=c.person_id, c_event=c.event, c_ts=c.ts)
    j = ob.inner_join(c, [ob.customer_id == c.c_person, ob.w_event == c.c_event, c.c_ts > ob.trigger_ts])
    got = j.group_by(["flow", "customer_id", "trigger_key"]).aggregate(event=j.c_event.min()).execute()
    return {
        (str(f), str(cu), str(k)): str(e)
        for f, cu, k, e in zip(got["flow"], got["customer_id"], got["trigger_key"], got["event"], strict=True)
    }


class Composer:
    """Builds each message at send time: consent checked again, template rendered, event recorded once sent."""

    def __init__(self, store: Store, flows: Sequence[Flow], now_fn: Callable[[], dt.datetime] = _utcnow):
        self.store = store
        self.flows = {f.name: f for f in flows}
        self.now_fn = now_fn
        self.shop = store.config.shop.name
        self.project_dir = store.project_dir
        self._order_ids: dict[tuple[str, str, str], str | None] = {}
        self._lookup = _recommender(store.con)
        self._cancelled: dict[tuple[str, str, str], str] | None = None
        self.unsubscribe = automate_settings(store.config).unsubscribe

    def cancelled(self) -> dict[tuple[str, str, str], str]:
        """(flow, customer, trigger key) → a cancel event of the flow's trigger that the same person (identity
        resolved as for the trigger) has had since the trigger, for every message still to send; one query per
        round, made at the first message."""
        if self._cancelled is None:
            self._cancelled = cancelled_triggers(self.store, list(self.flows.values()))
        return self._cancelled

    def _key(self, row: Any) -> tuple[str, str, str]:
        return str(_field(row, "flow")), str(_field(row, "customer_id")), str(_field(row, "trigger_key"))

    def compose(self, row: Any, contact: Contact) -> Message:
        from cxlab.automate.templates import context, render

        flow_name, customer_id, trigger_key = self._key(row)
        flow = self.flows.get(flow_name)
        if flow is None:
            raise Suppressed("flow no longer declared")
        if not flow.enabled:
            raise Suppressed("flow disabled")
        channel = str(_field(row, "channel"))
        if channel != flow.channel:
            raise Suppressed("the flow's channel changed since it was planned")
        # the real clock, whatever the round's clock says: a replay (--at) must not send on past consent
        if not may_contact(self.store.con, customer_id, channel, _utcnow()):
            raise Suppressed("consent withdrawn")
        cancel = self.cancelled().get((flow_name, customer_id, trigger_key))
        if cancel is not None:
            raise Suppressed(f"cancelled: {cancel} since the trigger")
        variant = str(_field(row, "variant"))
        language = _field(row, "language")
        order_id = _field(row, "order_id")
        self._order_ids[(flow_name, customer_id, trigger_key)] = order_id
        ctx = context(
            self.store.config,
            first_name=contact.first_name,
            order_id=order_id,
            recommendations=_recommendations(self._lookup, self.store.con, customer_id),
            unsubscribe=unsubscribe_text(
                flow.channel, None if language is None else str(language), self.shop, self.unsubscribe
            ),
        )
        ctx["unsubscribe_url"] = self.unsubscribe
        subject, text, html = render(flow, variant, str(language), ctx, self.project_dir)
        return Message(
            flow=flow_name,
            customer_id=customer_id,
            trigger_key=trigger_key,
            channel=channel,
            variant=variant,
            language=None if language is None else str(language),
            subject=subject,
            text=text,
            html=html,
            headers={"List-Unsubscribe": f"<{self.unsubscribe}>"}
            if self.unsubscribe and channel == "email"
            else {},
        )

    def on_sent(self, cur: duckdb.DuckDBPyConnection, row: Any, message: Message) -> None:
        """The message as an event (idempotent on its id), in the transaction that marks it sent."""
        flow = self.flows[message.flow]
        key = (message.flow, message.customer_id, message.trigger_key)
        sent_at = _field(row, "sent_at")
        ts = pd.Timestamp(sent_at).to_pydatetime() if sent_at is not None and not pd.isna(sent_at) else None
        props = {
            "flow": message.flow,
            "variant": message.variant,
            "trigger_key": message.trigger_key,
            "order_id": self._order_ids.get(key),
        }
        event_id = f"flow:{message.flow}:{message.customer_id}:{message.trigger_key}"
        cur.execute(
            "INSERT INTO events (event_id, ts, customer_id, event, channel, touchpoint, properties) "
            "SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM events WHERE event_id = ?)",
            [
                event_id,
                ts or self.now_fn(),
                message.customer_id,
                SENT_EVENTS[flow.channel],
                flow.channel,
                flow.message_touchpoint,
                json.dumps(props),
                event_id,
            ],
        )


@dataclass
class Delivery:
    """What a round delivers with: the contact book and one adapter per channel of an enabled flow."""

    contacts: Any
    adapters: dict[str, Any]

    def close(self) -> None:
        for a in self.adapters.values():
            try:
                a.close()
            except Exception:  # closing a dropped connection must not hide the run's result
                log.debug("closing an adapter failed", exc_info=True)


def preflight(
    store: Store, flows: Sequence[Flow], settings: Automate, *, deliver: bool = True
) -> Delivery | None:
    """Check, before a round records anything, that what it decides can be delivered; returns the contact book
    and adapters to deliver with (None with ``deliver=False``).

    Every enabled flow's metric must be in ``[metrics]``. With delivery on, each channel an enabled flow uses
    needs ``[automate.delivery.<channel>]`` whose adapter builds (its secrets are set), and a contact file
    (``[automate] contacts``) that exists and gives at least one customer the channel's field (``email`` or
    ``phone``). Otherwise a :class:`ConfigError` names what is missing: a round that went on would expose
    customers and then give every message up. Channels of disabled flows are not checked (a missing SMS
    secret does not stop e-mail)."""
    from cxlab.automate.adapters import make_adapter
    from cxlab.automate.contacts import CHANNEL_FIELD, ContactBook, ContactError
    from cxlab.automate.plan import check_metrics

    check_metrics(flows, store.config)
    if not deliver:
        return None
    project_dir = store.project_dir
    by_channel: dict[str, list[str]] = {}
    for f in flows:
        if f.enabled:
            by_channel.setdefault(f.channel, []).append(f.name)

    def who(channel: str) -> str:
        names = by_channel[channel]
        return f"flow{'s' if len(names) > 1 else ''} {', '.join(names)} ({channel})"

    missing = [c for c in sorted(by_channel) if c not in settings.delivery]
    if missing:
        c = missing[0]
        raise ConfigError(
            f"cxlab.toml: [automate.delivery.{c}] is not set, needed by {who(c)}; add an adapter "
            "(smtp, webhook or file), disable the flow, or run with --no-deliver"
        )
    if not settings.contacts and by_channel:
        raise ConfigError(
            f"cxlab.toml: [automate] contacts is not set, needed by {who(sorted(by_channel)[0])}; "
            "point it at the contact file (customer_id, email, phone, first_name)"
        )
    book = ContactBook.empty()
    if settings.contacts:
        path = Path(settings.contacts)
        path = path if path.is_absolute() else project_dir / path
        if not path.is_file():
            raise ConfigError(f"cxlab.toml: [automate] contacts: {path} does not exist")
        try:
            book = ContactBook.from_file(path)
        except ContactError as e:
            raise ConfigError(f"cxlab.toml: [automate] contacts: {e}") from e
        for channel in sorted(by_channel):
            attr, words = CHANNEL_FIELD.get(channel, (channel, channel))
            if not any(getattr(c, attr, None) for c in book):
                raise ConfigError(
                    f"{path}: no {attr} column (or not one {words} in it), needed by {who(channel)}"
                )
    ready = Delivery(book, {})
    try:
        for channel in sorted(by_channel):
            ready.adapters[channel] = make_adapter(settings.delivery[channel], project_dir)
    except Exception:
        ready.close()
        raise
    for channel, cfg in sorted(settings.delivery.items()):
        if channel in ready.adapters:
            continue
        # no enabled flow sends here: its queued rows (of a disabled or moved flow) are suppressed when an
        # adapter builds, else they wait; a missing secret here must not stop the other channels
        try:
            ready.adapters[channel] = make_adapter(cfg, project_dir)
        except Exception:
            log.debug("no %s adapter for rows of disabled flows", channel, exc_info=True)
    return ready


def deliver_due(
    store: Store,
    flows: Sequence[Flow],
    settings: Automate,
    now_fn: Callable[[], dt.datetime] = _utcnow,
    *,
    limit: int | None = None,
    delivery: Delivery | None = None,
) -> Any:
    """Send the due messages; returns the outbox's DeliveryReport. ``delivery``: the contacts and adapters
    (default: :func:`preflight`'s); closed when done."""
    from cxlab.automate.outbox import Outbox

    if delivery is None:
        delivery = preflight(store, flows, settings)
        assert delivery is not None
    composer = Composer(store, flows, now_fn)
    try:
        return Outbox(store.con).deliver(
            delivery.adapters,
            composer.compose,
            delivery.contacts,
            now_fn,
            max_tries=settings.max_tries,
            retry_after=parse_delay(settings.retry_after),
            limit=limit,
            on_sent=composer.on_sent,
            recover=False,
        )
    finally:
        delivery.close()


def _decided(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame({"flow": [], "status": [], "reason": [], "n": []})
    r = rows.assign(reason=rows["reason"].fillna("")).groupby(["flow", "status", "reason"], dropna=False)
    return r.size().rename("n").reset_index()


def run_once(
    store: Store,
    now: dt.datetime | None = None,
    *,
    deliver: bool = True,
    check_tone: bool = True,
    flows: Sequence[Flow] | None = None,
) -> RunResult:
    """One round: recover interrupted sends, plan, record (one transaction), deliver (see the module
    docstring). ``now`` fixes the round's clock (UTC; default the wall clock); delivery then uses it too."""
    from cxlab.automate.outbox import Outbox
    from cxlab.automate.plan import plan

    fixed = now is not None
    at = _naive(now)
    found = list(flows) if flows is not None else load_flows(store.config, store.project_dir)
    settings = automate_settings(store.config)
    ready = preflight(store, found, settings, deliver=deliver)
    try:
        recovered = int(Outbox(store.con).recover(at) or 0)
        p = plan(store, found, settings, at, check_tone=check_tone)
        rows = p.rows
        # a flow that runs, or was switched off (that is a change too); not one held back by its tone check
        versioned = [f for f in found if f.name not in p.blocked or not f.enabled]
        exposures, versions = record_plan(store, versioned, rows, at)
    except BaseException:
        if ready is not None:
            ready.close()
        raise
    delivery = None
    notes: list[str] = []
    if ready is not None:
        delivery = deliver_due(store, found, settings, (lambda: at) if fixed else _utcnow, delivery=ready)
    return RunResult(
        now=at,
        decided=_decided(rows),
        exposures=exposures,
        versions=versions,
        blocked=dict(p.blocked),
        delivery=delivery,
        recovered=recovered,
        notes=notes,
    )


def run_forever(
    db_path: str | Path,
    every: str | float,
    stop_event: threading.Event,
    *,
    on_round: Callable[[RunResult], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
    check_tone: bool = True,
) -> int:
    """Rounds of :func:`run_once` every ``every`` (``"5m"`` or seconds) until ``stop_event`` is set; the store
    is opened for each round only, so other commands can use it in between. Returns the rounds run."""
    seconds = parse_delay(every).total_seconds() if isinstance(every, str) else float(every)
    rounds = 0
    while not stop_event.is_set():
        try:
            with Store(db_path) as store:
                result = run_once(store, check_tone=check_tone)
            if on_round is not None:
                on_round(result)
        except Exception as e:
            if on_error is None:
                raise
            on_error(e)
        rounds += 1
        stop_event.wait(seconds)
    return rounds


__all__ = [
    "Composer",
    "Delivery",
    "RunResult",
    "cancelled_triggers",
    "deliver_due",
    "preflight",
    "record_plan",
    "run_forever",
    "run_once",
    "unsubscribe_text",
]
