"""The journey's report sections on a demo shop, as a shop owner reads them: plain summaries with the method
folded into the details, stage counts that never grow along the journey, paths drawn step 1 first, a
stage-to-stage grid instead of a tangle, one row per place in strengths and weaknesses; and on an empty
store, a one-line reason per section instead of an empty chart."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cxlab.display import DASH, duration
from cxlab.errors import MissingData
from cxlab.journey.report import SECTIONS
from cxlab.report.section import Section
from cxlab.store import Store
from tests.journey.conftest import build_demo_store

JARGON = re.compile(r"Newcombe|Welch|Wilson|holm|Holm|\bp [<=]|\bCI\b|\bpp\b|\d e-\d|\de-\d|n ?= ?\d")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, Section]]]:
    db, _ = build_demo_store(tmp_path_factory.mktemp("demo"), customers=2500, seed=5)
    with Store(db, read_only=True) as store:
        yield store, {s.id: s for s in (make(store) for make in SECTIONS)}


def test_summaries_are_plain_and_the_method_is_in_the_details(shop: tuple[Store, dict[str, Section]]) -> None:
    _, sections = shop
    assert set(sections) == {"stages", "journey-map", "funnel", "paths", "retention", "swot"}
    for s in sections.values():
        assert s.summary and not JARGON.search(s.summary), (s.id, s.summary)
        assert not re.search(r"[;,:] ?\.|\(\)|  ", s.summary), (s.id, s.summary)  # no sentence with a hole
        assert s.details and re.search(r"95%|n = \d", s.details), s.id  # intervals and n one click away
        for fig in s.figures:
            assert fig.layout.margin.l is None and fig.layout.width is None, (s.id, fig.layout.title.text)


def test_stage_counts_never_grow_along_the_journey_and_buyers_are_counted(
    shop: tuple[Store, dict[str, Section]],
) -> None:
    store, sections = shop
    t = sections["stages"].table
    assert t is not None
    got = [int(x.replace(",", "")) for x in t["got this far"]]
    seen = [int(x.replace(",", "")) for x in t["did something here"]]
    assert got == sorted(got, reverse=True) and all(s <= g for s, g in zip(seen, got, strict=True))
    buyers = store.con.execute(
        "SELECT count(DISTINCT coalesce(customer_id, anonymous_id)) FROM events WHERE event = 'purchase'"
    ).fetchone()
    assert buyers is not None
    assert (
        f"{buyers[0]:,} (" in sections["stages"].summary and "bought something" in sections["stages"].summary
    )


def test_paths_are_drawn_step_one_first(shop: tuple[Store, dict[str, Section]]) -> None:
    _, sections = shop
    (fig,) = sections["paths"].figures
    sankey = fig.data[0]
    x, labels = list(sankey.node.x), list(sankey.node.label)
    steps = [int(str(c).split()[-1]) for c in sankey.node.customdata]
    assert all(x[s] < x[t] for s, t in zip(sankey.link.source, sankey.link.target, strict=True))
    assert {labels[i] for i, step in enumerate(steps) if step == 1} == {
        "cart"
    }  # the anchor, alone, on the left
    assert x[labels.index("cart")] == min(x)
    assert all(
        (a < b) == (sa < sb) for a, sa in zip(x, steps, strict=True) for b, sb in zip(x, steps, strict=True)
    )
    assert all(0 < y < 1 for y in sankey.node.y)  # every node inside the plot


def test_stage_moves_are_a_labelled_grid(shop: tuple[Store, dict[str, Section]]) -> None:
    store, sections = shop
    _, flows = sections["journey-map"].figures
    assert flows.data[0].type == "heatmap"
    stages = list(store.config.journey.stages)
    assert list(flows.data[0].x) == stages and list(flows.data[0].y) == stages
    assert all(
        v != v for i, row in enumerate(flows.data[0].z) for j, v in enumerate(row) if i == j
    )  # no self-moves


def test_strengths_and_weaknesses_one_row_per_place_money_with_currency(
    shop: tuple[Store, dict[str, Section]],
) -> None:
    store, sections = shop
    t = sections["swot"].table
    assert t is not None and len(t)
    assert set(t[""]) <= {"weakness", "strength", "mixed signals"}
    places = [f.split(" does ")[0].split(":")[0] for f in t["finding"]]
    assert len(places) == len(set(places))  # never the same place twice
    currency = store.config.shop.currency
    assert all(m == DASH or m.startswith(f"{currency} ") for m in t["worth a month"])
    for finding, verdict in zip(t["finding"], t[""], strict=True):
        assert ("complaints" in finding) <= (verdict == "weakness")


def test_an_empty_store_gives_a_one_line_reason_per_section(tmp_path: Path) -> None:
    with Store(tmp_path / "cxlab.duckdb") as store:
        for make in SECTIONS:
            with pytest.raises(MissingData) as err:
                make(store)
            assert str(err.value) and "\n" not in str(err.value), make.__name__


@pytest.mark.parametrize(
    ("hours", "shown"),
    [(None, DASH), (0.001, "under a minute"), (0.5, "30 min"), (20.6, "20.6 hours"), (290.4, "12.1 days")],
)
def test_durations_read_as_people_say_them(hours: float | None, shown: str) -> None:
    assert duration(hours) == shown
