"""Audience filters, consent and message language, on hand-built customers, through the plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd

from cxlab.automate import audience as aud
from cxlab.automate.plan import plan
from cxlab.store import Store
from tests.automate.conftest import T0, at, flow, settings

Make = Callable[..., Store]
NOW = at(10)


def carts(*ids: str) -> list[dict[str, Any]]:
    return [{"ts": 0, "event": "add_to_cart", "customer_id": c} for c in ids]


def decided(s: Store, f: Any, **automate: Any) -> pd.DataFrame:
    rows = plan(s, [f], settings(**automate), NOW, check_tone=False).rows
    return rows.set_index("customer_id")


def test_consent_is_opt_in_and_follows_the_ledger(flow_store: Make) -> None:
    ids = ["none", "granted", "withdrawn", "regranted", "sms_only", "later", "tie"]
    s = flow_store(
        customers=[{"customer_id": c, "country": "NL", "language": "en"} for c in ids],
        events=carts(*ids),
        consent=[
            {"customer_id": "granted"},
            {"customer_id": "withdrawn"},
            {"customer_id": "withdrawn", "granted": False, "ts": at(-1)},
            {"customer_id": "regranted", "granted": False, "ts": at(-48)},
            {"customer_id": "regranted", "ts": at(-2)},
            {"customer_id": "sms_only", "channel": "sms"},
            {"customer_id": "later", "granted": False},
            {"customer_id": "later", "ts": NOW + timedelta(hours=1)},  # not in force yet
            {"customer_id": "tie", "ts": at(-5)},
            {"customer_id": "tie", "granted": False, "ts": at(-5)},  # same instant: the withdrawal wins
        ],
    )
    r = decided(s, flow(holdout=0))
    assert r.loc["granted", "status"] == "queued"
    assert r.loc["regranted", "status"] == "queued"
    for c in ("none", "withdrawn", "sms_only", "later", "tie"):
        assert (r.loc[c, "status"], r.loc[c, "reason"]) == ("suppressed", "no_consent"), c
        assert not r.loc[c, "exposed"] and r.loc[c, "variant"] is None
    sms = decided(s, flow("ship", channel="sms", holdout=0))
    assert sms.loc["sms_only", "status"] == "queued"
    assert sms.loc["granted", "reason"] == "no_consent"


def test_country_and_language_filters(flow_store: Make) -> None:
    people = {"nl_nl": ("NL", "nl"), "nl_en": ("NL", "en"), "dk_da": ("DK", "da"), "unknown": (None, None)}
    s = flow_store(
        customers=[{"customer_id": c, "country": k, "language": lang} for c, (k, lang) in people.items()],
        events=carts(*people, "no_row"),
        consent=[{"customer_id": c} for c in [*people, "no_row"]],
    )
    msgs = {lang: {"body": f"{lang} text"} for lang in ("nl", "en", "da")}
    r = decided(s, flow(audience={"country": ["nl"]}, messages=msgs, holdout=0))
    assert sorted(r.index[r["status"] == "queued"]) == ["nl_en", "nl_nl"]
    assert set(r.loc[["dk_da", "unknown", "no_row"], "reason"]) == {"audience"}
    assert not r.loc[["dk_da", "unknown", "no_row"], "exposed"].any()
    r = decided(s, flow(audience={"language": ["nl", "da"]}, messages=msgs, holdout=0))
    assert sorted(r.index[r["status"] == "queued"]) == ["dk_da", "nl_nl"]
    r = decided(s, flow(audience={"country": ["NL", "DK"], "language": ["en"]}, messages=msgs, holdout=0))
    assert list(r.index[r["status"] == "queued"]) == ["nl_en"]


def test_language_then_fallback_then_no_message(flow_store: Make) -> None:
    people = {"nl": "nl", "da": "da", "de": "de", "blank": None}
    s = flow_store(
        customers=[{"customer_id": c, "country": "NL", "language": lang} for c, lang in people.items()],
        events=carts(*people),
        consent=[{"customer_id": c} for c in people],
    )
    f = flow(messages={"nl": {"body": "hoi"}, "en": {"body": "hi"}}, holdout=0)
    r = decided(s, f)
    assert r["language"].to_dict() == {"nl": "nl", "da": "en", "de": "en", "blank": "en"}
    r = decided(s, f, language_fallback=["de", "nl"])
    assert r.loc["da", "language"] == "nl"
    r = decided(s, flow(messages={"nl": {"body": "hoi"}}, holdout=0), language_fallback=["en"])
    assert r.loc["nl", "status"] == "queued"
    for c in ("da", "de", "blank"):
        assert (r.loc[c, "status"], r.loc[c, "reason"], r.loc[c, "language"]) == (
            "suppressed",
            "no_message",
            None,
        )


def test_language_needs_a_message_in_every_variant() -> None:
    f = flow(
        messages={},
        variants={
            "a": {"messages": {"nl": {"body": "a"}, "en": {"body": "a"}}},
            "b": {"messages": {"en": {"body": "b"}}},
        },
    )
    assert aud.flow_languages(f) == ["en"]
    assert aud.pick_language("nl", f, settings()) == "en"
    assert aud.pick_language("nl", f, settings(language_fallback=["da"])) is None


def _orders() -> list[dict[str, Any]]:
    rows = []
    for i in range(20):
        for k in range(1 + i % 4):
            rows.append(
                {
                    "order_id": f"o{i}-{k}",
                    "customer_id": f"c{i:02d}",
                    "ts": -24 * (i * 9 + k * 30),
                    "revenue": 10.0 * (i % 5 + 1),
                }
            )
    return rows


def test_segment_filter_uses_rfm_segments(flow_store: Make) -> None:
    from cxlab.customers.rfm import rfm_scores

    ids = [f"c{i:02d}" for i in range(20)]
    s = flow_store(
        customers=[{"customer_id": c, "country": "NL", "language": "en"} for c in ids],
        orders=_orders(),
        events=carts(*ids),
        consent=[{"customer_id": c} for c in ids],
    )
    ref = rfm_scores(s.ibis().table("orders"), NOW).execute().set_index("customer_id")["segment"]
    wanted = sorted(set(ref))[:2]
    r = decided(s, flow(audience={"segment": wanted}, holdout=0))
    assert sorted(r.index[r["status"] == "queued"]) == sorted(ref.index[ref.isin(wanted)])
    assert (r.loc[~r.index.isin(ref.index[ref.isin(wanted)]), "reason"] == "audience").all()
    attrs = aud.attributes(s.ibis(), ids, NOW, segments=True).set_index("customer_id")
    assert attrs["segment"].to_dict() == ref.to_dict()
    assert attrs["persona"].isna().all()  # not computed unless a flow filters on it


def test_persona_filter_by_name_or_number(flow_store: Make) -> None:
    from cxlab.customers.personas import personas

    ids = [f"c{i:02d}" for i in range(20)]
    s = flow_store(
        customers=[{"customer_id": c, "country": "NL", "language": "en"} for c in ids],
        orders=_orders(),
        events=carts(*ids),
        consent=[{"customer_id": c} for c in ids],
    )
    p = personas(s.ibis(), config=s.config)
    first = p.cards[0]
    members = sorted(p.assignments.loc[p.assignments["persona"] == first.persona, "customer_id"])
    by_name = decided(s, flow(audience={"persona": [first.name]}, holdout=0))
    assert sorted(by_name.index[by_name["status"] == "queued"]) == members
    by_number = decided(s, flow(audience={"persona": [str(first.persona)]}, holdout=0))
    assert sorted(by_number.index[by_number["status"] == "queued"]) == members
    assert T0  # the orders are relative to T0
