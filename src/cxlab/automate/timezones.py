"""A customer's time zone from their country, and quiet hours in it.

The country → zone table is the tz database's ``zone.tab`` (one ISO 3166 country per row, read from the
``tzdata`` package, else the system's ``/usr/share/zoneinfo``). A country with several zones gets its first
row, which the file orders "most populous first where that makes geographical sense"; for the few large
countries where the geography wins (Australia's first row is Lord Howe Island) :data:`MAIN_ZONE` names the
zone most of the population lives in. ``[automate] timezones`` overrides both; customers without a known
country are in the shop's zone (``[automate] timezone``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cxlab.automate.flows import Automate, parse_clock
from cxlab.config import ConfigError

SYSTEM_ZONE_TAB = Path("/usr/share/zoneinfo/zone.tab")

MAIN_ZONE: dict[str, str] = {
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "CD": "Africa/Kinshasa",
    "EC": "America/Guayaquil",
    "KZ": "Asia/Almaty",
    "MX": "America/Mexico_City",
    "PT": "Europe/Lisbon",
    "ES": "Europe/Madrid",
}
"""Countries whose first ``zone.tab`` row is not where most people live."""


def _zone_tab_text() -> str:
    try:
        return resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return SYSTEM_ZONE_TAB.read_text("utf-8")


@lru_cache(maxsize=1)
def country_zones() -> dict[str, str]:
    """ISO 3166 country code → its main IANA zone (see the module docstring)."""
    out: dict[str, str] = {}
    for line in _zone_tab_text().splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            out.setdefault(parts[0], parts[2])
    return out | MAIN_ZONE


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_for(country: str | None, settings: Automate) -> ZoneInfo:
    """The time zone of a customer in ``country``: ``settings.timezones``, else the tz database's main zone
    of the country, else the shop's ``settings.timezone``."""
    code = (country or "").strip().upper()
    name = settings.timezones.get(code) or country_zones().get(code) or settings.timezone
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        where = "automate.timezones" if code in settings.timezones else "automate.timezone"
        raise ConfigError(
            f"cxlab.toml: {where}: {name!r} is not a time zone such as 'Europe/Amsterdam'"
        ) from e


def quiet_window(settings: Automate) -> tuple[time, time] | None:
    """``settings.quiet_hours`` as (from, to) clock times, or None when there are none (empty or from = to)."""
    if not settings.quiet_hours:
        return None
    start, end = (parse_clock(t) for t in settings.quiet_hours)
    return None if start == end else (start, end)


def _quiet(t: time, start: time, end: time) -> bool:
    return (start <= t or t < end) if start > end else start <= t < end


def after_quiet_hours(due: datetime, zone: ZoneInfo, window: tuple[time, time] | None) -> datetime:
    """``due`` (naive UTC) moved to the end of the quiet period when it falls inside it, in ``zone``'s local
    time; periods may cross midnight (``21:00``–``08:00``). Returns naive UTC."""
    if window is None:
        return due
    start, end = window
    local = due.replace(tzinfo=UTC).astimezone(zone)
    t = local.time().replace(tzinfo=None)
    if not _quiet(t, start, end):
        return due
    day = local.date()
    if start > end and t >= start:  # evening part of a period across midnight: it ends tomorrow
        day += timedelta(days=1)
    wake = datetime.combine(day, end, tzinfo=zone)
    return wake.astimezone(UTC).replace(tzinfo=None)


def local_date(when: datetime, zone: ZoneInfo) -> str:
    """The calendar day (ISO) of naive-UTC ``when`` in ``zone``."""
    return when.replace(tzinfo=UTC).astimezone(zone).date().isoformat()
