"""One batch of customers, simulated end to end and turned into Arrow tables plus truth statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlab.demo import flows as F
from cxlab.demo import params as P
from cxlab.demo.blocks import EventBlock, PersonIds, concat, email_events, ids, names, rank_within, select
from cxlab.demo.catalog import Catalog, make_catalog
from cxlab.demo.experiment import VARIANTS, Exposures, assign, exposures
from cxlab.demo.feedback import SOURCES, Feedback, make_feedback
from cxlab.demo.fulfilment import STATUSES, Fulfilment, fulfil
from cxlab.demo.journeys import walk
from cxlab.demo.population import Population, draw_population
from cxlab.demo.purchases import Orders, concat_orders, customer_value, make_orders, repeat_purchases
from cxlab.demo.sessions import (
    Sessions,
    concat_sessions,
    customer_sessions,
    prospect_sessions,
)
from cxlab.demo.spend import count_paid_clicks
from cxlab.demo.truth import Stats
from cxlab.demo.writer import PartWriters
from cxlab.privacy.keys import keyed_contact, sha256_hex
from cxlab.schema import TABLES
from cxlab.schema.tables import ITEM_TYPE

NEVER = np.iinfo(np.int64).max


@dataclass
class Batch:
    """A simulated batch: its rows per canonical table and its share of the truth statistics."""

    tables: dict[str, pa.Table]
    stats: Stats


CATALOG_STREAM = 2**31
"""Spawn key of the catalog's random stream (batches use 0, 1, 2, ...)."""


def make_demo_catalog(seed: int) -> Catalog:
    """The catalog of a run: drawn from its own stream of ``seed``."""
    return make_catalog(
        np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(CATALOG_STREAM,))))
    )


def simulate_chunk(
    seed: int,
    chunk: int,
    first_gid: int,
    n: int,
    data_dir: str,
    secret: bytes | None = None,
    done: Callable[[int], None] | None = None,
) -> tuple[Stats, dict[str, int], dict[str, Path]]:
    """Simulate and write customers ``first_gid .. first_gid + n - 1`` (batch by batch) as part ``chunk`` of
    every table but ``changes``; returns the chunk's statistics, row counts and files. ``secret``: the
    store's, for keyed contact hashes (see :func:`customers_table`). ``done(k)`` is told after each batch
    that ``k`` of the ``n`` people are simulated."""
    catalog = make_demo_catalog(seed)
    stats = Stats()
    names_ = tuple(t for t in TABLES if t not in ("changes", "spend"))
    with PartWriters(Path(data_dir), chunk, names_) as writers:
        for first in range(first_gid, first_gid + n, P.BATCH_SIZE):
            size = min(P.BATCH_SIZE, first_gid + n - first)
            batch = simulate_batch(seed, first // P.BATCH_SIZE, first, size, catalog, secret)
            for name, table in batch.tables.items():
                writers.write(name, table)
            stats.add(batch.stats)
            if done is not None:
                done(first + size - first_gid)
    return stats, writers.counts, writers.files


def batch_rng(seed: int, batch: int) -> np.random.Generator:
    """The generator of batch ``batch``: independent of how many batches there are."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(batch,))))


def simulate_batch(
    seed: int, batch: int, first_gid: int, n: int, catalog: Catalog, secret: bytes | None = None
) -> Batch:
    """Simulate prospects ``first_gid .. first_gid + n - 1``."""
    rng = batch_rng(seed, batch)
    pop = draw_population(rng, first_gid, n)
    lam, drop, nu = customer_value(rng, n)
    variant = assign(rng, n)
    held = {name: F.held_out(name, pop.gid) for name in P.FLOW_NAMES}

    sess0, mails = prospect_sessions(rng, pop, held["abandoned_cart"])
    # the abandoned-cart flow's effect: an e-mail brings a prospect's first purchase forward
    sess0, ac, ac_base = F.pull_first_purchases(rng, pop, sess0, mails)
    buy0 = np.flatnonzero(sess0.stype == P.PURCHASE)
    buyer = sess0.person[buy0]
    orders0 = make_orders(
        rng, catalog, buyer, np.ones(buy0.size, dtype=np.int64), nu, pop.price_sensitivity, pop.consent_email
    )
    sess0.order[buy0] = np.arange(buy0.size)
    oid0 = ids("O", pop.gid[buyer], orders0.seq, 3)
    w0 = walk(rng, sess0, 0, orders0, oid0, catalog)
    orders0.ts = w0.purchase_ts[buy0]
    orders0.channel = sess0.channel[buy0]
    orders0.session = buy0

    ident = np.full(n, NEVER, dtype=np.int64)
    signed = np.flatnonzero(sess0.signup)
    np.minimum.at(ident, sess0.person[signed], w0.signup_ts[signed])
    first_ts = orders0.ts
    ident[buyer] = np.minimum(ident[buyer], first_ts)

    owner, rep_ts, alive_end = repeat_purchases(rng, first_ts, lam[buyer], drop[buyer])
    n_rep = np.bincount(owner, minlength=buyer.size)
    rep_person = buyer[owner]
    rep_seq = 2 + rank_within(owner)
    # the birthday flow's effect: an e-mail brings a customer's next repeat purchase forward
    bd, bd_pulled, rep_ts_before = F.pull_repeat_purchases(
        rng, pop, held["birthday"], ident, buyer, first_ts, rep_person, rep_ts
    )
    sess1 = customer_sessions(rng, pop, rep_person, rep_ts, buyer, first_ts, alive_end, n_rep)
    F.mark_sessions(sess1, bd_pulled, "loyalty", "birthday")
    m = rep_person.size
    orders1 = make_orders(rng, catalog, rep_person, rep_seq, nu, pop.price_sensitivity, pop.consent_email)
    sess1.order[:m] = np.arange(m)
    oid1 = ids("O", pop.gid[rep_person], rep_seq, 3)
    w1 = walk(rng, sess1, sess0.n, orders1, oid1, catalog)
    orders1.ts = rep_ts
    orders1.channel = sess1.channel[:m]
    orders1.session = sess0.n + np.arange(m)

    orders = concat_orders(orders0, orders1)
    order_ids = pa.concat_arrays([oid0, oid1])
    ful = fulfil(rng, pop, orders, order_ids, variant, catalog, held["review_request"])
    fb = make_feedback(rng, pop, orders, ful, catalog)
    exp = exposures(orders, ful)

    blocks = w0.blocks + w1.blocks + ful.blocks
    for trig, tp, camp in ((ac, "abandoned_cart_email", "abandoned_cart"), (bd, "loyalty", "birthday")):
        sent = np.flatnonzero(~trig.held & trig.delivered)
        blocks += email_events(
            trig.person[sent],
            trig.send[sent],
            trig.opened[sent],
            np.full(sent.size, -1),
            touchpoint=tp,
            campaign=camp,
            device=pop.device[trig.person[sent]],
        )
    blocks += newsletters(rng, pop, ident)

    # the orders as they would have been without each flow's own effect
    pulled = np.zeros(n, dtype=bool)
    pulled[ac_base[0]] = True
    keep0, keep1 = ~pulled[buyer], ~pulled[rep_person]
    ac_orders = (
        np.concatenate([ac_base[0], buyer[keep0], rep_person[keep1]]),
        np.concatenate([ac_base[1], first_ts[keep0], rep_ts[keep1]]),
    )
    bd_orders = (np.concatenate([buyer, rep_person]), np.concatenate([first_ts, rep_ts_before]))
    flow_stats, flow_exp = flow_outcomes(pop, held, orders, ful, ac, ac_orders, bd, bd_orders)
    sessions = concat_sessions([sess0, sess1])
    session_start = np.concatenate([w0.start, w1.start])
    tables = {
        "events": events_table(pop, concat(blocks), ident, sessions, session_start),
        "customers": customers_table(seed, pop, ident, secret),
        "orders": orders_table(pop, orders, order_ids, ful, catalog),
        "feedback": feedback_table(pop, fb, order_ids),
        "exposures": pa.concat_tables([exposures_table(pop, exp), *flow_exp]),
    }
    checkout = np.concatenate([w0.checkout, w1.checkout])
    stats = batch_stats(pop, sessions, session_start, checkout, orders, ful, fb, exp, ident, buyer)
    stats.flows = flow_stats
    return Batch(tables, stats)


def flow_outcomes(
    pop: Population,
    held: dict[str, np.ndarray],
    orders: Orders,
    ful: Fulfilment,
    ac: F.Triggers,
    ac_base: tuple[np.ndarray, np.ndarray],
    bd: F.Triggers,
    bd_base: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, list[pa.Table]]:
    """Each flow's truth statistics (rows of :func:`cxlab.demo.flows.flow_stats`) and exposure rows.

    ``ac_base`` and ``bd_base``: (person, ts) of the orders as they would have been without that flow's
    effect (the other flows' effects are the same in both of its arms)."""
    stats = np.zeros((len(P.FLOW_NAMES), 6))
    tables = []
    for name, trig, base in (("abandoned_cart", ac, ac_base), ("birthday", bd, bd_base)):
        person, t1 = F.first_per_person(trig.person, trig.send)
        h = held[name][person]
        ok = trig.bonus_ts >= 0
        stats[F.FLOW_INDEX[name]] = F.flow_stats(
            person,
            t1,
            h,
            F.SPECS[name].window_days,
            base,
            (orders.person, orders.ts),
            (trig.person[ok], trig.bonus_ts[ok], np.full(int(ok.sum()), trig.q)),
        )
        tables.append(flow_exposures_table(pop, name, person, t1, h))
    name = "review_request"
    due = pop.consent_email[orders.person] & (ful.review_request_ts < P.END_S)
    person, t1 = F.first_per_person(orders.person[due], ful.review_request_ts[due])
    h = held[name][person]
    cand = ful.review_candidate_ts
    anyway = ful.review_without_request & (cand < P.END_S)
    seen = (ful.review_ts >= 0) & (ful.review_ts < P.END_S)
    extra = ~ful.review_without_request & (cand < P.END_S)
    stats[F.FLOW_INDEX[name]] = F.flow_stats(
        person,
        t1,
        h,
        F.SPECS[name].window_days,
        (orders.person[anyway], cand[anyway]),
        (orders.person[seen], ful.review_ts[seen]),
        (orders.person[extra], cand[extra], ful.review_extra_p[extra]),
    )
    tables.append(flow_exposures_table(pop, name, person, t1, h))
    return stats, tables


def flow_exposures_table(
    pop: Population, flow: str, person: np.ndarray, t1: np.ndarray, held: np.ndarray
) -> pa.Table:
    cols = F.exposures_rows(pop.gid, flow, person, t1, held)
    cols["ts"] = _ts(cols["ts"])
    return pa.table(cols, schema=TABLES["exposures"].arrow_schema)


def newsletters(rng: np.random.Generator, pop: Population, ident: np.ndarray) -> list[EventBlock]:
    """The fortnightly newsletter to identified people who consented, from identification on."""
    first_send = P.START_S + P.DAY + 9 * P.HOUR  # Tuesday 2024-01-02 09:00
    every = P.NEWSLETTER_EVERY_DAYS * P.DAY
    who = np.flatnonzero((ident < P.END_S) & pop.consent_email)
    k0 = np.maximum(0, -((first_send - ident[who]) // every))
    k_end = -((first_send - P.END_S) // every)
    count = np.maximum(k_end - k0, 0)
    person = np.repeat(who, count)
    k = np.repeat(k0, count) + rank_within(person)
    send = first_send + k * every + rng.integers(0, 2 * P.HOUR, size=person.size)
    opened = np.where(
        rng.random(person.size) < P.NEWSLETTER_OPEN_P,
        send + 60 + np.minimum(rng.exponential(4 * P.HOUR, person.size), 2 * P.DAY).astype(np.int64),
        -1,
    )
    return email_events(
        person,
        send,
        opened,
        np.full(person.size, -1),
        touchpoint="newsletter",
        campaign="newsletter",
        device=pop.device[person],
    )


def _ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype(np.int64) * 1_000_000, pa.timestamp("us"))


def _null_where(arr: pa.Array, null: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(null), pa.scalar(None, arr.type), arr)


def events_table(
    pop: Population, ev: EventBlock, ident: np.ndarray, sessions: Sessions, session_start: np.ndarray
) -> pa.Table:
    """The events of the batch inside the window, sorted by person and time, with ids."""
    keep = np.flatnonzero((ev.ts >= P.START_S) & (ev.ts < P.END_S))
    order = keep[np.lexsort((keep, ev.ts[keep], ev.person[keep]))]
    ev = select(ev, order)
    seq = rank_within(ev.person)
    pid = PersonIds(pop.gid)

    s_order = np.lexsort((np.arange(sessions.n), session_start, sessions.person))
    s_num = np.empty(sessions.n, dtype=np.int64)
    s_num[s_order] = rank_within(sessions.person[s_order])
    has_session = ev.session >= 0
    session_id = pid.with_seq("S", ev.person, s_num[np.maximum(ev.session, 0)] + 1, 4)
    known = ev.ts >= ident[ev.person]
    cols = {
        "event_id": pid.with_seq("E", ev.person, seq + 1, 5),
        "ts": _ts(ev.ts),
        "customer_id": _null_where(pid.of("C", ev.person), ~known),
        "anonymous_id": pid.of("A", ev.person),
        "session_id": _null_where(session_id, ~has_session),
        "event": names(P.EVENTS, ev.event),
        "channel": names(P.CHANNELS, ev.channel),
        "touchpoint": names(P.TOUCHPOINTS, ev.touchpoint),
        "campaign": names(P.CAMPAIGNS, ev.campaign),
        "device": names(P.DEVICES, ev.device),
        "revenue": pa.array(ev.revenue, pa.float64(), from_pandas=True),
        "properties": ev.properties,
    }
    return pa.table(cols, schema=TABLES["events"].arrow_schema)


def _contact_keys(values: list[str], secret: bytes | None) -> list[str]:
    """Keyed contact hashes with the store's ``secret``; without one, the plain SHA-256 digests (the
    addresses are made up), which ``cxlab privacy migrate-keys`` can key later."""
    if secret is None:
        return [sha256_hex(v) for v in values]
    return [keyed_contact(secret, v) for v in values]


def customers_table(seed: int, pop: Population, ident: np.ndarray, secret: bytes | None = None) -> pa.Table:
    """Everyone identified (signed up or bought) inside the window; e-mail and phone as keyed hashes with
    the store's ``secret`` (:func:`cxlab.privacy.keys.keyed_contact`)."""
    who = np.flatnonzero(ident < P.END_S)
    gid = pop.gid[who]
    emails = F.demo_emails(gid)
    phones = F.demo_phones(gid, pop.country[who], seed)
    phone_hash = pa.array(_contact_keys(phones, secret), pa.string())
    bday = pop.birthday[who]
    cols = {
        "customer_id": ids("C", gid),
        "first_seen": _ts(pop.first_visit[who]),
        "country": names(P.COUNTRIES, pop.country[who]),
        "language": names(P.LANGUAGES, pop.language[who]),
        "birthday": pa.array(bday.astype(np.int32), pa.date32(), mask=~pop.has_birthday[who]),
        "consent_email": pa.array(pop.consent_email[who]),
        "consent_sms": pa.array(pop.consent_sms[who]),
        "email_hash": pa.array(_contact_keys(emails, secret), pa.string()),
        "phone_hash": _null_where(phone_hash, ~pop.has_phone[who]),
    }
    return pa.table(cols, schema=TABLES["customers"].arrow_schema)


def orders_table(
    pop: Population, orders: Orders, order_ids: pa.Array, ful: Fulfilment, catalog: Catalog
) -> pa.Table:
    """Orders sorted by customer and time, with their line items."""
    perm = np.lexsort((orders.ts, orders.person))
    n_lines = orders.n_lines[perm]
    offsets = np.r_[0, np.cumsum(n_lines)].astype(np.int32)
    line = np.repeat(orders.line_start[perm], n_lines) + (
        np.arange(offsets[-1]) - np.repeat(offsets[:-1], n_lines)
    )
    items = pa.StructArray.from_arrays(
        [
            catalog.id_array.take(pa.array(orders.line_product[line])),
            pa.array(orders.line_qty[line].astype(np.int32)),
            pa.array(orders.line_price[line]),
        ],
        fields=list(ITEM_TYPE),
    )
    person = orders.person[perm]
    code = orders.code[perm]
    take = pa.array(perm)
    cols = {
        "order_id": order_ids.take(take),
        "customer_id": ids("C", pop.gid[person]),
        "ts": _ts(orders.ts[perm]),
        "revenue": pa.array(orders.revenue[perm]),
        "currency": pa.array(["EUR"], pa.string()).take(pa.array(np.zeros(perm.size, dtype=np.int64))),
        "channel": names(P.CHANNELS, orders.channel[perm]),
        "status": names(STATUSES, ful.status[perm]),
        "discount": pa.array(orders.discount[perm]),
        "discount_code": names(P.DISCOUNT_CODES, code),
        "refunded": pa.array(ful.refunded[perm]),
        "country": names(P.COUNTRIES, pop.country[person]),
        "items": pa.ListArray.from_arrays(pa.array(offsets), items, type=pa.list_(ITEM_TYPE)),
    }
    return pa.table(cols, schema=TABLES["orders"].arrow_schema)


def _inside(ts: np.ndarray) -> np.ndarray:
    return (ts >= P.START_S) & (ts < P.END_S)


def feedback_table(pop: Population, fb: Feedback, order_ids: pa.Array) -> pa.Table:
    keep = np.flatnonzero(_inside(fb.ts))
    keep = keep[np.lexsort((fb.ts[keep], fb.person[keep]))]
    person = fb.person[keep]
    gid = pop.gid[person]
    cols = {
        "feedback_id": ids("F", gid, rank_within(person) + 1, 3),
        "customer_id": ids("C", gid),
        "ts": _ts(fb.ts[keep]),
        "source": names(SOURCES, fb.source[keep]),
        "touchpoint": names(P.TOUCHPOINTS, fb.touchpoint[keep]),
        "score": pa.array(fb.score[keep], pa.float64(), from_pandas=True),
        "text": pa.array([fb.text[i] for i in keep], pa.string()),
        "language": names(P.LANGUAGES, pop.language[person]),
        "order_id": order_ids.take(pa.array(fb.order[keep])),
    }
    return pa.table(cols, schema=TABLES["feedback"].arrow_schema)


def exposures_table(pop: Population, exp: Exposures) -> pa.Table:
    n = exp.person.size
    cols = {
        "experiment_id": pa.array([P.EXPERIMENT_ID], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64))),
        "variant": names(VARIANTS, exp.variant),
        "customer_id": ids("C", pop.gid[exp.person]),
        "ts": _ts(exp.ts),
    }
    return pa.table(cols, schema=TABLES["exposures"].arrow_schema)


def batch_stats(
    pop: Population,
    sessions: Sessions,
    session_start: np.ndarray,
    checkout: np.ndarray,
    orders: Orders,
    ful: Fulfilment,
    fb: Feedback,
    exp: Exposures,
    ident: np.ndarray,
    buyer: np.ndarray,
) -> Stats:
    """The batch's contribution to the realised effects in ``truth.json``."""
    nc, nt = len(P.CHANNELS), len(P.TOUCHPOINTS)
    s = Stats()
    s.prospects = pop.n
    s.identified = float((ident < P.END_S).sum())
    s.buyers = np.unique(orders.person).size
    s.orders = orders.n
    s.repeat_orders = float((orders.seq > 1).sum())
    s.revenue = float(orders.revenue.sum())
    buy = sessions.stype == P.PURCHASE
    s.sessions = np.bincount(sessions.channel, minlength=nc).astype(float)
    s.purchase_sessions = np.bincount(sessions.channel[buy], minlength=nc).astype(float)
    s.visitors = np.bincount(pop.primary, minlength=nc).astype(float)
    s.converted_visitors = np.bincount(pop.primary[np.unique(orders.person)], minlength=nc).astype(float)

    delivered = ful.deliver_ts < P.END_S
    country = pop.country[orders.person]
    s.deliveries = np.bincount(country[delivered], minlength=4).astype(float)
    s.late = np.bincount(country[delivered & ful.late], minlength=4).astype(float)
    s.damaged = np.bincount(country[delivered & ful.damaged], minlength=4).astype(float)
    base = (ful.deliver_ts + 30 * P.DAY < P.END_S) & ~ful.damaged
    late = ful.late.astype(np.int64)
    s.review_base = np.bincount(late[base], minlength=2).astype(float)
    s.reviews_from_base = np.bincount(late[base & (ful.review_ts >= 0)], minlength=2).astype(float)

    ok = _inside(fb.ts)
    src = fb.source
    nps = ok & (src == SOURCES.index("nps"))
    nps_late = (ful.late | ful.damaged)[fb.order[nps]].astype(np.int64)
    s.nps_n = np.bincount(nps_late, minlength=2).astype(float)
    s.nps_sum = np.bincount(nps_late, weights=fb.score[nps], minlength=2)
    s.nps_promoters = np.bincount(nps_late[fb.score[nps] >= 9], minlength=2).astype(float)
    s.feedback_n = np.bincount(fb.touchpoint[ok], minlength=nt).astype(float)
    s.feedback_negative = np.bincount(fb.touchpoint[ok & (fb.tone < 0)], minlength=nt).astype(float)
    rev = ok & (src == SOURCES.index("review"))
    s.review_n = np.bincount(fb.touchpoint[rev], minlength=nt).astype(float)
    s.review_sum = np.bincount(fb.touchpoint[rev], weights=fb.score[rev], minlength=nt)
    ces = ok & (src == SOURCES.index("ces"))
    ces_after = (fb.ts[ces] >= P.CHECKOUT_REDESIGN_S).astype(np.int64)
    s.ces_n = np.bincount(ces_after, minlength=2).astype(float)
    s.ces_sum = np.bincount(ces_after, weights=fb.score[ces], minlength=2)

    s.exposed = np.bincount(exp.variant, minlength=2).astype(float)
    s.exposed_clicks = np.bincount(exp.variant[exp.clicked], minlength=2).astype(float)
    after = (session_start >= P.CHECKOUT_REDESIGN_S).astype(np.int64)
    s.checkout_sessions = np.bincount(after[checkout], minlength=2).astype(float)
    s.checkout_purchases = np.bincount(after[checkout & buy], minlength=2).astype(float)
    s.paid_clicks = count_paid_clicks(session_start, sessions.channel, sessions.campaign)
    return s
