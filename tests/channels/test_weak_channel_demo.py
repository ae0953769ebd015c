"""On the demo shop, the planted weak channel ranks last on conversion and on attribution efficiency, is
flagged as lagging, and the report section shows it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cxlab.channels import attribute, build_journeys, channel_performance
from cxlab.channels.report import SECTIONS
from cxlab.demo import generate
from cxlab.errors import MissingData
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
    assert perf.table.set_index("channel").loc[weak, "vs peers"] == "worse"
    said = perf.summary.split("worse than")[1]  # said plainly up front, among those that convert worse …
    assert f"{weak} " in said and "%" in said
    assert "amounts in EUR" in perf.details and "holm" in perf.details  # … the method one click away
    per_visit = markov.table.set_index("channel")["orders per 100 visits"].astype(float)
    assert per_visit.idxmin() == weak
    assert "Markov" in markov.details and len(markov.figures) == 2  # bars and the transition heatmap
    assert list(models.table.columns) == ["channel", "first", "last", "linear", "position", "time decay",
                                          "markov", "shapley"]  # fmt: skip


def test_report_sections_read_plainly(demo: tuple[Store, dict[str, Any]]) -> None:
    """Plain summaries (method, tests and p-values in the details), money with its currency, rates as
    percentages, and cost per order and return only where something was spent ("–" elsewhere)."""
    store, _ = demo
    perf, markov, models = (make(store) for make in SECTIONS)
    jargon = re.compile(r"Newcombe|Wilson|holm|z-test|\bp [<=]|\bCI\b|\d ?e-\d|removal effect|ROAS|CPA")
    for s in (perf, markov, models):
        assert s.summary and not jargon.search(s.summary), (s.id, s.summary)
        assert s.details, s.id
        assert s.table is not None and len(s.table.columns) <= 9, s.id  # few enough to fit a card
        for fig in s.figures:
            assert fig.layout.margin.l is None and fig.layout.width is None, (s.id, fig.layout.title.text)
    assert re.search(r"adjusted p (< 0\.001|0\.\d{3})", perf.details)
    assert not re.search(r"\de-\d", perf.details)  # never 1.02e-32
    assert perf.table is not None and models.table is not None
    t = perf.table.set_index("channel")
    cost = channel_performance(store.ibis(), store.config).table.set_index("channel")["cost"].fillna(0.0)
    per_order, back = dict(t["cost per order"]), dict(t["revenue per EUR spent"])
    assert (cost == 0).any() and (cost > 0).any()
    for ch, spent in cost.items():
        assert (per_order[ch] == "–") == (spent == 0) and (back[ch] == "–") == (spent == 0), ch
        assert per_order[ch] == "–" or str(per_order[ch]).startswith("EUR ")
    for col in ("revenue", "average order"):
        assert all(v == "–" or v.startswith("EUR ") for v in t[col]), col
    assert all(v.endswith("%") for v in t["visits that buy"])
    assert all(v.endswith("%") for col in models.table.columns[1:] for v in models.table[col])


def test_report_sections_on_an_empty_store_give_a_one_line_reason(tmp_path: Path) -> None:
    with Store(tmp_path / "cxlab.duckdb") as store:
        for make in SECTIONS:
            with pytest.raises(MissingData) as err:
                make(store)
            assert "needs events with channel" in str(err.value) and "\n" not in str(err.value)
