"""The assistant's answers: order status and return deadlines from the store's data (never a date the data
doesn't hold), FAQ answers in the customer's language, and hand-over when unsure, angry or unidentified."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from assist_shop import SHOP
from typer.testing import CliRunner

from cxlab.assist.answer import Assistant, Reply
from cxlab.assist.cli import app as assist_app
from cxlab.assist.knowledge import demo_faq
from cxlab.assist.templates import Templates
from cxlab.store import Store

T = Templates()
D = dt.date.fromisoformat
QUESTIONS = {
    "nl": "Waar blijft mijn pakket?",
    "da": "Hvor er min pakke?",
    "en": "Where is my parcel?",
    "de": "Wo bleibt mein Paket?",
}
RETURN_QUESTIONS = {
    "nl": "Tot wanneer kan ik mijn bestelling nog terugsturen?",
    "da": "Hvor længe kan jeg returnere min ordre?",
    "en": "Until when can I still return my order?",
    "de": "Bis wann kann ich meine Bestellung noch zurückschicken?",
}


def data_dates(customer: str) -> set[dt.date]:
    """Every date the store holds for the customer's orders (ordered, events, promised dates)."""
    out: set[dt.date] = set()
    for c, _, _, ordered, events in SHOP:
        if c != customer:
            continue
        out.add(D(ordered[:10]))
        for _, ts, extra in events:
            out.add(D(ts[:10]))
            if "promised_by" in extra:
                out.add(D(str(extra["promised_by"])))
    return out


def dates_in(text: str, lang: str) -> set[dt.date]:
    """The dates written in ``text`` the way the language's template writes them."""
    months = T.texts[lang]["months"]
    pattern = r"(\d{1,2})\.? (" + "|".join(months) + r") (\d{4})"
    return {D(f"{y}-{months.index(m) + 1:02d}-{int(d):02d}") for d, m, y in re.findall(pattern, text)}


def honest(reply: Reply, customer: str, derived: set[dt.date] = frozenset()) -> None:  # type: ignore[assignment]
    """The reply states only dates the data holds (or ``derived`` from them, e.g. a return deadline)."""
    assert reply.answer is not None
    stated = dates_in(reply.answer, reply.language)
    assert stated <= data_dates(customer) | set(derived), (reply.answer, stated)


@pytest.mark.parametrize("lang", ["nl", "da", "en", "de"])
def test_shipped_with_a_promised_date(assistant: Assistant, lang: str) -> None:
    r = assistant.ask(QUESTIONS[lang], "C_SHIPPED")
    assert (r.intent, r.handoff, r.language, r.order_id) == ("order_status", False, lang, "O1001")
    assert r.answer is not None and "PostNL" in r.answer
    assert dates_in(r.answer, lang) == {D("2026-03-09"), D("2026-03-11")}
    assert T.date(lang, D("2026-03-11")) in r.answer


def test_late_parcel_is_answered_and_handed_over(assistant: Assistant) -> None:
    r = assistant.ask("Wo bleibt mein Paket? Es sollte längst da sein.", "C_DELAYED")
    assert r.intent == "order_status" and r.handoff and r.reason == "late" and r.language == "de"
    assert r.answer is not None and T.date("de", D("2026-03-04")) in r.answer and "DHL" in r.answer
    assert r.summary is not None and "O1002" in r.summary and "not delivered" in r.summary
    honest(r, "C_DELAYED")


@pytest.mark.parametrize(
    ("customer", "status_dates"),
    [
        ("C_DELIVERED", {"2026-02-23"}),
        ("C_REFUNDED", {"2026-01-20", "2026-01-25"}),
        ("C_RETURNED", {"2026-03-05"}),
        ("C_PLACED", {"2026-03-10"}),
        ("C_NOPROMISE", {"2026-03-08"}),
    ],
)
def test_each_order_state(assistant: Assistant, customer: str, status_dates: set[str]) -> None:
    r = assistant.ask("Where is my order?", customer)
    assert r.intent == "order_status" and not r.handoff, r
    assert r.answer is not None
    assert {d.isoformat() for d in dates_in(r.answer, r.language)} == status_dates, r.answer
    honest(r, customer)
    if customer == "C_REFUNDED":
        assert "€59.90" in r.answer


def test_no_promised_date_means_no_arrival_date(assistant: Assistant) -> None:
    """The shipment event of C_NOPROMISE has no promised date: the answer names none (only the shipping day)."""
    r = assistant.ask("When will my parcel arrive?", "C_NOPROMISE")
    assert r.intent == "order_status" and r.answer is not None
    assert dates_in(r.answer, "en") == {D("2026-03-08")}


def test_the_order_named_in_the_message(assistant: Assistant) -> None:
    assert assistant.ask("Where is my order?", "C_TWO").order_id == "O1010"
    assert assistant.ask("Where is my order O1009?", "C_TWO").order_id == "O1009"
    assert assistant.ask("Where is my order #1009?", "C_TWO").order_id == "O1009"


@pytest.mark.parametrize(
    ("customer", "lang", "key", "deadline"),
    [
        ("C_DELIVERED", "da", "open", "2026-03-25"),
        ("C_OLD", "en", "closed", "2026-01-21"),
        ("C_SHIPPED", "nl", "not_delivered", None),
        ("C_RETURNED", "en", "returned", None),
    ],
)
def test_return_window(
    assistant: Assistant, customer: str, lang: str, key: str, deadline: str | None
) -> None:
    r = assistant.ask(RETURN_QUESTIONS[lang], customer)
    assert (r.intent, r.handoff, r.language) == ("return_window", False, lang), r
    assert r.answer is not None
    derived = {D(deadline)} if deadline else set()
    honest(r, customer, derived)
    if deadline:
        assert T.date(lang, D(deadline)) in r.answer
    expected = T.render(
        lang, "return_window", key, order_id=r.order_id, days=30,
        delivered=next((T.date(lang, d) for d in dates_in(r.answer, lang) if d != D(deadline or "1900-01-01")), ""),
        deadline=T.date(lang, D(deadline)) if deadline else "",
        returned=T.date(lang, D("2026-03-05")),
    )  # fmt: skip
    if key in ("not_delivered", "returned"):
        assert r.answer == expected


@pytest.mark.parametrize("lang", ["nl", "da", "en", "de"])
def test_unknown_customer_is_handed_over(assistant: Assistant, lang: str) -> None:
    for customer in (None, "C_NOBODY"):
        r = assistant.ask(QUESTIONS[lang], customer)
        assert r.intent == "order_status" and r.handoff and r.reason == "unknown_customer"
        assert r.answer == T.render(lang, "order_status", "no_customer")
        assert r.answer is not None and not dates_in(r.answer, lang)


def test_customer_without_orders(assistant: Assistant) -> None:
    r = assistant.ask("Where is my parcel?", "C_NOORDERS")
    assert r.handoff and r.reason == "no_orders" and r.answer == T.render("en", "order_status", "no_orders")


def test_return_window_without_a_customer_is_the_policy(assistant: Assistant) -> None:
    r = assistant.ask("Until when can I still return my order?")
    assert r.intent == "return_window" and not r.handoff
    assert r.answer == T.render("en", "return_window", "no_customer", days=30)


@pytest.mark.parametrize(
    ("lang", "question"),
    [
        ("nl", "Hoeveel kosten de verzendkosten?"),
        ("da", "Hvad koster forsendelsen?"),
        ("en", "How much is shipping?"),
        ("de", "Was kostet der Versand?"),
    ],
)
def test_faq_answer_in_the_customers_language(assistant: Assistant, lang: str, question: str) -> None:
    r = assistant.ask(question)
    faq = {(e.id, e.language): e for e in demo_faq()}
    assert (r.intent, r.handoff, r.language) == ("shipping_cost", False, lang)
    assert r.answer == faq[("shipping_cost", lang)].answer
    assert r.touchpoint == "delivery" and assistant.min_confidence <= r.confidence <= 1.0


def test_opening_hours_from_the_config(shop_db: Path, assistant: Assistant) -> None:
    r = assistant.ask("Wann habt ihr geöffnet?")
    assert r.intent == "opening_hours" and r.language == "de" and r.answer is not None
    assert "Montag–Freitag 09:00–18:00" in r.answer and "Samstag 10:00–16:00" in r.answer
    from cxlab.assist.settings import AssistSettings

    other = Assistant(
        assistant.index, assistant.embedder, assistant.sentiment,
        AssistSettings(opening_hours={"mon": "08:00-12:00", "sat": "10:00-14:00"}),
        assistant.templates, ["nl", "da", "en", "de"],
    )  # fmt: skip
    r = other.ask("When is customer service open?")
    assert (
        r.answer is not None and "Monday 08:00–12:00, Tuesday–Friday closed, Saturday 10:00–14:00" in r.answer
    )


@pytest.mark.parametrize(
    "question",
    [
        "Do you have a job opening for a warehouse assistant?",
        "Wie wird das Wetter morgen in Berlin?",
        "Kunnen jullie mijn jas op maat laten maken met mijn initialen?",
    ],
)
def test_outside_the_faq_is_handed_over(assistant: Assistant, question: str) -> None:
    r = assistant.ask(question)
    assert r.handoff and r.reason == "low_confidence" and r.intent is None and r.guess is not None
    assert r.confidence < assistant.min_confidence
    assert r.summary is not None and question in r.summary


def test_angry_is_handed_over_with_an_apology(assistant: Assistant) -> None:
    r = assistant.ask("THIS IS THE THIRD TIME MY PARCEL IS LATE!!! Where the hell is my order?", "C_SHIPPED")
    assert r.handoff and r.reason == "angry" and r.negative >= 0.5
    assert r.answer == T.render("en", "handoff", "angry")


@pytest.mark.parametrize("text", ["", "   ", "....", "???"])
def test_nothing_to_read(assistant: Assistant, text: str) -> None:
    r = assistant.ask(text)
    assert r.handoff and r.reason == "empty" and r.confidence == 0.0


def test_hostile_text_is_plain_data(assistant: Assistant) -> None:
    r = assistant.ask("<script>alert(1)</script> Hoeveel kost verzending?")
    assert r.intent == "shipping_cost" and not r.handoff
    r = assistant.ask("<img src=x onerror=alert(1)> ' OR 1=1; DROP TABLE events; --")
    assert (
        r.handoff and r.summary is not None and "<img src=x onerror=alert(1)>" in r.summary
    )  # shells escape
    doc = r.to_dict()
    assert json.loads(json.dumps(doc)) == doc


# ---------------------------------------------------------------------------------------------- the CLI

root = typer.Typer()
root.add_typer(assist_app, name="assist")
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(root, ["assist", *args])


@pytest.mark.parametrize("lang", ["nl", "da", "en", "de"])
def test_cli_contract_and_recorded_events(shop_copy: Path, lang: str) -> None:
    r = run("ask", QUESTIONS[lang], "--customer", "C_SHIPPED", "--db", str(shop_copy), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert {"language", "intent", "answer", "handoff", "confidence"} <= set(doc)
    assert (doc["language"], doc["intent"], doc["handoff"]) == (lang, "order_status", False)
    assert T.date(lang, D("2026-03-11")) in doc["answer"] and 0 < doc["confidence"] <= 1
    with Store(shop_copy, read_only=True) as store:
        rows = store.con.execute(
            "SELECT event, customer_id, touchpoint, properties FROM events WHERE event LIKE 'assist_%' ORDER BY event"
        ).fetchall()
    assert [(e, c, t) for e, c, t, _ in rows] == [
        ("assist_answer", "C_SHIPPED", "assistant"),
        ("assist_question", "C_SHIPPED", "assistant"),
    ]
    answer, question = (json.loads(p) for *_, p in rows)
    assert answer["intent"] == "order_status" and answer["order_id"] == "O1001"
    assert answer["conversation"] == question["conversation"] and question["text"] == QUESTIONS[lang]


def test_cli_handover_records_a_ticket(shop_copy: Path) -> None:
    r = run(
        "ask",
        "Do you buy back second-hand clothes?",
        "--customer",
        "C_DELIVERED",
        "--db",
        str(shop_copy),
        "--json",
    )
    doc = json.loads(r.stdout)
    assert doc["handoff"] is True and doc["intent"] is None
    with Store(shop_copy, read_only=True) as store:
        tickets = store.con.execute(
            "SELECT source, customer_id, touchpoint, text FROM feedback WHERE touchpoint = 'assistant'"
        ).fetchall()
        events = [
            e for (e,) in store.con.execute("SELECT event FROM events WHERE event LIKE 'assist_%'").fetchall()
        ]
    assert tickets == [("ticket", "C_DELIVERED", "assistant", "Do you buy back second-hand clothes?")]
    assert sorted(events) == ["assist_handoff", "assist_question"]


def test_cli_no_record_and_plain_output(shop_copy: Path) -> None:
    r = run("ask", "[bold]Wat kost verzending?[/bold]", "--db", str(shop_copy), "--no-record")
    assert r.exit_code == 0 and "4,95" in r.stdout and "answered: shipping_cost" in r.stdout
    with Store(shop_copy, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM events WHERE event LIKE 'assist_%'").fetchone() == (0,)


def test_cli_without_an_index(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    Store(db).close()
    r = run("ask", "Where is my parcel?", "--db", str(db), "--json")
    assert r.exit_code == 2 and "cxlab assist index" in r.stderr and r.stdout == ""
    r = run("index", "--db", str(db))
    assert r.exit_code == 2 and "no FAQ given" in r.stderr


def test_contact_data_in_a_question_is_not_stored(shop_copy: Path) -> None:
    """The exchange is stored through ingest, which scrubs e-mail addresses and phone numbers from properties."""
    text = "Mijn e-mail is jan.jansen@example.com en mijn nummer +31 6 1234 5678, waar blijft mijn pakket?"
    r = run("ask", text, "--customer", "C_SHIPPED", "--db", str(shop_copy), "--json")
    assert r.exit_code == 0, r.stderr
    with Store(shop_copy, read_only=True) as store:
        (props,) = store.con.execute(
            "SELECT properties FROM events WHERE event = 'assist_question'"
        ).fetchone()
        log = store.con.execute("SELECT file FROM _cxlab_ingests WHERE file = 'assistant'").fetchall()
    stored = json.loads(props)["text"]
    assert "jan.jansen@example.com" not in stored and "1234 5678" not in stored and "pakket" in stored
    assert log == [("assistant",)]


@pytest.mark.parametrize(
    ("question", "customer", "lang"),
    [
        ("Kan ik met PayPal betalen?", None, "nl"),
        ("Kan jeg betale med MobilePay?", None, "da"),
        ("Quels sont vos horaires d'ouverture ?", None, "en"),  # French: the shop's fallback language
        ("¿Dónde está mi pedido?", "C_DELIVERED", "da"),  # Spanish: the customer's own language
    ],
)
def test_reply_language(assistant: Assistant, question: str, customer: str | None, lang: str) -> None:
    assert assistant.ask(question, customer).language == lang


@pytest.mark.parametrize(
    "text",
    [
        "WAAR IS MIJN PAKKET??? DIT IS BELACHELIJK, AL DRIE WEKEN WACHTEN!!!",
        "HVOR ER MIN PAKKE?! I ER ELENDIGE!!!",
    ],
)
def test_capitals_and_exclamations_are_angry(assistant: Assistant, text: str) -> None:
    r = assistant.ask(text, "C_SHIPPED")
    assert r.handoff and r.reason == "angry"


def test_refund_amounts_read_as_the_language_writes_them() -> None:
    from cxlab.assist.answer import _money

    assert _money(1101.79, "EUR", "nl") == "€ 1.101,79"
    assert _money(1101.79, "EUR", "de") == "1.101,79 €"
    assert _money(31.5, "DKK", "da") == "31,50 kr."
    assert _money(1101.79, "GBP", "en") == "£1,101.79"


def test_recorded_exchanges_dont_move_the_horizon(shop_copy: Path) -> None:
    """Asking an old store (data up to 10 March 2026) today must not make a parcel promised by the 11th late."""
    for _ in range(2):
        r = run(
            "ask", "Waar blijft mijn pakket?", "--customer", "C_SHIPPED", "--db", str(shop_copy), "--json"
        )
        doc = json.loads(r.stdout)
        assert doc["handoff"] is False and doc["intent"] == "order_status", doc


def test_an_empty_message_is_recorded_without_a_ticket(shop_copy: Path) -> None:
    r = run("ask", "   ", "--customer", "C_SHIPPED", "--db", str(shop_copy), "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["handoff"] is True
    with Store(shop_copy, read_only=True) as store:
        assert store.con.execute(
            "SELECT count(*) FROM feedback WHERE touchpoint = 'assistant'"
        ).fetchone() == (0,)
