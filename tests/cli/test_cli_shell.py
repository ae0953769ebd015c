"""The shell a newcomer meets: a fast, lazy root (`--help`, `--version`), help pages without stray types, and
progress bars with counts (issue 16)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import cxlab
from cxlab.cli import LAZY, TABLE_NAMES, app
from cxlab.clitools import progress

runner = CliRunner()
HEAVY = ("pandas", "ibis", "scipy", "sklearn", "duckdb", "pyarrow", "plotly", "cxlab.store", "cxlab.journey")


def _loaded_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = f"import sys\n{code}\nprint([m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out.strip().splitlines()[-1].replace("'", '"')))


def test_help_and_version_import_no_engine_or_analysis() -> None:
    run = "from cxlab.cli import app\ntry:\n    app([{!r}])\nexcept SystemExit:\n    pass"
    assert _loaded_after(run.format("--help")) == []
    assert _loaded_after(run.format("--version")) == []
    assert _loaded_after("import cxlab") == []


def test_the_package_exposes_its_names_on_first_use() -> None:
    assert cxlab.__version__ == version("cxlab")
    assert cxlab.Config.__name__ == "Config" and callable(cxlab.connect) and cxlab.Store.__name__ == "Store"
    with pytest.raises(AttributeError):
        cxlab.nothing_here  # noqa: B018


def test_version_prints_the_package_version() -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout == f"cxlab {version('cxlab')}\n"


def test_help_lists_every_group_with_its_help() -> None:
    r = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for name, spec in LAZY.items():
        if spec.available:
            assert name in r.stdout and spec.help[:40] in r.stdout, name
    assert "--version" in r.stdout


def _paths(group: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    from typer.core import TyperGroup

    assert isinstance(group, TyperGroup)
    for name, cmd in group.commands.items():
        yield (*path, name)
        if isinstance(cmd, TyperGroup):
            yield from _paths(cmd, (*path, name))


def test_no_help_page_shows_a_type_on_a_flag() -> None:
    import typer

    root = typer.main.get_command(app)
    paths = [(), *_paths(root)]
    assert len(paths) > 50 and ("journey", "swot") in paths and ("serve",) in paths
    for path in paths:
        r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert r.exit_code == 0, (path, r.output)
        assert "<bool>" not in r.stdout, path
    r = runner.invoke(app, ["journey", "paths", "--help"], env={"COLUMNS": "120"})
    assert "<int range>" in r.stdout  # options that take a value still show their type


def test_a_wrong_command_is_still_suggested() -> None:
    r = runner.invoke(app, ["journy"])
    assert r.exit_code == 2 and "Did you mean 'journey'?" in r.output


def test_ingest_help_names_every_canonical_table() -> None:
    from cxlab.schema.tables import TABLES

    assert TABLE_NAMES.split(", ") == list(TABLES)


def test_stats_format_in_the_help_is_a_file_the_command_reads(tmp_path: Path) -> None:
    from cxlab.experiments.cli import STATS_EXAMPLE

    r = runner.invoke(app, ["experiment", "analyze", "--help"], env={"COLUMNS": "120"})
    assert '"variants": [' in r.stdout and "sum_squares" in r.stdout
    f = tmp_path / "stats.json"
    f.write_text(STATS_EXAMPLE, encoding="utf-8")
    r = runner.invoke(app, ["experiment", "analyze", "--stats", str(f), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)  # a real analysis of the example, not an echo


def test_progress_draws_counts_rate_and_time_left() -> None:
    buf = io.StringIO()
    with progress(True, out=Console(file=buf, force_terminal=True, width=120)) as bar:
        assert bar is not None
        bar("texts embedded", 3, 10)
        bar("ingest", 40.0)  # an engine's percentage
    shown = buf.getvalue()
    assert "texts embedded" in shown and "3/10" in shown and "40/100" in shown and "left" in shown


def test_progress_is_off_for_json_and_pipes_unless_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = Console(file=io.StringIO())
    with progress(False, out=piped) as bar:
        assert bar is None
    with progress(True, out=piped) as bar:
        assert bar is None
    monkeypatch.setenv("CXLAB_PROGRESS", "always")
    with progress(True, out=piped) as bar:
        assert bar is not None
    with progress(False, out=piped) as bar:
        assert bar is None
