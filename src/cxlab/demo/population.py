"""Prospects and their latent traits: where they live, which channels bring them, how they shop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxlab.demo import params as P


@dataclass
class Population:
    """One batch of prospects (everyone who visits at all), as parallel arrays."""

    gid: np.ndarray
    """Global person number (stable across batch sizes); ids are derived from it."""
    country: np.ndarray
    language: np.ndarray
    first_visit: np.ndarray
    primary: np.ndarray
    """Channel that brings them first and most often."""
    secondary: np.ndarray
    device: np.ndarray
    intent: np.ndarray
    """Multiplier of the per-session purchase probability (mean 1)."""
    price_sensitivity: np.ndarray
    """Chance-scale in [0, 1] of using a discount code."""
    consent_email: np.ndarray
    consent_sms: np.ndarray
    has_phone: np.ndarray
    birthday: np.ndarray
    """Days since 1970-01-01 (negative before)."""
    has_birthday: np.ndarray

    @property
    def n(self) -> int:
        return int(self.gid.size)


def time_of_day(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """A realistic (diurnal) moment in each given day (days since the epoch), in seconds."""
    hour = rng.choice(24, size=day.size, p=P.HOUR_P)
    return day * P.DAY + hour * P.HOUR + rng.integers(0, P.HOUR, size=day.size)


def draw_population(rng: np.random.Generator, first_gid: int, n: int) -> Population:
    """Draw ``n`` prospects numbered from ``first_gid``."""
    country = rng.choice(len(P.COUNTRIES), size=n, p=P.COUNTRY_P)
    language = P.LANGUAGE_OF_COUNTRY[country]
    language = np.where(rng.random(n) < P.ENGLISH_SHARE, P.LANGUAGES.index("en"), language)

    g = P.ARRIVAL_GROWTH
    u = rng.random(n)
    x = (-1.0 + np.sqrt(1.0 + 2.0 * g * u * (1.0 + g / 2.0))) / g
    span_days = (P.END_S - P.START_S) // P.DAY
    day = P.START_S // P.DAY + np.minimum((x * span_days).astype(np.int64), span_days - 1)
    first_visit = time_of_day(rng, day)
    first_visit = np.where(first_visit >= P.END_S - 6 * P.HOUR, first_visit - P.DAY, first_visit)

    acq = P.ACQUISITION_P / P.ACQUISITION_P.sum()
    primary = rng.choice(len(P.CHANNELS), size=n, p=acq)
    secondary = rng.choice(len(P.CHANNELS), size=n, p=acq)
    device = rng.choice(len(P.DEVICES), size=n, p=P.DEVICE_P)
    intent = rng.gamma(P.INTENT_SHAPE, 1.0 / P.INTENT_SHAPE, size=n)
    intent = np.where(primary == P.CH[P.WEAK_CHANNEL], P.WEAK_CHANNEL_INTENT * intent, intent)
    price_sensitivity = rng.beta(1.5, 4.0, size=n)
    consent_email = rng.random(n) < P.CONSENT_EMAIL_P
    consent_sms = rng.random(n) < P.CONSENT_SMS_P
    has_phone = consent_sms | (rng.random(n) < P.PHONE_P)
    age_days = rng.integers(18 * 365, 75 * 365, size=n)
    birthday = P.END_S // P.DAY - age_days
    has_birthday = rng.random(n) < P.BIRTHDAY_P
    return Population(
        gid=np.arange(first_gid, first_gid + n, dtype=np.int64),
        country=country,
        language=language,
        first_visit=first_visit,
        primary=primary,
        secondary=secondary,
        device=device,
        intent=intent,
        price_sensitivity=price_sensitivity,
        consent_email=consent_email,
        consent_sms=consent_sms,
        has_phone=has_phone,
        birthday=birthday,
        has_birthday=has_birthday,
    )
