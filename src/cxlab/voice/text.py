"""What every text goes through before a model sees it: control characters out, whitespace folded, length
capped (a 1 MB paste costs no more than a long review; what the models read is windowed further to the first
and last sentences, :func:`cxlab.voice.clauses.window`, so the cap only has to keep a long review's ending), and a
stable hash that keys the stored embedding, so a text is embedded once however often it recurs."""

from __future__ import annotations

import hashlib
import re
import unicodedata

#: Characters kept per text: the longest real reviews (several thousand characters) whole.
MAX_CHARS = 20_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_SPACE = re.compile(r"\s+")


def clean_text(text: str | None) -> str:
    """``text`` without control/format characters, whitespace folded to single spaces, at most MAX_CHARS."""
    if not text:
        return ""
    t = _CONTROL.sub(" ", text[: MAX_CHARS * 4])
    return _SPACE.sub(" ", t).strip()[:MAX_CHARS]


def text_hash(clean: str) -> str:
    """Key of a cleaned text in the embedding store (BLAKE2b, 16 bytes, hex)."""
    return hashlib.blake2b(clean.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def has_words(clean: str) -> bool:
    """Whether a text says anything a model can read: a letter or an emoji/symbol. ``....``, ``???`` and
    ``!!!`` don't; such texts get no language, embedding, sentiment or theme (and are counted)."""
    return any(c.isalpha() or unicodedata.category(c) == "So" for c in clean)
