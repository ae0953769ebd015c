"""Text cleaning (hostile input) and language detection restricted to the shop's languages."""

from __future__ import annotations

import pytest

from cxlab.voice.language import detect_languages
from cxlab.voice.text import MAX_CHARS, clean_text, text_hash


def test_clean_text_removes_controls_and_caps_length() -> None:
    assert clean_text("a\x00b\x1b[31mc\u200bd\n\te") == "a b [31mc d e"
    assert clean_text(None) == "" and clean_text("  \x07 ") == ""
    huge = "x" * 1_000_000
    assert len(clean_text(huge)) == MAX_CHARS
    # the hash is stable and depends on the cleaned text only
    assert text_hash(clean_text("hi  there")) == text_hash(clean_text("hi there"))
    assert text_hash("a") != text_hash("b")


def test_clean_text_keeps_scripts_and_emoji() -> None:
    t = "Привет 😀 مرحبا ✓ æøå"
    assert clean_text(t) == t


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Het pakket kwam veel te laat aan en de doos was kapot.", "nl"),
        ("Niet slecht, ik ben best tevreden met de levering.", "nl"),
        ("Pakken kom alt for sent, og kassen var i stykker.", "da"),
        ("Intet at udsætte, hurtig levering og god kvalitet.", "da"),
        ("The parcel arrived two days late and the box was crushed.", "en"),
        ("Die Lieferung kam pünktlich, alles bestens.", "de"),
    ],
)
def test_detects_the_shop_languages(text: str, lang: str) -> None:
    assert detect_languages([text], ["nl", "da", "en", "de"]) == [lang]


def test_short_texts_fall_back_to_the_customer_language() -> None:
    # "Top!" carries no language signal: the customer's language decides
    got = detect_languages(["Top!", "👍👍"], ["nl", "da", "en"], ["da", "nl"])
    assert got == ["da", "nl"]


def test_restricting_candidates_avoids_afrikaans() -> None:
    # without restriction lingua may call short Dutch Afrikaans; the shop has no Afrikaans customers
    assert detect_languages(["Prima geleverd, dank je wel"], ["nl", "da", "en"]) == ["nl"]


def test_unknown_language_code_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        detect_languages(["hello"], ["en", "xx"])
