"""Embed the questions that ship with cxlab and store their vectors: ``python -m cxlab.assist.shipped``.

The built-in intents' questions (``intents.toml``) and the messages no FAQ answers (``outside.toml``), each clean
and with its typing noise, are the same in every shop's index; shipping their vectors (float16, a text-keyed
cache, see :func:`cxlab.assist.index.embed_cached`) spares every ``cxlab assist index`` and ``cxlab demo`` from
embedding them. A text edited since is simply embedded; a test checks the file against a fresh embedding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cxlab.assist.index import SEED, SHIPPED_VECTORS
from cxlab.assist.knowledge import builtin_entries, outside_questions
from cxlab.assist.noise import noisy_copy
from cxlab.voice.embeddings import embed_all, get_embedder


def shipped_texts() -> list[str]:
    """Every shipped question, clean and noisy, each once."""
    clean = [q for e in builtin_entries() for q in e.questions]
    clean += [t for lang in sorted(outside_questions()) for t in outside_questions()[lang]]
    return list(dict.fromkeys([*clean, *(noisy_copy(t, SEED) for t in clean)]))


def main() -> None:
    embedder = get_embedder()
    texts = shipped_texts()
    vectors = embed_all(embedder, texts).astype(np.float16)
    path = Path(__file__).with_name(SHIPPED_VECTORS)
    np.savez_compressed(path, model=np.array(embedder.name), texts=np.array(texts), vectors=vectors)
    print(f"wrote {path}: {len(texts)} questions, {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
