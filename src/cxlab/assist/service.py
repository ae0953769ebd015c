"""Building the index from a shop's FAQ and loading the assistant for a store: what the shells call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb

from cxlab.assist.answer import Assistant
from cxlab.assist.index import AssistIndex
from cxlab.assist.knowledge import Entry, builtin_entries, merge, outside_questions, read_faq
from cxlab.assist.settings import assist_settings
from cxlab.assist.templates import Templates
from cxlab.config import Config
from cxlab.errors import MissingData
from cxlab.progress import Progress
from cxlab.voice.anchor_head import fit_anchor_head
from cxlab.voice.embeddings import get_embedder
from cxlab.voice.sentiment import shipped_anchor_head
from cxlab.voice.settings import voice_settings


def faq_entries(paths: Sequence[Path]) -> list[Entry]:
    """The FAQ of these files (an id given twice in one language is an error)."""
    return merge((str(p), read_faq(p)) for p in paths)


def build_index(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    entries: Sequence[Entry],
    progress: Progress | None = None,
) -> AssistIndex:
    """Embed ``entries`` with the built-in intents, calibrate, and store the index in the store."""
    embedder = get_embedder(voice_settings(config).embedder)
    index = AssistIndex.build([*entries, *builtin_entries()], outside_questions(), embedder, progress)
    index.save(con)
    return index


def load_assistant(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    now: dt.datetime | None = None,
    index: AssistIndex | None = None,
) -> Assistant:
    """The assistant of the store behind ``con`` (``index``: one just built, not read back); :class:`MissingData`
    when it has no index yet."""
    index = index or AssistIndex.load(con)
    if index is None:
        raise MissingData(
            "the assistant needs its index: run `cxlab assist index --faq FAQ.md` (or list the files under "
            "[assist] faq in cxlab.toml)"
        )
    embedder = get_embedder(voice_settings(config).embedder)
    if index.model != embedder.name:
        raise MissingData(
            f"the assistant's index was built with {index.model}, the store's embedder is {embedder.name}: "
            "run `cxlab assist index` again"
        )
    settings = assist_settings(config)
    return Assistant(
        index,
        embedder,
        shipped_anchor_head(embedder.name) or fit_anchor_head(embedder),
        settings,
        Templates(config, settings.fallback_language),
        config.shop.languages,
        con,
        now,
    )
