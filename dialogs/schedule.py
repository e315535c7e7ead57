"""Plan-day arithmetic in the person's time zone.

Check-ins are placed by local calendar day, so a day with a DST change still
gets exactly one, at the chosen hour (or the nearest existing time in a gap).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dialogs.states import PLAN_DAYS, Episode

CLOSING_DAY = PLAN_DAYS + 1  # the day after the last check-in: an unanswered plan ends


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(zone(tz)).date()


def checkin_at(start: date, day: int, hour: int, tz: str) -> datetime:
    """The UTC time of plan day ``day`` at ``hour`` local time."""
    local = datetime.combine(start + timedelta(days=day), time(hour), tzinfo=zone(tz))
    return local.astimezone(UTC)


def plan_day(episode: Episode, now: datetime, tz: str) -> int:
    assert episode.start_date is not None
    return (local_date(now, tz) - episode.start_date).days


def next_checkin(
    episode: Episode, now: datetime, tz: str, hour: int, after_day: int
) -> tuple[int, datetime] | None:
    """The first check-in after ``after_day`` that is still due today or later.

    Days whose local date has passed are skipped, so a bot that was down sends one
    late check-in for today at most, never a burst for the missed days.
    """
    assert episode.start_date is not None
    today = local_date(now, tz)
    for day in range(max(after_day + 1, 1), CLOSING_DAY + 1):
        if episode.start_date + timedelta(days=day) < today or episode.score_on(day):
            continue
        return day, checkin_at(episode.start_date, day, hour, tz)
    return None


def resolve_timezone(text: str) -> str | None:
    """An IANA zone name from what the person typed ("europe/berlin", "Berlin"), or None."""
    wanted = text.strip().replace(" ", "_").lower()
    if not wanted or len(wanted) > 64:
        return None
    names = _zone_names()
    if wanted in names:
        return names[wanted]
    by_city = [name for key, name in names.items() if key.rsplit("/", 1)[-1] == wanted]
    return by_city[0] if len(by_city) == 1 else None


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name in available_timezones():
        try:
            zone(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        names[name.lower()] = name
    return names
