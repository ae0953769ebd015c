"""FAQ files: Markdown and CSV read into entries; bad files get an error naming the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlab.assist.knowledge import (
    BUILTIN,
    KnowledgeError,
    builtin_entries,
    demo_faq,
    merge,
    outside_questions,
    read_faq,
)
from cxlab.assist.templates import Templates

MD = """# Shop FAQ
language: en

## How long does delivery take?
id: delivery_time
touchpoint: delivery
? When will my order arrive?
? How many days is shipping?

Orders before 22:00 ship the next morning.
PostNL delivers in one working day.

## What does shipping cost?
id: shipping_cost
? Is shipping free?
Shipping costs €4.95; free from €50.
"""


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_markdown_entries(tmp_path: Path) -> None:
    entries = read_faq(write(tmp_path / "faq.md", MD))
    assert [e.id for e in entries] == ["delivery_time", "shipping_cost"]
    first = entries[0]
    assert first.language == "en" and first.touchpoint == "delivery"
    assert first.questions == [
        "How long does delivery take?",
        "When will my order arrive?",
        "How many days is shipping?",
    ]
    assert first.answer == "Orders before 22:00 ship the next morning. PostNL delivers in one working day."
    assert entries[1].answer == "Shipping costs €4.95; free from €50." and entries[1].touchpoint is None


def test_language_from_the_file_name(tmp_path: Path) -> None:
    text = MD.replace("language: en\n", "")
    assert {e.language for e in read_faq(write(tmp_path / "faq.nl.md", text))} == {"nl"}
    with pytest.raises(KnowledgeError, match=r"faq\.md: line 3: language: not given"):
        read_faq(write(tmp_path / "faq.md", text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MD.replace("id: shipping_cost\n", ""), r"line 13: id: .*has no `id:` line"),
        (MD.replace("Shipping costs €4.95; free from €50.\n", ""), r"line 13: answer: .*has no answer"),
        (MD.replace("id: delivery_time", "id: Delivery Time!"), r"line 5: id 'delivery time!'"),
        (MD.replace("language: en", "language: english"), r"line 2: language 'english'"),
        ("just text, no questions\n", r"no questions found"),
    ],
)
def test_bad_markdown(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "faq.md", text)
    with pytest.raises(KnowledgeError, match=message) as e:
        read_faq(path)
    assert str(path) in str(e.value)


def test_csv_rows_of_one_entry(tmp_path: Path) -> None:
    text = (
        "id,language,question,answer,touchpoint\n"
        'gift_card,en,Do you sell gift cards?,"Yes, from €10 to €150.",checkout\n'
        "gift_card,en,Can I buy a voucher?,,\n"
        'gift_card,nl,Verkopen jullie cadeaubonnen?,"Ja, van €10 tot €150.",checkout\n'
    )
    entries = read_faq(write(tmp_path / "faq.csv", "\ufeff" + text))
    by_lang = {e.language: e for e in entries}
    assert by_lang["en"].questions == ["Do you sell gift cards?", "Can I buy a voucher?"]
    assert by_lang["en"].answer == "Yes, from €10 to €150." and by_lang["nl"].touchpoint == "checkout"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,question,answer\nx,q,a\n", r"header: missing column 'language'"),
        ("id,language,question,answer\nx,en,,a\n", r"row 2: question: empty"),
        ("id,language,question,answer\nx,eng,q,a\n", r"row 2: language 'eng'"),
        ("id,language,question,answer\nx,en,q,\n", r"answer: no row of 'x' in 'en' gives an answer"),
    ],
)
def test_bad_csv(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        read_faq(write(tmp_path / "faq.csv", text))


def test_not_utf8_or_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match=r"faq\.md: line 16: not UTF-8 \(byte \d+\)"):
        read_faq(write(tmp_path / "faq.md", MD, "cp1252"))
    with pytest.raises(KnowledgeError, match=r"expected \.md or \.csv"):
        read_faq(write(tmp_path / "faq.pdf", MD))
    with pytest.raises(KnowledgeError, match="cannot read"):
        read_faq(tmp_path / "missing.md")


def test_merge_refuses_twice_and_builtin_ids(tmp_path: Path) -> None:
    entries = read_faq(write(tmp_path / "faq.md", MD))
    with pytest.raises(KnowledgeError, match="'delivery_time' in 'en' is given twice") as e:
        merge([("a.md", entries), ("b.md", entries[:1])])
    assert str(e.value).startswith("b.md: ") and str(e.value).endswith("first in a.md)")
    entries[0].id = "order_status"
    with pytest.raises(KnowledgeError, match="built-in intent"):
        merge([("a.md", entries)])


def test_shipped_knowledge_is_complete() -> None:
    """The demo FAQ has every topic in every language; built-in intents, templates and the calibration
    messages cover the same four languages."""
    faq = demo_faq()
    topics = {e.id for e in faq}
    for lang in ("nl", "da", "en", "de"):
        assert {e.id for e in faq if e.language == lang} == topics
        assert {e.id for e in builtin_entries() if e.language == lang} == set(BUILTIN)
        assert len(outside_questions()[lang]) >= 50
    assert len(topics) == 24 and all(e.answer and len(e.variants) >= 8 for e in faq)
    templates = Templates()
    for lang in ("nl", "da", "en", "de"):
        for key in ("placed", "shipped", "shipped_eta", "delayed", "delivered", "returned", "refunded"):
            assert templates.render(lang, "order_status", key, order_id="X1") != ""
        for key in ("no_customer", "not_delivered", "open", "closed", "returned"):
            assert templates.render(lang, "return_window", key, order_id="X1") != ""


def test_shipped_vectors_are_current() -> None:
    """Every shipped question has its vector in ``shipped_vectors.npz``, and the vectors are what the engine gives
    (float16: cosine ≥ 0.999); rebuild with ``python -m cxlab.assist.shipped``."""
    import numpy as np

    from cxlab.assist.index import shipped_vectors
    from cxlab.assist.shipped import shipped_texts
    from cxlab.voice.embeddings import get_embedder

    embedder = get_embedder()
    cache = shipped_vectors(embedder.name)
    texts = shipped_texts()
    assert set(texts) == set(cache)
    sample = texts[:: max(1, len(texts) // 40)]
    fresh = embedder.embed(sample)
    stored = np.vstack([cache[t] for t in sample])
    assert np.min(np.sum(fresh * stored, axis=1)) >= 0.999
