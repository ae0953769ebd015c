"""The journey layout: funnels on it equal funnels on the raw events (late events, identity links that merge
two people), and an incremental refresh equals a full rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cxlab.journey import funnel, funnels, layout
from cxlab.store import Store

T0 = datetime(2024, 5, 1)
EVENTS = ("page_view", "view_item", "add_to_cart", "checkout", "purchase", "email_open")
TOUCHPOINTS = ("site", "cart", "checkout", None)
STEPS = ("page_view", "view_item", "add_to_cart", "checkout", "purchase")


@pytest.fixture(autouse=True)
def manual_refresh(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest leaves the layout alone here, so tests can refresh it themselves (but for the one test of the
    ingest hook)."""
    if request.node.name != "test_ingesting_events_keeps_the_layout_current":
        monkeypatch.setattr(Store, "keep_journey_layout", False)


def random_events(seed: int, n: int, start: int = 0, people: int = 40) -> pa.Table:
    """``n`` events of ``people`` customers and their anonymous ids (those of every 4th person linked by an
    event carrying both),
    within about 20 days, many within the same second and millisecond."""
    rng = np.random.default_rng(seed)
    person = rng.integers(0, people, n)
    anon = rng.random(n) < 0.5
    both = (rng.random(n) < 0.05) & (person % 4 == 0)  # only these people's anonymous ids are linked
    # milliseconds drawn from a coarse grid so that ties happen
    ms = rng.integers(0, 20 * 86400, n) * 1000 + rng.choice([0, 0, 250, 999], n)
    return pa.table(
        {
            "event_id": [f"e{seed}-{start + i:06d}" for i in range(n)],
            "ts": pa.array([T0 + timedelta(milliseconds=int(x)) for x in ms], pa.timestamp("us")),
            "customer_id": [
                f"c{p:03d}" if (not a or b) else None for p, a, b in zip(person, anon, both, strict=True)
            ],
            "anonymous_id": [
                f"a{p:03d}-{p % 3}" if a or b else None for p, a, b in zip(person, anon, both, strict=True)
            ],
            "event": rng.choice(EVENTS, n, p=[0.3, 0.25, 0.15, 0.12, 0.08, 0.1]).tolist(),
            "touchpoint": [TOUCHPOINTS[i] for i in rng.integers(0, len(TOUCHPOINTS), n)],
            "channel": rng.choice(["email", "paid_search", "direct"], n).tolist(),
        }
    )


def link_events(pairs: list[tuple[str, str]], hours: float, tag: str) -> pa.Table:
    """``identify`` events linking each (anonymous id, customer id)."""
    return pa.table(
        {
            "event_id": [f"link-{tag}-{i}" for i in range(len(pairs))],
            "ts": pa.array([T0 + timedelta(hours=hours)] * len(pairs), pa.timestamp("us")),
            "customer_id": [c for _, c in pairs],
            "anonymous_id": [a for a, _ in pairs],
            "event": ["identify"] * len(pairs),
            "touchpoint": [None] * len(pairs),
            "channel": [None] * len(pairs),
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "cxlab.duckdb") as s:
        yield s


def raw_funnel(s: Store, steps: tuple[str, ...] = STEPS, **kw: object) -> funnels.Funnel:
    """The funnel on the raw events (the layout switched off)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(funnels, "_layout_connection", lambda *a: None)
        return funnel(s.ibis(), s.config, steps, "2d", **kw)  # type: ignore[arg-type]


def layout_funnel(s: Store, steps: tuple[str, ...] = STEPS, **kw: object) -> funnels.Funnel:
    """The funnel on the layout, asserting that it was read."""
    assert funnels._layout_connection(
        s.ibis(), [funnels.Step.parse(x) for x in steps], "ordered", "people", ()
    )
    return funnel(s.ibis(), s.config, steps, "2d", **kw)  # type: ignore[arg-type]


def assert_same(a: funnels.Funnel, b: funnels.Funnel) -> None:
    pd.testing.assert_frame_equal(a.steps, b.steps)
    pd.testing.assert_frame_equal(a.time_to_convert, b.time_to_convert)
    if a.breakdown is not None or b.breakdown is not None:
        assert a.breakdown is not None and b.breakdown is not None
        pd.testing.assert_frame_equal(a.breakdown, b.breakdown)


def content(s: Store) -> pd.DataFrame:
    """The layout as names, each person's events in stored order: what any two builds must agree on."""
    df = s.con.execute(
        f"""SELECT p.person_id, j.t, e.name AS event, tp.name AS touchpoint, ch.name AS channel
        FROM {layout.LAYOUT} j JOIN {layout.PEOPLE} p USING (pid)
        LEFT JOIN {layout.CODES} e ON e.kind = 'ev' AND e.code = j.ev
        LEFT JOIN {layout.CODES} tp ON tp.kind = 'tp' AND tp.code = j.tp
        LEFT JOIN {layout.CODES} ch ON ch.kind = 'ch' AND ch.code = j.ch"""
    ).df()
    return df.sort_values(list(df.columns), na_position="first").reset_index(drop=True)


def assert_complete(s: Store) -> None:
    """Every event once, each person once, a full build stored in (pid, t) order."""
    n = s.con.execute(
        f"SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM {layout.LAYOUT})"
    ).fetchone()
    assert n is not None and n[0] == n[1]
    people = s.con.execute(
        f"SELECT count(*), count(DISTINCT pid), count(DISTINCT person_id) FROM {layout.PEOPLE}"
    )
    assert len(set(people.fetchall()[0])) == 1


def assert_one_run(s: Store) -> None:
    pid, t = s.con.execute(f"SELECT pid, t FROM {layout.LAYOUT}").fetchnumpy().values()
    assert np.all((np.diff(pid) > 0) | ((np.diff(pid) == 0) & (np.diff(t) >= 0)))


def test_funnel_on_the_layout_equals_the_raw_events(store: Store) -> None:
    store.ingest("events", random_events(1, 3000))
    assert layout.status(store.con) == "missing"
    for steps in (STEPS, ("page_view", "page_view", "purchase"), ("touchpoint:cart", "purchase")):
        assert_same(layout_funnel(store, steps), raw_funnel(store, steps))
    assert layout.status(store.con) == "current"
    assert_same(layout_funnel(store, by="channel"), raw_funnel(store, by="channel"))
    assert int(layout_funnel(store).steps["units"].iloc[-1]) > 0  # the data reaches the last step


def test_incremental_refresh_equals_a_full_rebuild(store: Store, tmp_path: Path) -> None:
    store.ingest("events", random_events(2, 2500))
    assert layout.refresh(store.con).mode == "full"
    # late events (times before the stored ones), new people, and links that make anonymous people customers
    late = random_events(3, 300, people=60)
    store.ingest("events", late)
    store.ingest("events", link_events([("a021-0", "c001"), ("a007-1", "c007"), ("a050-2", "c099")], 5, "x"))
    assert layout.status(store.con) == "stale"
    moved = store.con.execute(
        f"SELECT count(*) FROM {layout.LAYOUT} JOIN {layout.PEOPLE} USING (pid) WHERE person_id = 'anon:a021-0'"
    ).fetchone()
    assert moved is not None and moved[0] > 0  # the anonymous person had a run of its own before the link
    update = layout.refresh(store.con)
    assert update.mode == "incremental" and update.events == 303
    assert_complete(store)
    incremental = content(store)
    assert "anon:a021-0" not in set(incremental["person_id"])
    assert_same(layout_funnel(store), raw_funnel(store))
    assert_same(layout_funnel(store, by="channel"), raw_funnel(store, by="channel"))
    assert layout.refresh(store.con, full=True).mode == "full"
    assert_one_run(store)
    pd.testing.assert_frame_equal(incremental, content(store))


def test_what_it_cannot_follow_rebuilds_whole(store: Store) -> None:
    store.ingest("events", random_events(4, 1500))
    layout.refresh(store.con)
    # an anonymous id linked to a customer already, now also to a smaller customer id: the run splits
    store.ingest("events", link_events([("a004-1", "c000")], 30, "y"))
    assert layout.status(store.con) == "stale"
    assert layout.refresh(store.con).mode == "full"
    assert_same(layout_funnel(store), raw_funnel(store))
    store.con.execute("DELETE FROM events WHERE customer_id = 'c003'")
    assert layout.status(store.con) == "rebuild"
    assert layout.refresh(store.con).mode == "full"
    assert_complete(store)
    assert_same(layout_funnel(store), raw_funnel(store))


def test_a_read_only_store_with_a_stale_layout_reads_the_raw_events(tmp_path: Path) -> None:
    with Store(tmp_path / "cxlab.duckdb") as s:
        s.ingest("events", random_events(5, 800))
        layout.refresh(s.con)
        s.ingest("events", random_events(6, 200, start=800))
        expected = raw_funnel(s)
    with Store(tmp_path / "cxlab.duckdb", read_only=True) as ro:
        assert layout.status(ro.con) == "stale" and not layout.ready(ro.con)
        assert_same(funnel(ro.ibis(), ro.config, STEPS, "2d"), expected)


def test_the_layout_is_internal(store: Store) -> None:
    store.ingest("events", random_events(7, 200))
    layout.refresh(store.con)
    assert all(t.startswith("_cxlab_") for t in layout.TABLES)
    assert layout.status(store.con) == "current"


def test_erasing_a_customer_drops_the_layout_and_the_next_funnel_rebuilds_it(tmp_path: Path) -> None:
    from cxlab.privacy.erase import erase

    with Store(tmp_path / "cxlab.duckdb") as s:
        s.ingest("events", random_events(8, 1200))
        assert layout.refresh(s.con).mode == "full"
    erase(tmp_path / "cxlab.duckdb", "c005")
    with Store(tmp_path / "cxlab.duckdb") as s:
        assert layout.status(s.con) == "missing"  # the erased person's runs went with it
        assert_same(layout_funnel(s), raw_funnel(s))
        assert "c005" not in set(content(s)["person_id"])


def test_ingesting_events_keeps_the_layout_current(store: Store) -> None:
    store.ingest("events", random_events(9, 600))
    assert layout.status(store.con) == "current"  # built by the ingest, so read-only commands can use it
    store.ingest("events", random_events(10, 100, start=600))
    assert layout.status(store.con) == "current"
    store.ingest("events", random_events(10, 100, start=600))  # nothing new: nothing to do
    assert layout.status(store.con) == "current"


def test_filtered_views_read_the_raw_events(store: Store) -> None:
    from datetime import date

    import ibis

    from cxlab.store.filters import Filters, restrict

    store.ingest("events", random_events(11, 1500))
    layout.refresh(store.con)
    cur = store.con.cursor()
    (database,) = cur.execute("SELECT current_database()").fetchone() or ("",)
    restrict(cur, Filters(start=date(2024, 5, 1), end=date(2024, 5, 8)), database)
    assert layout.filtered(cur) and not layout.ready(cur)  # the week's events: not the layout's
    assert layout.status(store.con) == "current"  # untouched: the views didn't rebuild it
    filtered_con = ibis.duckdb.from_connection(cur)
    got = funnel(filtered_con, store.config, STEPS, "2d")
    everything = layout_funnel(store)
    assert got.to_dict()["steps"][0]["customers"] < everything.to_dict()["steps"][0]["customers"]
