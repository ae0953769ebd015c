"""``cxlab demo``'s workflow: every step reports its progress (counts that add up to what was done), the default
and full sizes agree between the library, the CLI and the Makefile, and simulating in parallel changes nothing."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cxlab.assist.index import EMBEDDING
from cxlab.demo import DEFAULT_CUSTOMERS, FULL_CUSTOMERS, SIMULATING, generate
from cxlab.demo import params as P
from cxlab.demo.assist import ASKING
from cxlab.pipeline import run_demo
from cxlab.progress import Progress
from cxlab.report.sections import registered
from cxlab.schema import TABLES
from cxlab.store import Store
from cxlab.voice.analysis import READING

ROOT = Path(__file__).resolve().parents[2]


def done_to(seen: list[int]) -> Progress:
    """A progress callback that appends each ``done`` to ``seen``."""
    return lambda _what, done, _total: seen.append(done)


def test_every_step_reports_counts_that_add_up(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    run = run_demo(tmp_path / "demo", 1_000, seed=3, progress=lambda w, d, t: calls.append((w, d, t)))
    assert run.not_run == [] and run.report.exists()

    steps = list(dict.fromkeys(w for w, _, _ in calls))
    assert steps == [
        SIMULATING,
        *(f"storing {t}" for t in TABLES),
        EMBEDDING,
        ASKING,
        READING,
        "report sections",
    ]
    by_step: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for w, d, t in calls:
        by_step[w].append((d, t))
    for what, seen in by_step.items():
        totals = {t for _, t in seen}
        assert len(totals) == 1, what  # one total per step
        done = [d for d, _ in seen]
        assert done[0] == 0 and done[-1] == seen[0][1], what  # from nothing to all of it
        assert done == sorted(done), what  # never backwards
    assert by_step[SIMULATING][-1][1] == 1_000
    for table in TABLES:  # every row of the demo's files (the consent table fills from customers' flags)
        rows = sum(
            pq.ParquetFile(f).metadata.num_rows for f in (run.db.parent / "data" / table).glob("*.parquet")
        )
        assert by_step[f"storing {table}"][-1][1] == rows, table
    assert run.tables["events"] > 0 and len(by_step["storing events"]) >= 2
    with Store(run.db, read_only=True) as store:
        ((distinct,),) = store.con.execute(
            "SELECT count(DISTINCT text_hash) FROM voice_texts WHERE text_hash IS NOT NULL"
        ).fetchall()
        ((embedded,),) = store.con.execute("SELECT count(*) FROM voice_embeddings").fetchall()
    # each distinct text, and each clause of a text of several clauses, embedded once (the demo's texts are
    # short, so none is stored under a windowed form)
    assert distinct > 100 and by_step[READING][-1][1] == embedded > distinct
    assert by_step["report sections"][-1][1] == len(registered())


@pytest.mark.parametrize(("args", "customers"), [([], DEFAULT_CUSTOMERS), (["--full"], FULL_CUSTOMERS)])
def test_default_and_full_sizes_agree_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], customers: int
) -> None:
    """``make demo`` and ``cxlab demo`` build the same default shop; ``make demo-full`` and ``--full`` the
    full one (the size before issue 16)."""
    from typer.testing import CliRunner

    import cxlab.pipeline
    from cxlab.cli import app

    assert (DEFAULT_CUSTOMERS, FULL_CUSTOMERS) == (20_000, 50_000)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(rf"^DEMO_CUSTOMERS \?= {DEFAULT_CUSTOMERS}$", makefile, re.M)
    assert re.search(r"^demo:.*\n\t.*cxlab demo .*--customers \$\(DEMO_CUSTOMERS\)", makefile, re.M)
    assert re.search(r"^demo-full:.*\n\t.*cxlab demo .*--full\b", makefile, re.M)
    asked: list[int] = []

    def fake(out: Path, n: int, *_a: object, **_k: object) -> None:
        asked.append(n)
        raise RuntimeError("stop here")

    monkeypatch.setattr(cxlab.pipeline, "run_demo", fake)
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--json", *args])
    assert r.exit_code == 1 and asked == [customers]


def test_parallel_simulation_gives_the_same_files_and_counts_people(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(P, "CHUNK_SIZE", P.BATCH_SIZE)  # two chunks (the second small): one per worker
    n = P.BATCH_SIZE + 700
    told: dict[int, list[int]] = {1: [], 2: []}
    runs = {w: generate(tmp_path / f"w{w}", n, seed=9, workers=w, progress=done_to(told[w])) for w in (1, 2)}
    for name, files in runs[1].files.items():
        assert [f.read_bytes() for f in files] == [f.read_bytes() for f in runs[2].files[name]], name
    assert told[1] == told[2] == [0, P.BATCH_SIZE, n]  # after each batch, each chunk
