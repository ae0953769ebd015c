"""The ``[assist]`` section of ``cxlab.toml``: the FAQ files, languages, hand-over and the shop's policies."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cxlab.config import Config, section

HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class AssistSettings(BaseModel):
    """What a shop sets for its assistant; every field has a default that suits the demo shop."""

    model_config = ConfigDict(extra="forbid")
    faq: list[str] = []
    """FAQ files (Markdown or CSV), relative to the store's folder; `cxlab assist index` reads them."""
    fallback_language: str = Field(default="en", pattern="^[a-z]{2}$")
    """The language of replies when the customer's has no FAQ entries."""
    min_confidence: float | None = Field(default=None, gt=0.0, lt=1.0)
    """Hand over below this calibrated probability of a right answer (default: the index's, set at build)."""
    angry: float = Field(default=0.5, ge=0.2, le=1.0)
    """Hand over as angry when a message shouts (capitals, ``!!``, ``?!``) and the voice sentiment's
    P(negative) reaches this (chosen on the evaluation set's dev split)."""
    return_days: int = Field(default=30, ge=1, le=365)
    """Days after delivery within which an order can be returned."""
    opening_hours: dict[str, str] = {
        "mon": "09:00-18:00",
        "tue": "09:00-18:00",
        "wed": "09:00-18:00",
        "thu": "09:00-18:00",
        "fri": "09:00-18:00",
        "sat": "10:00-16:00",
    }
    """Customer service hours per day (``mon`` … ``sun``, ``HH:MM-HH:MM``); a day left out is closed."""
    rate_per_minute: int = Field(default=30, ge=1, le=10_000)
    """Questions one client may ask ``POST /v1/assist`` per minute."""

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, v: dict[str, str]) -> dict[str, str]:
        for day, span in v.items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r}: expected one of {', '.join(DAYS)}")
            if not HOURS.fullmatch(span.replace(" ", "")):
                raise ValueError(f"{day} = {span!r}: expected HH:MM-HH:MM")
        return {d: v[d].replace(" ", "") for d in DAYS if d in v}

    def faq_paths(self, store_dir: Path) -> list[Path]:
        return [p if (p := Path(f)).is_absolute() else store_dir / p for f in self.faq]


def assist_settings(config: Config | None) -> AssistSettings:
    """``config``'s assistant settings (defaults for what it leaves out)."""
    return section(config, "assist", AssistSettings)
