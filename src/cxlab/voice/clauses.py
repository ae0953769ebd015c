"""A text as a sequence of clauses, each with a discourse role, so the verdict can weigh more than the story.

Customers narrate: "The parcel came damaged. I mailed support and had a new one two days later, great service!"
A model reading the whole text sees mostly a problem; a reader sees a compliment. This module splits a text into
sentences and, at contrast and concession markers (``discourse.toml``: but/maar/men/aber/mais, however,
although…), into clauses, and gives each clause a role: the clause after a contrast outweighs the one before it,
a clause holding a resolution marker ("fortunately", "in the end", "solved", "erstattet") is the outcome, a
concession weighs little. A question followed by a short answer ("Would I order again? Absolutely.") stays one
clause: the answer means nothing alone.

Long texts are windowed: a review's verdict is in its first and last sentences, so beyond ``HEAD_CHARS`` +
``TAIL_CHARS`` the middle sentences are left out (what the embedding engine reads is then bounded, whatever the
length of the review).

Hand-written because no maintained library does discourse segmentation for Danish, Dutch, German, French and
English together offline; the rules are small and the markers are data.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

Role = Literal["plain", "before_turn", "after_turn", "outcome", "concession"]

#: Characters kept from the start and from the end of a long text (the middle sentences are left out).
HEAD_CHARS = 400
TAIL_CHARS = 300
#: An answer of at most this many words stays with the question before it.
SHORT_ANSWER_WORDS = 4

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\s*\n+\s*")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Clause:
    """One clause of a text: its text, its discourse role and whether it is in the text's last sentence."""

    text: str
    role: Role
    last: bool


@dataclass(frozen=True)
class Markers:
    """A language's discourse markers as compiled patterns (``discourse.toml``)."""

    split_anywhere: re.Pattern[str] | None
    split_after_boundary: re.Pattern[str] | None
    turn: re.Pattern[str] | None
    """A clause that opens with a contrast or turn marker."""
    concession: re.Pattern[str] | None
    resolution: re.Pattern[str] | None
    formula: re.Pattern[str] | None
    """A sentence that is only a greeting or a sign-off (and at most three more words: a name)."""


def _alternation(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@lru_cache(maxsize=16)
def markers(language: str | None) -> Markers:
    """The markers of ``language``; for an unknown language, the English ones (clauses are still cut at "but";
    every language's markers together would cut English "the men" at Danish "men")."""
    table = tomllib.loads(
        resources.files("cxlab.voice").joinpath("discourse.toml").read_text(encoding="utf-8")
    )
    own = table[language if language in table else "en"]

    def words(key: str) -> list[str]:
        return list(own.get(key, []))

    def pattern(template: str, key: str) -> re.Pattern[str] | None:
        ws = words(key)
        return re.compile(template.format(_alternation(ws)), re.IGNORECASE) if ws else None

    return Markers(
        pattern(r"(?:,\s*|\s+)(?=(?:{})\b)", "contrast"),
        pattern(r"(?:[,;:–—-]\s*)(?=(?:{})\b)", "turn"),
        re.compile(rf"^\W*(?:{_alternation(words('contrast') + words('turn'))})\b", re.IGNORECASE),
        pattern(r"(?:^|[,;:–—-]\s*|\s+)(?=(?:{})\b)", "concession"),
        pattern(r"(?<!\w)(?:{})(?!\w)", "resolution"),
        pattern(r"^\W*(?:{})(?!\w)\W*(?:\w+\W*){{0,3}}$", "formula"),
    )


def sentences(text: str, formula: re.Pattern[str] | None = None) -> list[str]:
    """The sentences of ``text`` (split after . ! ? … and at line breaks); a question and a short answer
    after it are one sentence. Sentences that are only a greeting or sign-off (``formula``) are left out, unless
    nothing else is left."""
    parts = [p for p in _SENTENCE_END.split(text) if p and p.strip()]
    if formula is not None:
        parts = [p for p in parts if not formula.match(p)] or parts
    out: list[str] = []
    for p in parts:
        if out and out[-1].rstrip().endswith("?") and len(_WORD.findall(p)) <= SHORT_ANSWER_WORDS:
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return out


def window(parts: Sequence[str], head: int = HEAD_CHARS, tail: int = TAIL_CHARS) -> list[str]:
    """The first sentences up to ``head`` characters and the last up to ``tail`` (all of them when the text is
    short); a single sentence longer than a budget is cut at a word boundary."""
    if sum(len(p) for p in parts) <= head + tail:
        return list(parts)
    if len(parts) == 1:  # one run-on sentence: its start and its end
        return [_cut(parts[0], head, from_end=False), _cut(parts[0], tail, from_end=True)]
    first = _take(parts, head, from_end=False)
    return first + _take(parts[len(first) :], tail, from_end=True)


def _take(parts: Sequence[str], budget: int, from_end: bool) -> list[str]:
    """Whole sentences from the start (or the end) of ``parts`` up to ``budget`` characters, in text order; the
    first one cut at a word boundary when it alone is longer."""
    out: list[str] = []
    used = 0
    for p in reversed(parts) if from_end else parts:
        if used + len(p) > budget:
            if not out:
                out.append(_cut(p, budget, from_end))
            break
        out.append(p)
        used += len(p)
    return out[::-1] if from_end else out


def windowed(text: str) -> str:
    """``text`` itself when short, else its first and last sentences (:func:`window`) joined: what a text's
    own vector is embedded from."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    return " ".join(window(sentences(text)))


def _cut(text: str, limit: int, from_end: bool) -> str:
    """At most ``limit`` characters of ``text``, from its start or its end, not splitting a word."""
    if len(text) <= limit:
        return text
    piece = text[-limit:] if from_end else text[:limit]
    words = piece.split(" ")
    if len(words) > 1:
        words = words[1:] if from_end else words[:-1]
    return " ".join(words).strip()


def _split(sentence: str, pattern: re.Pattern[str] | None) -> list[str]:
    if pattern is None:
        return [sentence]
    return [p for p in pattern.split(sentence) if _WORD.search(p)]


def clauses(text: str, language: str | None) -> list[Clause]:
    """The clauses of ``text`` (windowed when long) in order, with their roles (see the module docstring)."""
    m = markers(language)
    sents = window(sentences(text, m.formula))  # "Kind regards, Maria." says nothing of the matter
    out: list[Clause] = []
    for si, sentence in enumerate(sents):
        last = si == len(sents) - 1
        pieces: list[tuple[str, Role]] = []
        for part in _split(sentence, m.split_anywhere):
            for sub in _split(part, m.split_after_boundary):
                pieces += _concessions(sub, m.concession)
        pieces = _merge_bare_markers(pieces, m.turn)
        roles: list[Role] = [r for _, r in pieces]
        for i in range(1, len(pieces)):  # a clause that opens with a contrast marker turns the one before it
            if _opens_with(pieces[i][0], m.turn) and roles[i] != "concession":
                roles[i] = "after_turn"
                if roles[i - 1] == "plain":
                    roles[i - 1] = "before_turn"
        if pieces and out and _opens_with(pieces[0][0], m.turn) and roles[0] != "concession":
            roles[0] = "after_turn"  # "The parcel was late. But support made up for it."
            prev = out[-1]
            if prev.role == "plain":
                out[-1] = Clause(prev.text, "before_turn", prev.last)
        for (piece, _), role in zip(pieces, roles, strict=True):
            if m.resolution is not None and m.resolution.search(piece) and role != "concession":
                role = "outcome"
            out.append(Clause(piece.strip(" ,;:–—-"), role, last))
    return _merge_runs([c for c in out if c.text]) or [Clause(text, "plain", True)]


def _merge_runs(parts: list[Clause]) -> list[Clause]:
    """Neighbouring clauses of the same role and place (a run of plain sentences of a story) as one clause:
    they weigh alike anyway, and every clause costs the engine a pass of its own (prefix and markers
    included)."""
    out: list[Clause] = []
    for c in parts:
        if out and out[-1].role == c.role and out[-1].last == c.last:
            out[-1] = Clause(f"{out[-1].text} {c.text}", c.role, c.last)
        else:
            out.append(c)
    return out


def _concessions(part: str, pattern: re.Pattern[str] | None) -> list[tuple[str, Role]]:
    """``part`` cut before each concession marker; the clause a marker opens runs to the next comma and is a
    concession: "Although it was late, the dress is lovely" → (concession, plain)."""
    out: list[tuple[str, Role]] = []
    for piece in _split(part, pattern):
        if pattern is None or not pattern.match(piece.lstrip()):
            out.append((piece, "plain"))
            continue
        head, comma, rest = piece.partition(",")
        out += (
            [(head, "concession"), (rest, "plain")]
            if comma and _WORD.search(rest)
            else [(piece, "concession")]
        )
    return out


def _merge_bare_markers(
    pieces: list[tuple[str, Role]], turn: re.Pattern[str] | None
) -> list[tuple[str, Role]]:
    """A piece that is only a marker ("The price is high, though.") goes back onto the piece before it: it
    says nothing alone and turns nothing."""
    out: list[tuple[str, Role]] = []
    for piece, role in pieces:
        bare = out and turn is not None and not _WORD.search(turn.sub("", piece.strip(), count=1))
        if bare and _opens_with(piece, turn):
            out[-1] = (f"{out[-1][0]}, {piece.strip()}", out[-1][1])
        else:
            out.append((piece, role))
    return out


def _opens_with(piece: str, turn: re.Pattern[str] | None) -> bool:
    return turn is not None and turn.match(piece) is not None
