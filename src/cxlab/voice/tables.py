"""The voice tables in the project's database: stored embeddings, per-text results and fitted heads.

``voice_embeddings`` is keyed by (model, text hash): a text is embedded once, whichever rows repeat it, and a
rerun embeds only texts it has not seen. Each batch is inserted on its own, so an interrupted run keeps what it
finished. ``voice_texts`` has one row per feedback row with text: language, sentiment label and probabilities.

The tables live on ``store.con``: the store itself on DuckDB. On Spark (:class:`~cxlab.store.SparkStore`) the
lakehouse is read-only and ``store.con`` is a private in-memory DuckDB, so the voice tables last as long as the
open store (one process): each process reads the feedback texts again (:func:`per_process`). There
:func:`publish` registers ``voice_texts`` with the store's Spark session, so analyses joining it with the canonical
tables through ``store.ibis()`` run unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from cxlab.progress import Progress
from cxlab.store import SparkStore, Store
from cxlab.voice.embeddings import Embedder, Vectors, batches
from cxlab.voice.shop_head import ShopHead
from cxlab.voice.text import text_hash

DDL = """
CREATE TABLE IF NOT EXISTS voice_embeddings (model VARCHAR NOT NULL, text_hash VARCHAR NOT NULL, vector FLOAT[] NOT NULL);
CREATE TABLE IF NOT EXISTS voice_texts (
  feedback_id VARCHAR PRIMARY KEY, text_hash VARCHAR, language VARCHAR, label VARCHAR,
  p_negative DOUBLE, p_neutral DOUBLE, p_positive DOUBLE, head VARCHAR, model VARCHAR
);
CREATE TABLE IF NOT EXISTS voice_heads (model VARCHAR, kind VARCHAR, fitted_at TIMESTAMP, n_train BIGINT, head VARCHAR);
"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def per_process(store: Store) -> bool:
    """Whether ``store``'s voice tables last only as long as this open store (Spark: see the module doc)."""
    return isinstance(store, SparkStore)


def publish(store: Store) -> None:
    """Make ``store.ibis()`` see ``voice_texts`` as ``store.con`` holds it now: on DuckDB it already does (one
    database); on Spark it is (re)registered as a temporary view of the store's own session (one row per
    feedback text: small next to the events)."""
    if not isinstance(store, SparkStore):
        return
    rows = store.con.execute("SELECT * FROM voice_texts ORDER BY feedback_id").to_arrow_table()
    store.ibis().create_view("voice_texts", ibis.memtable(rows), overwrite=True)


def texts_with_feedback(store: Store) -> ir.Table:
    """``voice_texts`` joined with its feedback row (text, ts, touchpoint, source, score, customer_id) on the
    store's engine; ``voice_texts`` must exist there (after :func:`publish` on Spark)."""
    con = store.ibis()
    fb = con.table("feedback").select(
        "feedback_id", "customer_id", "text", "ts", "touchpoint", "source", "score"
    )
    return con.table("voice_texts").join(fb, "feedback_id")


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database has table ``name`` (the voice tables exist once ``analyze_feedback`` has run)."""
    ((n,),) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return bool(n)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` visible to SQL on ``con`` as ``name`` for the duration of the block."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def missing_hashes(con: duckdb.DuckDBPyConnection, model: str, hashes: Sequence[str]) -> set[str]:
    """Which of ``hashes`` have no stored embedding for ``model``."""
    wanted = pa.table({"h": pa.array(sorted(set(hashes)), pa.string())})
    with registered(con, "_voice_wanted", wanted):
        rows = con.execute(
            "SELECT h FROM _voice_wanted ANTI JOIN (SELECT text_hash FROM voice_embeddings WHERE model = ?) e "
            "ON h = e.text_hash",
            [model],
        ).fetchall()
    return {r[0] for r in rows}


def store_embeddings(
    con: duckdb.DuckDBPyConnection,
    embedder: Embedder,
    hashes: Sequence[str],
    texts: Sequence[str],
    progress: Progress | None = None,
    what: str = "embedding texts",
) -> int:
    """Embed and store the texts whose hash has no stored vector yet; returns how many were embedded.
    ``progress`` is told ``(what, done, total)`` in distinct texts, from 0 before the first batch."""
    todo = missing_hashes(con, embedder.name, hashes)
    seen: set[str] = set()
    pairs = []
    for h, t in zip(hashes, texts, strict=True):
        if h in todo and h not in seen:
            seen.add(h)
            pairs.append((h, t))
    for idx, vectors in batches(embedder, [t for _, t in pairs], progress, what):
        put_vectors(con, embedder.name, [pairs[i][0] for i in idx], vectors)
    return len(pairs)


def put_vectors(con: duckdb.DuckDBPyConnection, model: str, hashes: Sequence[str], vectors: Vectors) -> None:
    """Store ``vectors`` (one row per hash) for ``model``; the caller makes sure none is stored yet."""
    if len(hashes) == 0:
        return
    dim = vectors.shape[1]
    flat = pa.array(np.asarray(vectors, np.float32).ravel(), pa.float32())
    offsets = pa.array(np.arange(0, len(flat) + 1, dim, dtype=np.int32))
    batch = pa.table(
        {
            "model": pa.array([model] * len(hashes), pa.string()),
            "text_hash": pa.array(list(hashes), pa.string()),
            "vector": pa.ListArray.from_arrays(offsets, flat),
        }
    )
    with registered(con, "_voice_batch", batch):
        con.execute("INSERT INTO voice_embeddings SELECT model, text_hash, vector FROM _voice_batch")


def load_embeddings(con: duckdb.DuckDBPyConnection, model: str, hashes: Sequence[str], dim: int) -> Vectors:
    """Stored vectors of ``hashes`` (in that order; each must be stored)."""
    if len(hashes) == 0:
        return np.empty((0, dim), np.float32)
    uniq = pd.unique(pd.Series(hashes, dtype=object))
    wanted = pa.table({"h": pa.array(uniq, pa.string()), "i": np.arange(len(uniq))})
    with registered(con, "_voice_wanted", wanted):
        got = con.execute(
            "SELECT w.i, any_value(e.vector) AS vector FROM _voice_wanted w "
            "JOIN voice_embeddings e ON e.text_hash = w.h AND e.model = ? GROUP BY w.i ORDER BY w.i",
            [model],
        ).to_arrow_table()
    if got.num_rows != len(uniq):
        raise RuntimeError(f"{len(uniq) - got.num_rows} texts have no stored embedding for {model}")
    matrix = np.asarray(got["vector"].combine_chunks().flatten(), dtype=np.float32).reshape(len(uniq), dim)
    pos = pd.Index(uniq).get_indexer(pd.Index(list(hashes)))
    return matrix[pos]


def stored_vectors(
    con: duckdb.DuckDBPyConnection,
    embedder: Embedder,
    texts: Sequence[str],
    progress: Progress | None = None,
    what: str = "embedding texts",
) -> Vectors:
    """Vectors of (cleaned) ``texts`` through the store: embedded only when not stored yet."""
    hashes = [text_hash(t) for t in texts]
    store_embeddings(con, embedder, hashes, texts, progress, what)
    return load_embeddings(con, embedder.name, hashes, embedder.dim)


def stored_shop_head(con: duckdb.DuckDBPyConnection, model: str) -> ShopHead | None:
    """The most recently fitted shop head for embedding ``model``, if any was stored in today's format (one of
    an older format is as good as none: the next analysis refits it)."""
    if not has_table(con, "voice_heads"):
        return None
    rows = con.execute(
        "SELECT head FROM voice_heads WHERE model = ? AND kind = 'reviews' ORDER BY fitted_at DESC LIMIT 1",
        [model],
    ).fetchall()
    if not rows:
        return None
    try:
        return ShopHead.from_json(rows[0][0])
    except ValueError:
        return None
