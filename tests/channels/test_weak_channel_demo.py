"""On the demo shop, the planted weak channel ranks last on conversion and on attribution efficiency, is
flagged as lagging, and the report section shows it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cxlab.channels import attribute, build_journeys, channel_performance
from cxlab.channels.report import SECTIONS
from cxlab.demo import generate
from cxlab.store import Store


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("demo")
    result = generate(out, customers=5000, seed=7)
    with Store(out / "cxlab.duckdb") as store:
        for table, files in result.files.items():
            for f in files:
                store.ingest(table, f)
        yield store, json.loads(Path(result.truth_path).read_text())


def test_weak_channel_converts_worst_and_lags_its_peers(demo: tuple[Store, dict[str, Any]]) -> None:
    store, truth = demo
    weak = truth["weak_channel"]
    res = channel_performance(store.ibis(), store.config)
    t = res.table.set_index("channel")
    assert t["session_conversion_rate"].idxmin() == weak
    assert t["conversion_rate"].idxmin() == weak
    assert weak in res.lagging.lagging
    assert res.lagging.table.set_index("channel").loc[weak, "gap_value"] > 0
    visitor = channel_performance(store.ibis(), store.config, unit="visitor")
    assert weak in visitor.lagging.lagging


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("markov", {"order": 1}),
        ("markov", {"order": 2}),
        ("shapley", {}),
        ("linear", {}),
        ("position", {}),
        ("time_decay", {}),
        ("last", {}),
        ("last_non_direct", {}),
    ],
)
def test_weak_channel_earns_least_per_visit(
    demo: tuple[Store, dict[str, Any]], model: str, params: dict
) -> None:
    store, truth = demo
    paths = build_journeys(store.ibis())
    t = attribute(paths, model, **params).table.set_index("channel")
    assert t["efficiency"].idxmin() == truth["weak_channel"]


def test_report_sections(demo: tuple[Store, dict[str, Any]]) -> None:
    store, truth = demo
    weak = truth["weak_channel"]
    perf, markov, models = (make(store) for make in SECTIONS)
    assert (perf.id, markov.id, models.id) == ("channels", "channels-attribution", "channels-models")
    assert perf.table is not None and markov.table is not None and models.table is not None
    assert perf.table.set_index("channel").loc[weak, "lags peers"] == "yes"
    assert "amounts in EUR" in perf.summary
    per_visit = markov.table.set_index("channel")["per visit"].astype(float)
    assert per_visit.idxmin() == weak
    assert "Markov" in markov.summary and len(markov.figures) == 2  # bars and the transition heatmap
    assert list(models.table.columns) == ["channel", "first", "last", "linear", "position", "time decay",
                                          "markov", "shapley"]  # fmt: skip
