"""Project configuration (``cxlab.toml``): journey stages, touchpoint → stage map, channels, currency.

The packaged ``default.toml`` is both the default and the file ``cxlab init`` writes, so the two can't drift.
"""

from __future__ import annotations

import math
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONFIG_NAME = "cxlab.toml"


class ConfigError(ValueError):
    """A config file that can't be read or doesn't make sense; the message names the file and field."""


class Shop(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "My shop"
    currency: str = Field(default="EUR", pattern="^[A-Z]{3}$")
    languages: list[str] = ["en"]
    countries: list[str] = []
    # Exchange rates into ``currency``: ``GBP = 1.17`` means one GBP is worth 1.17 of the shop's currency.
    # Orders in another currency are converted with them; without a rate they are left out, with a warning.
    rates: dict[str, float] = {}

    @model_validator(mode="after")
    def _rates_are_currencies(self) -> Shop:
        bad = sorted(c for c in self.rates if not re.fullmatch("[A-Z]{3}", c))
        if bad:
            raise ValueError(f"rates: {bad} are not ISO 4217 codes such as GBP")
        nonpositive = sorted(c for c, r in self.rates.items() if not (r > 0 and math.isfinite(r)))
        if nonpositive:
            raise ValueError(f"rates: {nonpositive} must be positive numbers")
        return self


class Journey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stages: list[str] = Field(min_length=1)
    touchpoints: dict[str, str]
    # Position of a touchpoint inside its stage (1 = first). Touchpoints on the same step are alternatives
    # (peers); a later step comes after an earlier one. Optional: a touchpoint without a step is on step 1.
    steps: dict[str, int] = {}
    session_timeout_minutes: int = Field(default=30, gt=0)

    @model_validator(mode="after")
    def _touchpoints_in_stages(self) -> Journey:
        unknown = sorted({s for s in self.touchpoints.values() if s not in self.stages})
        if unknown:
            raise ValueError(f"touchpoints map to unknown stages {unknown}; stages are {self.stages}")
        if len(set(self.stages)) != len(self.stages):
            raise ValueError("stages must be unique")
        unmapped = sorted(set(self.steps) - set(self.touchpoints))
        if unmapped:
            raise ValueError(f"steps name touchpoints {unmapped} that are not in journey.touchpoints")
        bad = sorted(t for t, k in self.steps.items() if k < 1)
        if bad:
            raise ValueError(
                f"steps must be 1 or more; got {', '.join(f'{t} = {self.steps[t]}' for t in bad)}"
            )
        return self

    def step_of(self, touchpoint: str) -> int:
        """The touchpoint's step inside its stage (1 when the config gives none)."""
        return self.steps.get(touchpoint, 1)


class Channels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str] = Field(min_length=1)
    paid: list[str] = []

    @model_validator(mode="after")
    def _paid_are_channels(self) -> Channels:
        unknown = sorted(set(self.paid) - set(self.names))
        if unknown:
            raise ValueError(f"paid channels {unknown} are not in names")
        return self


PERSONAL_NAMES = [
    "email", "e_mail", "mail", "customer_email", "user_email",
    "phone", "phone_number", "telephone", "tel", "mobile", "customer_phone",
    "name", "first_name", "last_name", "full_name", "firstname", "lastname", "customer_name",
    "address", "street", "address1", "address2", "zip", "postcode", "postal_code",
    "birthday", "birthdate", "date_of_birth", "iban", "password", "token", "access_token", "auth",
]  # fmt: skip


_DURATION = re.compile(r"\s*(\d+)\s*(day|week|month|year)s?\s*", re.IGNORECASE)


def parse_duration(text: str) -> tuple[int, str]:
    """``"25 months"`` → ``(25, "month")``; units are days, weeks, months and years (singular or plural)."""
    m = _DURATION.fullmatch(text)
    if not m or int(m.group(1)) < 1:
        raise ValueError(f'{text!r} is not a duration such as "25 months", "90 days", "2 years" or "6 weeks"')
    return int(m.group(1)), m.group(2).lower()


class Privacy(BaseModel):
    """``[privacy]``: what counts as personal data, and how long rows are kept."""

    model_config = ConfigDict(extra="forbid")
    # Query parameters removed from every URL on ingest, and property keys whose values are removed from
    # events' properties (compared case-insensitively). E-mail addresses and phone numbers found in any
    # string property are removed as well, whatever the key.
    url_params: list[str] = PERSONAL_NAMES
    # a bare "name" key is a product's or a page's name as often as a person's: only the person-shaped keys
    personal_properties: list[str] = [n for n in PERSONAL_NAMES if n != "name"]
    # Retention per table, e.g. "25 months", "90 days", "2 years"; None keeps rows until erased.
    retain_events: str | None = None
    retain_feedback: str | None = None
    retain_orders: str | None = None
    retain_exposures: str | None = None
    retain_customers: str | None = None

    @field_validator(
        "retain_events", "retain_feedback", "retain_orders", "retain_exposures", "retain_customers"
    )
    @classmethod
    def _is_duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


_ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?")


class Serve(BaseModel):
    """``[serve]``: settings of ``cxlab serve``."""

    model_config = ConfigDict(extra="forbid")
    # Web origins (scheme://host[:port], as a browser sends them in the Origin header) whose pages may send
    # events to the collector from the browser snippet. Other origins get no CORS headers.
    cors_origins: list[str] = []

    @field_validator("cors_origins")
    @classmethod
    def _are_origins(cls, v: list[str]) -> list[str]:
        bad = [o for o in v if not _ORIGIN.fullmatch(o)]
        if bad:
            raise ValueError(
                f"{bad} are not origins such as https://shop.example.com (scheme://host[:port], no path)"
            )
        return v


class Config(BaseModel):
    """The parsed ``cxlab.toml``.  Sections that later capabilities add are kept as they are."""

    model_config = ConfigDict(extra="allow")
    shop: Shop = Shop()
    journey: Journey
    channels: Channels
    privacy: Privacy = Privacy()
    serve: Serve = Serve()

    def stage_of(self, touchpoint: str) -> str | None:
        return self.journey.touchpoints.get(touchpoint)

    def enum_values(self, list_name: str) -> tuple[str, ...]:
        """Allowed values of a config-driven enum column (see ``Column.enum_from``)."""
        if list_name == "channels":
            return tuple(self.channels.names)
        raise KeyError(list_name)

    @classmethod
    def load(cls, path: str | Path) -> Config:
        path = Path(path)
        try:
            return cls.parse_toml(path.read_text(encoding="utf-8"), source=str(path))
        except OSError as e:
            raise ConfigError(f"{path}: cannot read: {e.strerror}") from e

    @classmethod
    def parse_toml(cls, text: str, source: str = CONFIG_NAME) -> Config:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{source}: not valid TOML: {e}") from e
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top)"
            raise ConfigError(f"{source}: {where}: {first['msg']}") from e

    @classmethod
    def default(cls) -> Config:
        return cls.parse_toml(default_toml(), source="default cxlab.toml")

    @classmethod
    def for_store(cls, db_path: str | Path) -> Config:
        """The config beside a store's database file, or the default when there is none."""
        cfg = Path(db_path).parent / CONFIG_NAME
        return cls.load(cfg) if cfg.exists() else cls.default()


M = TypeVar("M", bound=BaseModel)


def config_error(source: str, where: str, e: ValidationError) -> ConfigError:
    """The first problem of ``e`` as one line naming the file and the field: ``source: where.field: message``."""
    first = e.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(f"{source}: {where}{'.' + loc if loc else ''}: {msg}")


def section(config: Config | None, name: str, model: type[M], fallback: Any = None) -> M:
    """The ``[name]`` section of ``config`` validated by ``model``; ``fallback`` (default: empty, i.e. the
    model's defaults) when the config has none. Sections that capabilities add live in the config's extras."""
    raw = ((config.model_extra or {}) if config is not None else {}).get(name)
    if raw is None:
        raw = {} if fallback is None else fallback
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise config_error(CONFIG_NAME, name, e) from e


def default_toml() -> str:
    return resources.files("cxlab").joinpath("default.toml").read_text(encoding="utf-8")
