"""Markov attribution: cxlab (exact, linear algebra) vs ChannelAttribution's ``markov_model`` (simulation).

Synthetic journeys over ``--channels`` channels are drawn from a known absorbing chain, in the two forms
users have: one row per journey (``total_conversions`` 0/1, ``total_null`` 1/0) and aggregated unique
paths with counts. Both tools get the same pandas frame in the same process, and each call does all its
work from it (nothing is cached between calls): cxlab's time includes reading the frame (splitting the
path strings, summing equal paths), fitting the chain and the per-channel table (reach, touches,
efficiency); ChannelAttribution's its own parsing and simulation. ChannelAttribution is run at its
defaults with two seeds (0 and 1000: its ten folds use seeds ``seed .. seed + 9``, so nearby seeds share
folds) to show how far its answers move; cxlab is run twice to show they don't. Each tool's time is the
fastest of its ``--repeat`` runs (default 2; the two tools take turns, so both meet the same load on a
shared machine). Last, journeys are built from a demo store of about ``--events`` events and timed (the
engine's part of ``cxlab channels attribution`` without ``--paths``).

    python bench/attribution.py [--sizes 200000 2000000] [--channels 10] [--repeat 2] [--events 10000000]

ChannelAttribution is GPL-3: it is used here and in tests only, never by ``src/``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxlab.channels import JourneyOptions, attribute, build_journeys, read_paths

DATA = Path(__file__).parent / "data"


def chain(channels: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random absorbing chain: start distribution, channel-to-channel transitions, conversion and exit
    probabilities per channel (channels differ in how well they convert)."""
    rng = np.random.default_rng(seed)
    start = rng.dirichlet(np.full(channels, 2.0))
    p_conv = rng.uniform(0.02, 0.12, channels)
    p_exit = rng.uniform(0.25, 0.45, channels)
    move = rng.dirichlet(np.full(channels, 0.7), size=channels) * (1 - p_conv - p_exit)[:, None]
    return start, move, p_conv, p_exit


def journeys(n: int, channels: int, seed: int = 1, max_len: int = 30) -> pd.DataFrame:
    """``n`` journeys, one row each: ``path``, ``total_conversions``, ``total_conversion_value``,
    ``total_null`` (vectorised: one numpy step for all journeys still going)."""
    start, move, p_conv, p_exit = chain(channels)
    rng = np.random.default_rng(seed)
    names = np.array([f"channel_{i:02d}" for i in range(channels)], dtype=object)
    state = rng.choice(channels, size=n, p=start)
    steps = [state.copy()]
    alive = np.ones(n, dtype=bool)
    converted = np.zeros(n, dtype=bool)
    cum = np.cumsum(np.column_stack([move, p_conv, p_exit]), axis=1)
    for _ in range(max_len - 1):
        u = rng.random(n)
        nxt = (u[:, None] > cum[state]).sum(axis=1)
        converted |= alive & (nxt == channels)
        alive &= nxt < channels
        state = np.where(alive, np.minimum(nxt, channels - 1), state)
        steps.append(np.where(alive, state, -1))
    codes = np.column_stack(steps)
    lengths = (codes >= 0).sum(axis=1)
    flat = codes[codes >= 0]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(names[flat], pa.string()))
    paths = pc.binary_join(lists, " > ").to_numpy(zero_copy_only=False)
    value = np.where(converted, np.round(rng.gamma(2.0, 45.0, n), 2), 0.0)
    return pd.DataFrame(
        {
            "path": paths,
            "total_conversions": converted.astype(np.int64),
            "total_conversion_value": value,
            "total_null": (~converted).astype(np.int64),
        }
    )


def aggregate(per_journey: pd.DataFrame) -> pd.DataFrame:
    return per_journey.groupby("path", as_index=False, sort=False)[
        ["total_conversions", "total_conversion_value", "total_null"]
    ].sum()


def timed(f: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def cxlab_markov(df: pd.DataFrame, order: int) -> pd.Series:
    paths = read_paths(df)
    return attribute(paths, "markov", order=order).table.set_index("channel")["conversions"]


def ca_markov(ca: Any, df: pd.DataFrame, order: int, seed: int) -> pd.Series:
    with contextlib.redirect_stdout(io.StringIO()):
        res = ca.markov_model(
            df,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            order=order,
            seed=seed,
            verbose=False,
            flg_pro=False,
        )
    return res.set_index("channel_name")["total_conversions"]


def markov_bench(sizes: list[int], channels: int, repeat: int = 2) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        import ChannelAttribution as ca
    print(f"## Markov attribution, {channels} channels (cxlab exact vs ChannelAttribution markov_model)\n")
    print("| journeys | form | rows | order | cxlab s | ChannelAttribution s | speed-up | CA seed-to-seed max | "
          "cxlab run-to-run max | cxlab vs CA max |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        t_gen, per_journey = timed(lambda n=n: journeys(n, channels))
        forms = {"one row per journey": per_journey, "unique paths + counts": aggregate(per_journey)}
        for form, df in forms.items():
            for order in (1, 2):
                cx, ca_runs = [], []
                for i in range(repeat):  # taking turns, so that both meet the same load
                    seed = (0, 1000)[i % 2]
                    cx.append(timed(lambda df=df, order=order: cxlab_markov(df, order)))
                    ca_runs.append(timed(lambda df=df, o=order, s=seed: ca_markov(ca, df, o, s)))
                (_, ours), (_, ours2) = cx[:2]
                (_, theirs), (_, theirs2) = ca_runs[:2]
                t_ca = min(t for t, _ in ca_runs)
                theirs, theirs2 = theirs.loc[ours.index], theirs2.loc[ours.index]
                move = float((np.abs(theirs - theirs2) / theirs).max())
                same = float((np.abs(ours - ours2) / ours).max())
                vs = float((np.abs(ours - theirs) / ours).max())
                best = min(t for t, _ in cx)
                print(f"| {n:,} | {form} | {len(df):,} | {order} | {best:.3f} | {t_ca:.3f} | {t_ca / best:.1f}x | "
                      f"{move:.2%} | {same:.0%} | {vs:.2%} |", flush=True)  # fmt: skip
        print(f"<!-- generating {n:,} journeys took {t_gen:.1f} s -->", flush=True)


def store_with_events(n_events: int) -> Path:
    """A demo store with at least ``n_events`` events (built once, then reused)."""
    from cxlab.demo import generate
    from cxlab.store import Store

    out = DATA / f"attribution-{n_events}"
    db = out / "cxlab.duckdb"
    if db.exists():
        return db
    customers = max(1000, n_events // 86)
    demo = generate(out / "demo", customers=customers, seed=1, workers=min(2, os.cpu_count() or 1))
    with Store(db) as store:
        for f in demo.files["events"]:
            store.ingest("events", f)
    return db


def journey_bench(n_events: int) -> None:
    from cxlab.store import Store

    t_make, db = timed(lambda: store_with_events(n_events))
    with Store(db, read_only=True) as store:
        events = store.counts()["events"]
        con = store.ibis()
        times = []
        for _ in range(2):
            t, paths = timed(lambda con=con: build_journeys(con, JourneyOptions()))
            times.append(t)
        t_fit, _ = timed(lambda paths=paths: attribute(paths, "markov"))
    print(f"\n## Journeys from the store ({events:,} events, DuckDB, 30-day lookback)\n")
    print(f"- build journeys (engine: visits, identity, windows, unique paths): best of 2 = {min(times):.1f} s "
          f"({', '.join(f'{t:.1f}' for t in times)})")  # fmt: skip
    print(f"- result: {paths.n_paths:,} unique paths, {paths.journeys.sum():,.0f} journeys, "
          f"{paths.total_conversions:,.0f} conversions over {paths.n_channels} channels")  # fmt: skip
    print(f"- Markov order 1 on them: {t_fit:.2f} s")
    print(f"<!-- store built or found in {t_make:.0f} s -->")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200_000, 2_000_000])
    ap.add_argument("--channels", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each tool per row (at least 2)")
    ap.add_argument("--events", type=int, default=10_000_000, help="0 skips the store benchmark")
    a = ap.parse_args()
    markov_bench(a.sizes, a.channels, max(2, a.repeat))
    if a.events:
        journey_bench(a.events)


if __name__ == "__main__":
    main()
