"""The ``[voice]`` section of ``cxlab.toml`` (embedder, supervised-head threshold, brand, seed taxonomy)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cxlab.config import Config, section
from cxlab.voice.embeddings import DEFAULT_EMBEDDER


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    touchpoint: str
    about: list[str] = Field(min_length=1)


class VoiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    embedder: str = DEFAULT_EMBEDDER
    min_reviews: int = Field(default=300, ge=30)
    brand: list[str] = []  # the brand proposition, one statement per language

    @field_validator("brand", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    taxonomy: dict[str, Topic] = {}


def voice_settings(config: Config) -> VoiceSettings:
    """``config``'s voice settings, with the shipped defaults for what it leaves out."""
    return section(config, "voice", VoiceSettings, fallback=(Config.default().model_extra or {}).get("voice"))
