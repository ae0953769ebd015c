"""Answering one message: language, intent, the shop's answer filled with the customer's data, or a hand-over.

:class:`Assistant` holds the loaded index, the shop's templates and settings and (for order data) the store's
connection; :meth:`Assistant.ask` is pure apart from reading the store. It hands over when the calibrated
confidence is below ``min_confidence``, when the message is angry (the voice sentiment's P(negative) with
shouting or repeated exclamation marks), when an order question comes from someone it can't identify, and
when an order is late; the hand-over carries a summary for the colleague who takes it.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from cxlab.assist.index import DEFAULT_MIN_CONFIDENCE, AssistIndex
from cxlab.assist.knowledge import BUILTIN, Entry
from cxlab.assist.orders import OrderFacts, customer_known, horizon, orders_of, pick
from cxlab.assist.settings import AssistSettings
from cxlab.assist.templates import Templates
from cxlab.voice.clauses import sentences
from cxlab.voice.embeddings import Embedder
from cxlab.voice.language import LANGUAGE_CHARS, MIN_CONFIDENCE, detect_languages, detector
from cxlab.voice.sentiment import LABELS, LinearHead
from cxlab.voice.text import clean_text, has_words

MAX_CHARS = 1000
"""Characters of a message read (a question is short; a pasted e-mail is cut)."""
MAX_SENTENCES = 1
"""The last sentences of a message of several, scored on their own besides the whole (a story, then the
question). On the dev split (16 ways of asking per answer) one sentence did as well as two (0.96–0.98 right,
0.95–1.0 handed over), and each costs an engine pass: two put p95 latency at 106 ms, one under 100."""
SAME_WORDS = 0.5
OTHER_LANGUAGES = ("fr", "es", "it", "pt", "pl", "tr")
"""Languages told apart from the shop's, so that a French question is not read as Dutch (Swedish and Norwegian
are left out: too close to Danish for short messages)."""
NEGATIVE = LABELS.index("negative")
SHOUT = re.compile(r"!{2,}|\?!|!\?")


def _capitals(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.6


def shouting(text: str) -> bool:
    """Capitals (most letters of a message with a few words) or repeated exclamation marks."""
    return _capitals(text) or bool(SHOUT.search(text))


def furious(text: str) -> bool:
    """Capitals and repeated exclamation marks together: angry whatever the words' sentiment."""
    return _capitals(text) and bool(SHOUT.search(text))


@dataclass
class Reply:
    """The assistant's reply to one message; ``to_dict`` is the JSON contract of ``cxlab assist ask``."""

    language: str
    intent: str | None
    """The intent answered (or the one a hand-over is about); None when unsure what was asked."""
    answer: str | None
    handoff: bool
    confidence: float
    reason: str | None = None
    """Why it was handed over: low_confidence, angry, unknown_customer, no_orders, late, empty."""
    guess: str | None = None
    """The closest intent, also when unsure."""
    touchpoint: str | None = None
    order_id: str | None = None
    summary: str | None = None
    """For the colleague who takes over: who asked what, what the assistant knows."""
    negative: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "intent": self.intent,
            "answer": self.answer,
            "handoff": self.handoff,
            "confidence": round(self.confidence, 4),
            "reason": self.reason,
            "touchpoint": self.touchpoint,
            "order_id": self.order_id,
            "summary": self.summary,
        }


class Assistant:
    """Answers messages from an :class:`AssistIndex`, the shop's templates and its store."""

    def __init__(
        self,
        index: AssistIndex,
        embedder: Embedder,
        sentiment: LinearHead,
        settings: AssistSettings,
        templates: Templates,
        languages: Sequence[str],
        con: duckdb.DuckDBPyConnection | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.sentiment = sentiment
        self.settings = settings
        self.templates = templates
        self.con = con
        self.now = now
        self.min_confidence = settings.min_confidence or DEFAULT_MIN_CONFIDENCE
        self._entries: dict[tuple[str, str], Entry] = {(e.id, e.language): e for e in index.entries}
        faq_langs = {e.language for e in index.entries if e.answer is not None}
        self.languages = tuple(dict.fromkeys([*languages, *sorted(faq_langs)]))

    def with_connection(self, con: duckdb.DuckDBPyConnection) -> Assistant:
        """The same assistant reading the store through ``con`` (a server request's own cursor)."""
        other = copy.copy(self)
        other.con = con
        return other

    # ------------------------------------------------------------------ language and text

    def _language(self, text: str, nearest: str, customer_language: str | None, same: float = 0.0) -> str:
        """The message's language among the shop's and a few common others (:data:`OTHER_LANGUAGES`); where
        lingua is unsure, the customer's, else its best guess. One the shop doesn't speak becomes the
        customer's language, else the fallback: the reply must be in a language the shop answers in. A message
        worded like one of the FAQ's questions (character similarity ``same`` ≥ :data:`SAME_WORDS`) is in that
        question's language: lingua reads "Kan ik met PayPal betalen?" as Danish."""
        if same >= SAME_WORDS:
            return nearest
        detected = detect_languages([text], self.languages, [customer_language or nearest])[0] or nearest
        wider = detector(tuple(dict.fromkeys([*self.languages, *OTHER_LANGUAGES])))
        best = wider.compute_language_confidence_values(text[:LANGUAGE_CHARS])[:1]
        if best and best[0].value >= MIN_CONFIDENCE:
            code = best[0].language.iso_code_639_1.name.lower()
            if code not in self.languages:  # surely a language the shop doesn't answer in
                return (
                    customer_language
                    if customer_language in self.languages
                    else self.settings.fallback_language
                )
        return detected

    def _reply_language(self, language: str, intent: str) -> str:
        """``language`` if the shop has this answer in it, else the fallback (or any language that has it)."""
        has = {lang for (i, lang) in self._entries if i == intent}
        if intent in BUILTIN:
            has = set(self.templates.languages)
        if language in has:
            return language
        if self.settings.fallback_language in has:
            return self.settings.fallback_language
        return sorted(has)[0] if has else self.settings.fallback_language

    def _customer_language(self, customer: str | None) -> str | None:
        if customer is None or self.con is None:
            return None
        row = self.con.execute("SELECT language FROM customers WHERE customer_id = ?", [customer]).fetchone()
        return str(row[0]) if row and row[0] else None

    # ------------------------------------------------------------------ answering

    def ask(self, text: str, customer: str | None = None, history: Sequence[str] = ()) -> Reply:
        """The reply to ``text`` from ``customer`` (None: anonymous); ``history``: earlier messages of the
        conversation, for the hand-over summary."""
        clean = clean_text(text)[:MAX_CHARS]
        if not has_words(clean):
            lang = self.settings.fallback_language
            return self._handoff(lang, None, None, 0.0, "empty", clean, customer, history)
        said = [s for s in sentences(clean) if len(s.split()) >= 2]
        texts = [clean, *said[-MAX_SENTENCES:]] if len(said) > 1 else [clean]
        vectors = self.embedder.embed(texts)
        vector = vectors[:1]
        scores = self.index.score(vectors, texts, parts=np.zeros(len(texts), np.int64))
        confidence = float(self.index.confidence(scores.features)[0])
        guess = scores.best[0]
        language = self._language(
            clean, scores.nearest_language[0], self._customer_language(customer), scores.nearest_similarity[0]
        )
        negative = float(self.sentiment.predict_proba(vector)[0, NEGATIVE])
        if (negative >= self.settings.angry and shouting(clean)) or furious(clean):
            sure = guess if confidence >= self.min_confidence else None
            reply = self._handoff(language, sure, guess, confidence, "angry", clean, customer, history)
            reply.negative = negative
            return reply
        if confidence < self.min_confidence:
            reply = self._handoff(
                language, None, guess, confidence, "low_confidence", clean, customer, history
            )
            reply.negative = negative
            return reply
        lang = self._reply_language(language, guess)
        if guess in BUILTIN:
            reply = self._builtin(guess, lang, clean, customer, confidence, history)
        else:
            entry = self._entries[(guess, lang)]
            reply = Reply(lang, guess, entry.answer, False, confidence, touchpoint=entry.touchpoint)
        reply.guess, reply.negative = guess, negative
        return reply

    def _handoff(
        self,
        language: str,
        intent: str | None,
        guess: str | None,
        confidence: float,
        reason: str,
        text: str,
        customer: str | None,
        history: Sequence[str],
        answer: str | None = None,
        order: OrderFacts | None = None,
    ) -> Reply:
        lang = language if language in self.templates.languages else self.settings.fallback_language
        key = "angry" if reason == "angry" else "default"
        said = answer if answer is not None else self.templates.render(lang, "handoff", key)
        lines = [f"Customer {customer or '(anonymous)'} wrote ({language}): {text}"]
        lines += [f"Earlier: {h}" for h in history[-5:]]
        if guess is not None:
            lines.append(f"Closest topic: {guess} (confidence {confidence:.0%})")
        if order is not None:
            lines.append(f"Order {order.order_id}: {_facts(order)}")
        lines.append(f"Handed over: {reason.replace('_', ' ')}")
        touchpoint = self._touchpoint(intent or guess)
        order_id = order.order_id if order else None
        return Reply(
            lang, intent, said, True, confidence, reason, guess, touchpoint, order_id, "\n".join(lines)
        )

    def _touchpoint(self, intent: str | None) -> str | None:
        if intent is None:
            return None
        return next(
            (e.touchpoint for (i, _), e in self._entries.items() if i == intent and e.touchpoint), None
        )

    def _builtin(
        self,
        intent: str,
        lang: str,
        text: str,
        customer: str | None,
        confidence: float,
        history: Sequence[str],
    ) -> Reply:
        t = self.templates
        touchpoint = self._touchpoint(intent)
        if intent == "opening_hours":
            answer = t.render(lang, intent, "hours", hours=t.hours(lang, self.settings.opening_hours))
            return Reply(lang, intent, answer, False, confidence, touchpoint=touchpoint)
        days = self.settings.return_days
        if customer is None or self.con is None or not customer_known(self.con, customer):
            if intent == "return_window":
                answer = t.render(lang, intent, "no_customer", days=days)
                return Reply(lang, intent, answer, False, confidence, touchpoint=touchpoint)
            said = t.render(lang, intent, "no_customer")
            return self._handoff(
                lang, intent, intent, confidence, "unknown_customer", text, customer, history, said
            )
        orders = orders_of(self.con, customer, self.now)
        order = pick(orders, text)
        if order is None:
            said = t.render(lang, intent, "no_orders")
            return self._handoff(lang, intent, intent, confidence, "no_orders", text, customer, history, said)
        as_of = horizon(self.con, self.now)

        def date(d: dt.date | None) -> str:
            return t.date(lang, d) if d is not None else ""

        if intent == "return_window":
            window, deadline = order.return_window(days, as_of)
            answer = t.render(
                lang, intent, window, order_id=order.order_id, days=days, delivered=date(order.delivered),
                deadline=date(deadline), returned=date(order.returned),
            )  # fmt: skip
            return Reply(
                lang, intent, answer, False, confidence, touchpoint=touchpoint, order_id=order.order_id
            )
        status = order.status(as_of)
        amount = "" if order.refund_amount is None else _money(order.refund_amount, order.currency, lang)
        answer = t.render(
            lang, intent, status, order_id=order.order_id, ordered=date(order.ordered), shipped=date(order.shipped),
            carrier=order.carrier or "", promised_by=date(order.promised_by), delivered=date(order.delivered),
            returned=date(order.returned), refunded=date(order.refunded), amount=amount,
        )  # fmt: skip
        if status == "delayed":
            return self._handoff(
                lang, intent, intent, confidence, "late", text, customer, history, answer, order
            )
        return Reply(lang, intent, answer, False, confidence, touchpoint=touchpoint, order_id=order.order_id)


def _money(amount: float, currency: str | None, language: str) -> str:
    """``€ 101,79`` (nl), ``101,79 €`` (da, de), ``€101.79`` (en and others)."""
    symbol = {"EUR": "€", "GBP": "£", "USD": "$", "DKK": "kr."}.get(currency or "", currency or "")
    if language in ("nl", "da", "de"):
        number = f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
        return f"{symbol} {number}" if language == "nl" else f"{number} {symbol}"
    return f"{symbol}{amount:,.2f}"


def _facts(o: OrderFacts) -> str:
    parts = [f"ordered {o.ordered}"]
    if o.shipped:
        parts.append(f"shipped {o.shipped}" + (f" with {o.carrier}" if o.carrier else ""))
    if o.promised_by:
        parts.append(f"promised by {o.promised_by}")
    parts.append(f"delivered {o.delivered}" if o.delivered else "not delivered")
    if o.returned:
        parts.append(f"returned {o.returned}")
    if o.refunded:
        parts.append(f"refunded {o.refunded}")
    return ", ".join(parts)
