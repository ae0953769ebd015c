"""Emerging complaints: a negative theme growing in the latest week becomes an action, priced per extra
complaint at the revenue per buying customer."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from cxlab.advise.voice import theme_weeks, voice_actions
from cxlab.voice.themes import Themes

START = datetime(2025, 3, 3)  # a Monday: five whole weeks


def _themes() -> tuple[Themes, pd.DataFrame]:
    """100 texts a week for five weeks: "late parcels" (delivery) 5 a week, then 30 in the last week; "rude
    staff" 10 every week; the rest praise."""
    rows = []
    for week in range(5):
        late = 30 if week == 4 else 5
        for i in range(100):
            theme = 0 if i < late else 1 if i < late + 10 else 2
            rows.append((f"f{week}_{i}", theme, START + timedelta(days=7 * week, hours=i)))
    a = pd.DataFrame(rows, columns=["feedback_id", "theme", "ts"])
    table = pd.DataFrame(
        {
            "theme": [0, 1, 2],
            "sentiment": ["negative", "negative", "positive"],
            "size": [int((a["theme"] == t).sum()) for t in range(3)],
            "label": ["late parcels", "rude staff", "fast and friendly"],
            "touchpoint": ["delivery", "customer_service", None],
            "data_touchpoint": ["delivery", "customer_service", "product"],
            "quotes": [["Parcel came a week late"], ["Nobody answered"], ["Lovely"]],
            "quote": ["Parcel came a week late", "Nobody answered", "Lovely"],
        }
    )
    assignments = a[["feedback_id", "theme"]].assign(touchpoint=None)
    weeks = theme_weeks(Themes(table.assign(emerging=False, emerging_p=1.0), assignments, len(a)), a)
    flags = weeks.set_index("theme")
    table["emerging"] = table["theme"].map(lambda t: t in flags.index and flags.loc[t, "p_adjusted"] < 0.05)
    table["emerging_p"] = table["theme"].map(flags["p_adjusted"])
    table["growth"] = table["theme"].map(flags["growth"])
    return Themes(table, assignments, len(a)), a


def test_an_emerging_complaint_is_an_action_named_after_its_touchpoint() -> None:
    themes, times = _themes()
    weeks = theme_weeks(themes, times)
    late = weeks.set_index("theme").loc[0]
    assert late["last_week"] == 30 and late["baseline"] == 20 and late["baseline_n"] == 400
    actions = voice_actions(themes, weeks, per_buyer=80.0, currency="EUR")
    assert [(a.kind, a.name) for a in actions] == [("voice", "delivery")]  # rude staff is steady
    a = actions[0]
    assert a.money_at_stake == pytest.approx((30 - 100 * 20 / 400) * 80.0)  # 25 complaints above the usual
    assert a.next_step.startswith("Read the 30 new complaints about “late parcels” at delivery")
    assert "“Parcel came a week late”" in a.next_step
    assert a.certainty == "very likely" and a.horizon == "in the latest week"
    assert "2025-03-31" in a.why
    assert voice_actions(themes, weeks, None, "EUR")[0].money_at_stake is None  # no orders: not priced
