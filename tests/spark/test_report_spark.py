"""``cxlab report --db spark://…`` writes the report: the key figures, the journey and the voice sections read
exactly as in the report of the DuckDB store the tables were exported from (after ``cxlab voice analyze``: on
Spark the report reads the texts itself), no section fails, and the sections whose data only a DuckDB store
keeps say in one line that they are not available on Spark.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from tests.spark.conftest import Lake
from tests.spark.test_voice_parity import analysed_db

pytestmark = pytest.mark.spark_full  # two whole reports: `make test-spark`, not `make test`

__all__ = ["analysed_db"]  # the fixture, shared with the voice parity tests (one analysis per session)

SAME = ("overview", "stages", "journey-map", "funnel", "paths", "retention", "swot", "voice-scores",
        "voice-sentiment", "voice-themes")  # fmt: skip
"""Sections whose text (summary, table, how it was measured) must read the same on both engines."""
DUCKDB_ONLY = ("assist", "assist-gaps", "personalize-recommendations", "automate-flows")
"""Sections (as ``not_run`` names them) whose data only a DuckDB store keeps."""
runner = CliRunner()


def _report(db: str, out: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Run ``cxlab report --json``: its document and each section's HTML without its figures (the numbers in
    a figure's JSON may differ in the last bit; the text shows them rounded)."""
    r = runner.invoke(app, ["report", "--db", db, "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output[-3000:]
    doc = json.loads(r.stdout[r.stdout.index("{") :])
    text = out.read_text(encoding="utf-8")
    sections = dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', text, re.S))
    return doc, {
        k: re.sub(r'<div class="figure">.*?</script></div>', "", v, flags=re.S) for k, v in sections.items()
    }


@pytest.fixture(scope="module")
def reports(
    lake: Lake, analysed_db: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """The DuckDB report's sections, and the Spark report's document and sections."""
    pytest.importorskip("pyspark")
    out = tmp_path_factory.mktemp("reports")
    _, duck = _report(str(analysed_db[0]), out / "duck.html")
    doc, spark = _report(lake.spark_url, out / "spark.html")
    return duck, doc, spark


def test_spark_report_reads_as_the_duckdb_one(
    reports: tuple[dict[str, str], dict[str, Any], dict[str, str]],
) -> None:
    duck, _, spark = reports
    for ident in SAME:
        assert "Not run" not in duck[ident], f"{ident} did not run on DuckDB: {duck[ident][:500]}"
        assert spark[ident] == duck[ident], f"{ident} differs on Spark"
    assert "NPS" in duck["overview"] and "Revenue" in duck["overview"]


def test_no_section_fails_and_duckdb_only_ones_say_so(
    reports: tuple[dict[str, str], dict[str, Any], dict[str, str]],
) -> None:
    _, doc, spark = reports
    failed = [n for n in doc["not_run"] if not n["missing_data"]]
    assert not failed, failed
    assert not any("Traceback" in s or "Exception" in s for s in spark.values())
    reasons = {n["section"]: n["reason"] for n in doc["not_run"]}
    for ident in DUCKDB_ONLY:
        assert reasons[ident].startswith("not available on Spark: "), (ident, reasons.get(ident))
        assert "\n" not in reasons[ident]
    assert set(reasons) == set(DUCKDB_ONLY), reasons


def test_what_to_do_next_reads_the_same(
    reports: tuple[dict[str, str], dict[str, Any], dict[str, str]],
) -> None:
    """The advice (``cxlab next``) gathers every group's findings: it reads the same when they all agree."""
    duck, _, spark = reports
    assert "Not run" not in duck["next"] and "could not be looked at" not in duck["next"]
    assert spark["next"] == duck["next"]
