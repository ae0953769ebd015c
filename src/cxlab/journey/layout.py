"""The journey layout: every person's events, people already stitched, as sorted integer runs beside ``events``.

Funnels read it instead of scanning, stitching and grouping the raw events again. Five cxlab-internal tables
(names starting with ``_cxlab_``, so exports and other engines never see them):

* ``_cxlab_journey`` (``pid, t, ev, tp, ch``): one row per event, integers only — the person's number, the
  funnel's clock (:func:`clock_sql`, epoch milliseconds), event, touchpoint and channel codes — stored as
  a few runs each in ``(pid, t)`` order (a full build is one);
* ``_cxlab_journey_people`` (``pid, person_id, customer_id``), ``_cxlab_journey_links`` (anonymous id → its
  customer, as :func:`cxlab.identity.with_person_id` links them), ``_cxlab_journey_codes`` (``kind, name,
  code``) and ``_cxlab_journey_meta`` (what of ``events`` the layout holds).

Kept current incrementally (:func:`refresh`): the events that arrived since (``rowid`` at or after the stored
watermark) are stitched with the stored links and appended as one block in ``(pid, t)`` order; a person keeps
their number, new people get new ones; when an anonymous id becomes linked to a customer, the anonymous
person's rows are relabelled to the customer's number (their run moves to the customer). Nothing else is
touched, so an update costs in proportion to the new events, not to the store or to the people they touch.
The table is then a few sorted runs (the build and each update's block), which a read merges (below).
Anything the layout can't follow incrementally rebuilds it whole: rows deleted from ``events`` (the event
count or watermark don't add up: erasure deletes, and DuckDB renumbers row ids when it vacuums), an erasure
(which deletes the customer's rows of ``_cxlab_journey_people`` and ``_cxlab_journey_links``, their
``customer_id`` columns being what :mod:`cxlab.privacy.subject` looks for), or an anonymous id re-linked to a
smaller customer id (the anonymous id's events would have to leave a customer's run).

Reading a funnel (:func:`funnel_units`) fetches the step events' ``pid, t`` and which steps they are as NumPy
arrays (one filtered scan), packs them into one integer each, merges the sorted runs (a stable sort: timsort on
runs costs little more than a pass; DuckDB's parallel scan also hands its chunks back out of order) and runs ClickHouse's ``windowFunnel`` rule vectorised: per step, one
``searchsorted`` finds each step-i event's latest step-(i−1) event at a strictly earlier time of the same
person, whose chain start it inherits (starts only grow with time, so the latest is the best, see
:func:`cxlab.journey.funnels._ordered_lists`).

Tried (demo events, 2 shared cores under a load average of 15–25 from other work, so the figures are
rough; bench/journey.py and bench/RESULTS.md, "Journey layout", have the rest):

* rebuilding each touched person under a fresh number, so that the table stays one sorted run: the newest 1%
  of the events (by time) touched 33% of the people (3,834 of 11,628 at 1M events) and the update cost 21% of
  a full build; appending the new events as a run and relabelling merged people (this module) costs in
  proportion to the new events: 3.5–4.3 s against 39–89 s for a full build at 10M (5–9%);
* reading with ``fetchnumpy`` (3.5–6.7 s for the 6.5M step events at 10M) against Arrow (0.6–2 s); the step
  bits computed in SQL (``CASE`` per step: 6–8 s) against a plain ``IN`` filter and a NumPy lookup;
* fresh NumPy temporaries against packing and unpacking in place: each new array of this size costs page
  faults, which under that load took about 0.9 s per 50 MB; the NumPy funnel went from 13–25 s to 2–3 s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb
import numpy as np
import pyarrow as pa

LAYOUT = "_cxlab_journey"
PEOPLE = "_cxlab_journey_people"
LINKS = "_cxlab_journey_links"
CODES = "_cxlab_journey_codes"
META = "_cxlab_journey_meta"
TABLES = (LAYOUT, PEOPLE, LINKS, CODES, META)
KINDS = {"ev": "event", "tp": "touchpoint", "ch": "channel"}
"""Layout column → the ``events`` column it codes."""
_NEW = "_cxlab_journey_new"
StepCode = tuple[str, int]
"""A funnel step on the layout: the column (``ev`` or ``tp``) and the code it must have."""


def clock_sql(ts: str = "ts") -> str:
    """The funnel's clock (milliseconds) in DuckDB SQL, exactly as :func:`cxlab.journey.funnels._marked`
    computes it through Ibis (``epoch_seconds`` cast to an integer, times 1000, plus the milliseconds)."""
    return f"CAST(epoch(CAST({ts} AS TIMESTAMP)) AS BIGINT) * 1000 + CAST(EXTRACT('MILLISECOND' FROM {ts}) % 1000 AS BIGINT)"


@dataclass(frozen=True)
class Update:
    """What :func:`refresh` did: ``mode`` full, incremental or none; the events read and the people added."""

    mode: Literal["full", "incremental", "none"]
    events: int
    people: int
    seconds: float


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> int:
    row = con.execute(sql, list(params)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    sql = (
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name IN (SELECT unnest(?))"
    )
    return _one(con, sql, [list(TABLES)]) == len(TABLES)


def status(con: duckdb.DuckDBPyConnection) -> Literal["current", "stale", "rebuild", "missing"]:
    """``current``: the layout holds exactly the stored events; ``stale``: events were added since (an
    incremental :func:`refresh` follows them); ``rebuild``: something it can't follow happened (events or
    people deleted); ``missing``: there is none. Counts only (one query), no scan of the events' columns."""
    if not _exists(con):
        return "missing"
    row = con.execute(
        f"""SELECT m.events, (SELECT count(*) FROM events), (SELECT count(*) FROM events WHERE rowid >= m.next_rowid),
               m.people = (SELECT count(*) FROM {PEOPLE}) AND m.links = (SELECT count(*) FROM {LINKS})
        FROM {META} m"""
    ).fetchone()
    if row is None:
        return "missing"
    events, total, new, same = row
    if total != events + new or not same:
        return "rebuild"
    return "stale" if new else "current"


def refresh(con: duckdb.DuckDBPyConnection, full: bool = False) -> Update:
    """Bring the layout up to date with ``events`` in one transaction: incrementally when it can (see the
    module doc), else (or with ``full``) rebuilt whole."""
    t0 = time.perf_counter()
    state = "rebuild" if full else status(con)
    if state == "current":
        return Update("none", 0, 0, time.perf_counter() - t0)
    con.execute("BEGIN TRANSACTION")
    try:
        if state in ("missing", "rebuild"):
            _create(con)
        n, people = _apply(con, incremental=state == "stale")
        if n < 0:  # a link the stored runs can't follow: rebuild whole
            con.execute("ROLLBACK")
            return refresh(con, full=True)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    mode: Literal["full", "incremental"] = "incremental" if state == "stale" else "full"
    return Update(mode, n, people, time.perf_counter() - t0)


def _create(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {LAYOUT} (pid BIGINT, t BIGINT, ev INTEGER, tp INTEGER, ch INTEGER);
        CREATE OR REPLACE TABLE {PEOPLE} (pid BIGINT, person_id VARCHAR, customer_id VARCHAR);
        CREATE OR REPLACE TABLE {LINKS} (anonymous_id VARCHAR, customer_id VARCHAR);
        CREATE OR REPLACE TABLE {CODES} (kind VARCHAR, name VARCHAR, code INTEGER);
        CREATE OR REPLACE TABLE {META} (events BIGINT, next_rowid BIGINT, people BIGINT, links BIGINT,
                                        next_pid BIGINT);
        INSERT INTO {META} VALUES (0, 0, 0, 0, 0)"""
    )


def _apply(con: duckdb.DuckDBPyConnection, incremental: bool) -> tuple[int, int]:
    """Add the events at or after the watermark; returns (events read, people added), or (-1, 0) when an
    anonymous id's customer changed (the caller rebuilds whole)."""
    (next_rowid,) = (int(x) for x in con.execute(f"SELECT next_rowid FROM {META}").fetchone() or (0,))
    top = _one(con, "SELECT max(rowid) + 1 FROM events")
    cols = f"customer_id, anonymous_id, {clock_sql()} AS t, event, touchpoint, channel"
    src = f"SELECT {cols} FROM events WHERE rowid >= {next_rowid} AND rowid < {top}"
    # a full build reads the events where they are; an update copies its few rows, read several times
    con.execute(f"CREATE OR REPLACE TEMP {'TABLE' if incremental else 'VIEW'} {_NEW} AS {src}")
    try:
        return _merge(con, top)
    finally:
        con.execute(f"DROP {'TABLE' if incremental else 'VIEW'} IF EXISTS {_NEW}")


def _merge(con: duckdb.DuckDBPyConnection, top: int) -> tuple[int, int]:
    n = _one(con, f"SELECT count(*) FROM {_NEW}")
    # links: an anonymous id seen with a customer id; its smallest customer id, as with_person_id
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cxlab_jlinks AS
        SELECT anonymous_id, min(customer_id) AS customer_id FROM {_NEW}
        WHERE customer_id IS NOT NULL AND anonymous_id IS NOT NULL GROUP BY anonymous_id"""
    )
    sql = f"SELECT count(*) FROM _cxlab_jlinks n JOIN {LINKS} o USING (anonymous_id) WHERE n.customer_id < o.customer_id"
    if _one(con, sql):
        return -1, 0
    # anonymous people that become a customer: their stored runs move to the customer
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cxlab_jmoved AS
        SELECT 'anon:' || anonymous_id AS person_id, customer_id AS target FROM _cxlab_jlinks
        ANTI JOIN {LINKS} USING (anonymous_id);
        INSERT INTO {LINKS} SELECT anonymous_id, target FROM (
            SELECT substr(person_id, 6) AS anonymous_id, target FROM _cxlab_jmoved)"""
    )
    for col, kind in KINDS.items():  # codes for names not seen before
        con.execute(
            f"""INSERT INTO {CODES} SELECT '{col}', name,
                  (SELECT coalesce(max(code), 0) FROM {CODES} WHERE kind = '{col}') + row_number() OVER (ORDER BY name)
                FROM (SELECT DISTINCT {kind} AS name FROM {_NEW} WHERE {kind} IS NOT NULL)
                ANTI JOIN (SELECT name FROM {CODES} WHERE kind = '{col}') USING (name)"""
        )
    codes = " ".join(
        f"LEFT JOIN (SELECT name, code FROM {CODES} WHERE kind = '{col}') c_{col} ON e.{kind} = c_{col}.name"
        for col, kind in KINDS.items()
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cxlab_jev AS
        SELECT coalesce(e.customer_id, l.customer_id, 'anon:' || e.anonymous_id) AS person_id,
               coalesce(e.customer_id, l.customer_id) AS customer_id, e.t,
               c_ev.code AS ev, c_tp.code AS tp, c_ch.code AS ch
        FROM {_NEW} e LEFT JOIN {LINKS} l USING (anonymous_id) {codes}"""
    )
    # numbers for people not seen before; a person keeps theirs (a customer's anonymous past moves to it)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cxlab_jpeople AS
        SELECT person_id, customer_id,
               (SELECT next_pid FROM {META}) + row_number() OVER (ORDER BY person_id) AS pid
        FROM (SELECT person_id, min(customer_id) AS customer_id FROM _cxlab_jev GROUP BY person_id)
        ANTI JOIN {PEOPLE} USING (person_id);
        INSERT INTO {PEOPLE} SELECT pid, person_id, customer_id FROM _cxlab_jpeople ORDER BY pid;
        CREATE OR REPLACE TEMP TABLE _cxlab_jrelabel AS
        SELECT a.pid AS old_pid, c.pid AS new_pid FROM _cxlab_jmoved m
        JOIN {PEOPLE} a USING (person_id) JOIN {PEOPLE} c ON c.person_id = m.target"""
    )
    people = _one(con, "SELECT count(*) FROM _cxlab_jpeople")
    con.execute(
        f"""UPDATE {LAYOUT} SET pid = r.new_pid FROM _cxlab_jrelabel r WHERE {LAYOUT}.pid = r.old_pid;
        DELETE FROM {PEOPLE} WHERE pid IN (SELECT old_pid FROM _cxlab_jrelabel);
        INSERT INTO {LAYOUT}
        SELECT p.pid, e.t, e.ev, e.tp, e.ch FROM _cxlab_jev e JOIN {PEOPLE} p USING (person_id) ORDER BY p.pid, e.t;
        UPDATE {META} SET events = events + {n}, next_rowid = {top},
            people = (SELECT count(*) FROM {PEOPLE}), links = (SELECT count(*) FROM {LINKS}),
            next_pid = next_pid + {people};
        DROP TABLE _cxlab_jlinks; DROP TABLE _cxlab_jmoved; DROP TABLE _cxlab_jev; DROP TABLE _cxlab_jpeople;
        DROP TABLE _cxlab_jrelabel"""
    )
    return n, people


def writable(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store is open for writing (a refresh can run)."""
    row = con.execute(
        "SELECT NOT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return bool(row and row[0])


def filtered(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``events`` or ``customers`` is a temporary view here (the global filters' scope, see
    :mod:`cxlab.store.filters`): the layout holds every stored event, so it can't answer for a filtered set."""
    sql = "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name IN ('events', 'customers')"
    return _one(con, sql) > 0


def ready(con: duckdb.DuckDBPyConnection) -> bool:
    """Make the layout current if the store is writable; whether it is current now (a read-only store with a
    stale layout: no, the caller reads the raw events). Never within filtered views (:func:`filtered`), nor
    when ``events`` is no table of this store (a view), nor when another writer holds the layout (the server's
    concurrent requests): the caller reads the raw events then."""
    try:
        if filtered(con) or not _base_events(con):
            return False
        state = status(con)
        if state != "current" and writable(con):
            refresh(con)
            state = "current"
    except duckdb.Error:  # a concurrent refresh won the write: read the raw events this time
        return False
    return state == "current"


def _base_events(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``events`` is a table of this store's main schema (not a view)."""
    sql = (
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = 'events'"
    )
    return _one(con, sql) == 1


def drop(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the layout (inside the caller's transaction). Whatever deletes or rewrites events in place (erase,
    retention, re-keying) calls it: row ids are renumbered when deleted rows are cleaned up, so the counts
    :func:`status` compares could add up again over different rows; the next refresh rebuilds it whole."""
    for table in TABLES:
        con.execute(f'DROP TABLE IF EXISTS "{table}"')


def codes(con: duckdb.DuckDBPyConnection, wanted: Sequence[tuple[str, str]]) -> list[StepCode]:
    """Each (layout column, name) as (column, code); code -1 for a name never stored."""
    found = {
        (kind, name): int(code)
        for kind, name, code in con.execute(f"SELECT kind, name, code FROM {CODES}").fetchall()
    }
    return [(c, found.get((c, n), -1)) for c, n in wanted]


def funnel_units(con: duckdb.DuckDBPyConnection, steps: Sequence[StepCode], window_ms: int) -> pa.Table:
    """The ordered funnel's rows per person who did step 1, from the layout: ``unit_key`` (the person's
    number), ``first_t``, ``r1..rk``, ``ttc`` — what :func:`cxlab.journey.funnels._per_unit` gives, without
    ``person_id`` (join :data:`PEOPLE` on ``pid`` for it).

    For each step, the events of step i whose person has a step-(i−1) event (of a chain within the window) at
    a strictly earlier time inherit the chain start of the latest such event: one ``searchsorted`` over keys
    ``pid · 2^b + t`` of the sources. Raises ``OverflowError`` when person numbers, time span and steps don't
    fit one 63-bit integer (the caller reads the raw events)."""
    k = len(steps)
    pid, t, m = _step_events(con, steps)
    key, m, tbits, lo = _sorted(pid, t, m, k)
    del pid, t
    tmask = (1 << tbits) - 1
    src_key = key[(m & 1) != 0]
    src_pid, src_a = src_key >> tbits, (src_key & tmask) + lo
    at = _starts(src_pid)  # each person's first step-1 event: the events are in time order
    units = src_pid[at]
    out: dict[str, pa.Array] = {
        "unit_key": pa.array(units),
        "first_t": pa.array(src_a[at]),
        "r1": pa.array(np.ones(len(units), dtype=bool)),
    }
    ttc = np.zeros(len(units), dtype=np.int64)
    done = np.ones(len(units), dtype=bool)
    for i in range(1, k):
        q_key = key[(m & (1 << i)) != 0]
        q_pid, q_t = q_key >> tbits, (q_key & tmask) + lo
        j = np.searchsorted(src_key, q_key, side="left") - 1  # latest source strictly before, any person
        ok = j >= 0
        j[~ok] = 0
        if len(src_pid):
            ok &= src_pid[j] == q_pid
            d = q_t - src_a[j]
        else:
            ok[:] = False
            d = np.zeros(len(q_t), dtype=np.int64)
        ok &= d <= window_ms
        src_key, src_pid, d = q_key[ok], q_pid[ok], d[ok]
        src_a = q_t[ok] - d
        starts = _starts(src_pid)
        at = np.searchsorted(units, src_pid[starts])
        done = np.zeros(len(units), dtype=bool)
        done[at] = True
        out[f"r{i + 1}"] = pa.array(done)
        if i == k - 1 and len(starts):  # time to convert: each person's shortest complete chain
            ttc[at] = np.minimum.reduceat(d, starts)
    out["ttc"] = pa.array(ttc, mask=~done)
    return pa.table(out)


def _step_events(
    con: duckdb.DuckDBPyConnection, steps: Sequence[StepCode]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``pid``, ``t`` and ``m`` (bit i set: the event is step i+1) of the events that are any step.

    A plain ``IN`` filter, read through Arrow (DuckDB's ``fetchnumpy`` is several times slower), the step
    bits looked up in NumPy from the codes (computing them in SQL doubled the read)."""
    cols = sorted({c for c, _ in steps})
    cond = " OR ".join(f"{c} IN ({', '.join(str(x) for c2, x in steps if c2 == c)})" for c in cols)
    read = ", ".join(f"coalesce({c}, 0) AS {c}" for c in cols)  # codes start at 1
    got = con.execute(f"SELECT pid, t, {read} FROM {LAYOUT} WHERE {cond}").to_arrow_table()
    m = np.zeros(got.num_rows, dtype=np.int64)
    for c in cols:
        bits = np.zeros(max(x for _, x in steps) + 2, dtype=np.int64)
        for i, (c2, x) in enumerate(steps):
            if c2 == c and x >= 0:
                bits[x] |= 1 << i
        m |= np.take(bits, got.column(c).to_numpy(), mode="clip")
    return got.column("pid").to_numpy(), got.column("t").to_numpy(), m


def _starts(sorted_ids: np.ndarray) -> np.ndarray:
    """Positions where a new value begins in a sorted array."""
    if not len(sorted_ids):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])


def _sorted(pid: np.ndarray, t: np.ndarray, m: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``key = pid · 2^b + (t − lo)`` in (person, time) order, the step bits ``m`` in the same order, ``b`` and
    ``lo``.

    The layout is a few runs stored in that order, and DuckDB returns a filtered scan's chunks in the order its
    threads finish them; one stable sort (timsort: it merges the runs) of the packed ``(key, m)`` integers puts
    them in order. In place where it can: each fresh array of this size costs page faults."""
    if not len(t):
        return np.zeros(0, dtype=np.int64), m, 0, 0
    lo = int(t.min())
    tbits = int(int(t.max()) - lo + 1).bit_length()
    if (int(pid.max()) + 1).bit_length() + tbits + k > 63:
        raise OverflowError("the layout's person numbers, time span and steps don't fit one 63-bit key")
    packed = pid.astype(np.int64)
    packed <<= tbits + k
    rest = t - lo
    rest <<= k
    rest |= m
    packed |= rest
    del rest
    if not bool(np.all(packed[1:] >= packed[:-1])):
        packed.sort(kind="stable")
    np.bitwise_and(packed, (1 << k) - 1, out=m)
    packed >>= k
    return packed, m.astype(np.min_scalar_type(1 << k)), tbits, lo


def names(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The stored names per layout column (ev, tp, ch), sorted: what ``events`` holds when the layout is
    current, without scanning it."""
    out: dict[str, list[str]] = {c: [] for c in KINDS}
    for kind, name in con.execute(f"SELECT kind, name FROM {CODES} ORDER BY kind, name").fetchall():
        out[kind].append(name)
    return out
