"""The ``[voice]`` section of ``cxlab.toml`` (embedder, supervised-head threshold, brand, seed taxonomy)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cxlab.config import Config, ConfigError
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
    raw = (config.model_extra or {}).get("voice")
    if raw is None:
        raw = (Config.default().model_extra or {}).get("voice", {})
    try:
        return VoiceSettings.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"cxlab.toml: voice.{where}: {first['msg']}") from e
