"""Language of each text with lingua, restricted to the shop's languages (``[shop] languages``).

Restricting the candidates is what makes short texts work: among all 75 languages lingua knows, "Prima" or
"niet slecht" may well be Afrikaans, but a Dutch/Danish/English shop has no Afrikaans customers. When lingua
is unsure (short, emoji-only or mixed text), the caller's fallback (the customer's language) is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

#: Below this confidence of the best candidate, the fallback language wins.
MIN_CONFIDENCE = 0.5
#: Characters of a text read to tell its language (a long review says it in its first lines).
LANGUAGE_CHARS = 1000


def _language(code: str) -> Language:
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except AttributeError:
        raise ValueError(
            f"unknown language code {code!r}: expected an ISO 639-1 code such as nl, da, en"
        ) from None


@lru_cache(maxsize=8)
def detector(codes: tuple[str, ...]) -> LanguageDetector:
    """A lingua detector for these ISO 639-1 codes (cached: building one loads its models)."""
    langs = sorted({_language(c) for c in codes}, key=lambda x: x.name)
    if len(langs) == 1:  # lingua needs two candidates; the answer is known anyway
        langs.append(Language.ENGLISH if langs[0] != Language.ENGLISH else Language.DUTCH)
    return LanguageDetectorBuilder.from_languages(*langs).with_minimum_relative_distance(0.0).build()


def detect_languages(
    texts: Sequence[str], languages: Sequence[str], fallback: Sequence[str | None] | None = None
) -> list[str | None]:
    """ISO 639-1 code per text, one of ``languages``: where lingua is unsure, ``fallback[i]`` if it is one of
    them, else lingua's best guess (None when it has none)."""
    codes = tuple(c.lower() for c in languages)
    if not codes:
        raise ValueError("no languages configured: set [shop] languages in cxlab.toml")
    if len(codes) == 1:
        return [codes[0]] * len(texts)
    det = detector(codes)
    confidences = det.compute_language_confidence_values_in_parallel([t[:LANGUAGE_CHARS] for t in texts])
    out: list[str | None] = []
    for i, conf in enumerate(confidences):
        best = conf[0] if conf else None
        guess = best.language.iso_code_639_1.name.lower() if best is not None and best.value > 0 else None
        sure = best is not None and best.value >= MIN_CONFIDENCE
        fb = fallback[i] if fallback is not None else None
        out.append(fb if not sure and fb in codes else guess)
    return out
