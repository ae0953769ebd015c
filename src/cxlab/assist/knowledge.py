"""The shop's knowledge: FAQ entries read from Markdown or CSV, and the built-in intents that need data.

An entry is one answer in one language with the ways customers ask for it. Entries of different languages
share an ``id`` (the intent): the assistant finds the intent in any language and answers in the customer's.

Markdown (one file per language, ``language: xx`` near the top or ``faq.xx.md`` as the name)::

    ## How long does delivery take?
    id: delivery_time
    touchpoint: delivery
    ? When will my order arrive if I order today?
    ? How many days does shipping take?

    Orders placed before 22:00 ship the next morning ...

CSV: columns ``id, language, question, answer`` (``touchpoint`` optional), one row per way of asking; the
answer is given on at least one row of each (id, language). Both are parsed by hand: a Markdown library
would give a tree to walk for four line kinds, and the CSV goes through the csv module.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

#: Intents answered from the store rather than from the FAQ's text.
BUILTIN = ("order_status", "return_window", "opening_hours")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
LANG_PATTERN = re.compile(r"^[a-z]{2}$")
MAX_TEXT = 4000


class KnowledgeError(ValueError):
    """A FAQ file that can't be used; the message names the file, the line or row and the field."""


@dataclass
class Entry:
    """One intent in one language: how customers ask for it and the shop's answer."""

    id: str
    language: str
    question: str
    variants: list[str] = field(default_factory=list)
    answer: str | None = None
    """None for a built-in intent: its answer is made from the customer's data."""
    touchpoint: str | None = None

    @property
    def questions(self) -> list[str]:
        """The main question and every variant, without repeats."""
        return list(dict.fromkeys([self.question, *self.variants]))


def _check(source: str, where: str, field_: str, value: str, pattern: re.Pattern[str], expected: str) -> str:
    value = value.strip()
    if not pattern.fullmatch(value):
        raise KnowledgeError(f"{source}: {where}: {field_} {value!r}: expected {expected}")
    return value


def _known_language(source: str, where: str, code: str) -> str:
    from lingua import IsoCode639_1

    if not hasattr(IsoCode639_1, code.upper()):
        raise KnowledgeError(
            f"{source}: {where}: language {code!r}: not an ISO 639-1 code (da, de, en, nl, ...)"
        )
    return code


def _language_of(path: Path) -> str | None:
    parts = path.name.lower().split(".")
    return parts[-2] if len(parts) >= 3 and LANG_PATTERN.fullmatch(parts[-2]) else None


def parse_markdown(text: str, source: str, language: str | None = None) -> list[Entry]:
    """Entries of a Markdown FAQ (see the module docstring); ``language`` when the file doesn't say it."""
    entries: list[Entry] = []
    answer: list[str] = []
    current: Entry | None = None
    start = 0

    def close() -> None:
        if current is None:
            return
        body = " ".join(" ".join(answer).split())
        if not body:
            raise KnowledgeError(
                f"{source}: line {start}: answer: the entry {current.question!r} has no answer"
            )
        current.answer = body[:MAX_TEXT]
        if not current.id:
            raise KnowledgeError(
                f"{source}: line {start}: id: the entry {current.question!r} has no `id:` line"
            )
        entries.append(current)

    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        low = line.lower()
        if line.startswith("## "):
            close()
            if language is None:
                raise KnowledgeError(
                    f"{source}: line {n}: language: not given (add `language: xx` before the first question, "
                    "or name the file faq.xx.md)"
                )
            current, answer, start = Entry("", language, line[3:].strip()[:MAX_TEXT]), [], n
        elif line.startswith("# ") or not line:
            continue
        elif current is None:
            if low.startswith("language:"):
                language = _check(source, f"line {n}", "language", low.split(":", 1)[1], LANG_PATTERN, "xx")
                language = _known_language(source, f"line {n}", language)
        elif line.startswith("? ") and not answer:
            current.variants.append(line[2:].strip()[:MAX_TEXT])
        elif low.startswith("id:") and not answer:
            current.id = _check(source, f"line {n}", "id", low[3:], ID_PATTERN, "letters, digits, _ or -")
        elif low.startswith("touchpoint:") and not answer:
            current.touchpoint = line.split(":", 1)[1].strip() or None
        else:
            answer.append(line)
    close()
    return entries


def parse_csv(text: str, source: str) -> list[Entry]:
    """Entries of a CSV FAQ: one row per way of asking (see the module docstring)."""
    reader = csv.DictReader(io.StringIO(text))
    cols = {c.strip().lower() for c in reader.fieldnames or []}
    missing = [c for c in ("id", "language", "question", "answer") if c not in cols]
    if missing:
        raise KnowledgeError(
            f"{source}: header: missing column {missing[0]!r} (need id, language, question, answer)"
        )
    by_key: dict[tuple[str, str], Entry] = {}
    for n, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        where = f"row {n}"
        intent = _check(source, where, "id", row["id"].lower(), ID_PATTERN, "letters, digits, _ or -")
        lang = _check(source, where, "language", row["language"].lower(), LANG_PATTERN, "an ISO 639-1 code")
        lang = _known_language(source, where, lang)
        question = row["question"][:MAX_TEXT]
        if not question:
            raise KnowledgeError(f"{source}: {where}: question: empty")
        entry = by_key.get((intent, lang))
        if entry is None:
            entry = by_key[(intent, lang)] = Entry(intent, lang, question)
        else:
            entry.variants.append(question)
        if row["answer"] and entry.answer is None:
            entry.answer = " ".join(row["answer"].split())[:MAX_TEXT]
        if row.get("touchpoint") and entry.touchpoint is None:
            entry.touchpoint = row["touchpoint"]
    for (intent, lang), entry in by_key.items():
        if entry.answer is None:
            raise KnowledgeError(f"{source}: answer: no row of {intent!r} in {lang!r} gives an answer")
    return list(by_key.values())


def read_faq(path: str | Path) -> list[Entry]:
    """Entries of one FAQ file (``.md`` or ``.csv``, UTF-8); a clear error naming file and line otherwise."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise KnowledgeError(f"{p}: cannot read: {e.strerror}") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise KnowledgeError(f"{p}: line {line}: not UTF-8 (byte {e.start}); save it as UTF-8") from e
    suffix = p.suffix.lower()
    if suffix in (".md", ".markdown", ".txt"):
        entries = parse_markdown(text, str(p), _language_of(p))
    elif suffix == ".csv":
        entries = parse_csv(text, str(p))
    else:
        raise KnowledgeError(f"{p}: unknown kind of file: expected .md or .csv")
    if not entries:
        raise KnowledgeError(f"{p}: no questions found (a Markdown FAQ starts each one with `## `)")
    return entries


def merge(groups: Iterable[tuple[str, Sequence[Entry]]]) -> list[Entry]:
    """Entries of several files (``(file, entries)``); an (id, language) given twice is an error naming both
    files."""
    seen: dict[tuple[str, str], tuple[str, Entry]] = {}
    for source, entries in groups:
        for e in entries:
            key = (e.id, e.language)
            if key in seen:
                raise KnowledgeError(
                    f"{source}: {e.id!r} in {e.language!r} is given twice ({e.question!r}; first in {seen[key][0]})"
                )
            if e.id in BUILTIN:
                raise KnowledgeError(
                    f"{source}: {e.id!r} is a built-in intent answered from the store; rename it"
                )
            seen[key] = (source, e)
    return [e for _, e in seen.values()]


def demo_faq() -> list[Entry]:
    """The demo shop's FAQ (nl, da, en, de), shipped with cxlab."""
    folder = resources.files("cxlab.demo").joinpath("faq")
    files = sorted(f.name for f in folder.iterdir() if f.name.endswith(".md"))
    return merge(
        (f, parse_markdown(folder.joinpath(f).read_text(encoding="utf-8"), f, _language_of(Path(f))))
        for f in files
    )


def _resource_toml(name: str) -> dict[str, object]:
    return tomllib.loads(resources.files("cxlab.assist").joinpath(name).read_text(encoding="utf-8"))


def builtin_entries() -> list[Entry]:
    """The built-in intents' questions in every language they ship in (``intents.toml``)."""
    out: list[Entry] = []
    for intent, spec in _resource_toml("intents.toml").items():
        assert isinstance(spec, dict)
        touchpoint = spec.get("touchpoint")
        for lang, questions in spec.items():
            if lang == "touchpoint":
                continue
            out.append(Entry(intent, lang, questions[0], list(questions[1:]), None, touchpoint))
    return out


def outside_questions() -> dict[str, list[str]]:
    """Messages no shop FAQ answers, per language (``outside.toml``): what calibrates the hand-over."""
    return {
        str(k): [str(x) for x in v] for k, v in _resource_toml("outside.toml").items() if isinstance(v, list)
    }
