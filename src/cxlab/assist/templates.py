"""The shop's answer texts for the built-in intents, per language, filled with the customer's data.

``templates.toml`` ships them for nl, da, en and de; a shop overrides any text with
``[assist.templates.<lang>.<intent>] <key> = "…"`` in ``cxlab.toml`` (same placeholders). Dates read the way
the language writes them ("3 december 2026", "3. Dezember 2026"). Values are plain text: the shells escape.
"""

from __future__ import annotations

import datetime as dt
import string
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from cxlab.assist.settings import DAYS
from cxlab.config import Config

Texts = dict[str, Any]


@lru_cache(maxsize=1)
def shipped_templates() -> dict[str, Texts]:
    """The templates shipped with cxlab, per language."""
    text = resources.files("cxlab.assist").joinpath("templates.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, Mapping) else v
    return out


class Templates:
    """Answer texts for one shop: shipped ones, overridden by ``[assist.templates]``."""

    def __init__(self, config: Config | None = None, fallback: str = "en") -> None:
        extra = (config.model_extra or {}) if config is not None else {}
        over = (extra.get("assist") or {}).get("templates") or {}
        self.texts = _merge(shipped_templates(), over)
        self.fallback = fallback if fallback in self.texts else "en"

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.texts)

    def _lang(self, language: str) -> Texts:
        return self.texts.get(language) or self.texts[self.fallback]

    def date(self, language: str, day: dt.date) -> str:
        t = self._lang(language)
        return str(t["date"]).format(day=day.day, month=t["months"][day.month - 1], year=day.year)

    def hours(self, language: str, opening: Mapping[str, str]) -> str:
        """Opening hours in words: consecutive days with the same hours are one range ("Monday–Friday …")."""
        t = self._lang(language)
        names = t["weekdays"]
        spans = [opening.get(d) for d in DAYS]
        parts: list[str] = []
        i = 0
        while i < len(DAYS):
            j = i
            while j + 1 < len(DAYS) and spans[j + 1] == spans[i]:
                j += 1
            days = names[i] if i == j else f"{names[i]}–{names[j]}"
            span = spans[i]
            parts.append(f"{days} {span.replace('-', '–') if span else t['closed']}")
            i = j + 1
        return str(t["hours_join"]).join(parts)

    def render(self, language: str, intent: str, key: str, **values: Any) -> str:
        """The ``intent.key`` text in ``language`` (the fallback language's if it has none), filled in."""
        group = self._lang(language).get(intent) or {}
        text = group.get(key) or (self.texts[self.fallback].get(intent) or {}).get(key)
        if text is None:
            raise KeyError(f"no answer text {intent}.{key}")
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        return str(text).format(**{n: values.get(n, "") for n in names})
