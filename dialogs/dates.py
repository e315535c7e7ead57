"""Dates and times as a person reads them, in German or English."""

from __future__ import annotations

from datetime import date, datetime

from content.localized import Lang

_WEEKDAYS = {
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_text(day: date, lang: Lang) -> str:
    weekday = _WEEKDAYS[lang][day.weekday()]
    if lang == "de":
        return f"{weekday} {day:%d.%m.}"
    return f"{weekday} {day.day} {_MONTHS_EN[day.month - 1]}"


def moment_text(moment: datetime, lang: Lang) -> str:
    """``moment`` must already be in the person's time zone."""
    joiner = "um" if lang == "de" else "at"
    return f"{day_text(moment.date(), lang)} {joiner} {moment:%H:%M}"
