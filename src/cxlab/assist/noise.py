"""Typing noise for calibration: the FAQ's clean questions made to look like what customers type.

The hand-over is calibrated on the FAQ's own questions, asked again without their own row (leave one out).
Customers type faster than FAQ writers: no capitals, no accents, a swapped or missing letter. Calibrating on
clean questions only would make the assistant over-confident on clean text and hand over typed text too
often, so each question is also asked once with such noise (seeded by the question itself: the same question
always gets the same noise, so the index is reproducible and the shipped questions' vectors can be cached).
"""

from __future__ import annotations

import random
import unicodedata


def strip_accents(text: str) -> str:
    """``café, født, Größe`` → ``cafe, fodt, Grosse`` (æ/ø/å/ß written the way keyboards without them do)."""
    text = text.replace("ß", "ss").replace("æ", "ae").replace("ø", "o").replace("å", "aa")
    text = text.replace("Æ", "Ae").replace("Ø", "O").replace("Å", "Aa")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:  # two letters swapped
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if op == 1:  # a letter left out
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # a letter doubled


def noisy(text: str, rng: random.Random) -> str:
    """``text`` as typed in a hurry: lower case, maybe without accents and punctuation, one or two typos."""
    out = text.lower()
    if rng.random() < 0.5:
        out = strip_accents(out)
    if rng.random() < 0.5:
        out = "".join(c for c in out if c.isalnum() or c.isspace())
    words = out.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 4]
    for i in rng.sample(long_words, min(len(long_words), rng.choice((1, 1, 2)))):
        words[i] = _typo(words[i], rng)
    return " ".join(words)


def noisy_copy(text: str, seed: int = 19) -> str:
    """:func:`noisy` with a random stream seeded by ``text`` itself."""
    return noisy(text, random.Random(f"{seed}:{text}"))
