"""One way to show a time, a number or a size to a person, on every page of both apps.

A time is shown in the viewer's zone (the profile's, the kiosk's choice at a post)
with the zone's abbreviation: «07.12.2026 04:13 МСК», never UTC or ISO 8601.
Russia's zones have the abbreviations people read (МСК, ЕКБ, …); any other
zone is named by its offset, «UTC+5». A number has the user's decimal
separator (a comma in Russian) and, with a unit, a no-break space before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context
from flask_babel import format_decimal, gettext

from .i18n import to_local, user_timezone

__all__ = [
    "ZONE_ABBREVIATIONS",
    "zone_abbreviation",
    "local_time",
    "number",
    "quantity",
    "say",
    "file_size",
    "moment_time",
    "place_time",
    "signature_summary",
    "viewer_zone",
    "init_formats",
]

#: Russia's zones (the tz names the profiles offer, and those that keep the same time)
#: with the abbreviations a Russian reader knows them by.
ZONE_ABBREVIATIONS: dict[str, str] = {
    "Europe/Kaliningrad": "КЛД",
    "Europe/Moscow": "МСК",
    "Europe/Simferopol": "МСК",
    "Europe/Kirov": "МСК",
    "Europe/Volgograd": "МСК",
    "Europe/Samara": "САМ",
    "Europe/Ulyanovsk": "САМ",
    "Europe/Saratov": "САМ",
    "Europe/Astrakhan": "САМ",
    "Asia/Yekaterinburg": "ЕКБ",
    "Asia/Omsk": "ОМСК",
    "Asia/Novosibirsk": "НСК",
    "Asia/Barnaul": "НСК",
    "Asia/Tomsk": "НСК",
    "Asia/Novokuznetsk": "КРСК",
    "Asia/Krasnoyarsk": "КРСК",
    "Asia/Irkutsk": "ИРК",
    "Asia/Yakutsk": "ЯКТ",
    "Asia/Chita": "ЯКТ",
    "Asia/Khandyga": "ЯКТ",
    "Asia/Vladivostok": "ВЛАД",
    "Asia/Ust-Nera": "ВЛАД",
    "Asia/Magadan": "МАГ",
    "Asia/Sakhalin": "МАГ",
    "Asia/Srednekolymsk": "МАГ",
    "Asia/Kamchatka": "КАМЧ",
    "Asia/Anadyr": "КАМЧ",
}

DATE_TIME = "%d.%m.%Y %H:%M"


class _Summarised(Protocol):
    """protocol_signatures.pdf.VerificationResult, without importing pyHanko into every page."""

    def summary_shown(self, show: Callable[[datetime], str]) -> str: ...


def zone_abbreviation(zone: ZoneInfo | str, at: datetime | None = None) -> str:
    """«МСК», «ЕКБ» for Russia's zones; «UTC+5», «UTC−3:30» for any other (its offset at `at`)."""
    name = zone if isinstance(zone, str) else zone.key
    if name in ZONE_ABBREVIATIONS:
        return ZONE_ABBREVIATIONS[name]
    try:
        info = ZoneInfo(name)
    except (KeyError, ValueError):
        return name
    offset = (at or datetime.now(info)).astimezone(info).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def local_time(value: datetime | None, fmt: str = DATE_TIME, zone: bool | None = None) -> str:
    """A stored (naive UTC) time in the viewer's zone: «07.12.2026 04:13 МСК».

    The abbreviation follows a time of day (a date alone has no zone); `zone=False` leaves
    it out for a column of times whose heading names the zone once (a day's slots)."""
    if value is None:
        return ""
    viewer = user_timezone()  # once: a list shows dozens of times
    local = value.replace(tzinfo=UTC).astimezone(viewer)
    shown = local.strftime(fmt)
    if zone is None:
        zone = "%H" in fmt
    return f"{shown}\u00a0{zone_abbreviation(viewer, local)}" if zone else shown


def moment_time(moment: datetime) -> str:
    """An aware moment (a signature's time) as `local_time` shows a stored one."""
    return local_time(moment.astimezone(UTC).replace(tzinfo=None))


def signature_summary(result: _Summarised) -> str:
    """A signature check's summary for a page: its signing time in the viewer's zone, not UTC
    (the document and the API keep UTC, the same for every reader)."""
    return result.summary_shown(moment_time)


def place_time(value: datetime | None, zone_name: str | None, place: str) -> str:
    """The same moment on another side's clock, when it differs from the viewer's:
    «11:00 по времени ФАП» (with the date when that differs too); "" when the clocks agree."""
    if value is None or not zone_name:
        return ""
    try:
        zone = ZoneInfo(zone_name)
    except (KeyError, ValueError):
        return ""
    mine = to_local(value)
    there = value.replace(tzinfo=UTC).astimezone(zone)
    if mine is None or mine.utcoffset() == there.utcoffset():
        return ""
    fmt = "%H:%M" if there.date() == mine.date() else DATE_TIME
    return gettext("%(time)s по времени %(place)s", time=there.strftime(fmt), place=place)


def viewer_zone() -> str:
    """The viewer's zone's abbreviation now, for a heading over times shown without it."""
    return zone_abbreviation(user_timezone())


def _decimal(value: float, pattern: str) -> str:
    if has_request_context():
        return str(format_decimal(value, format=pattern))
    # Outside a request (a log line, the terminal) the text is Russian.
    return f"{value:,.3f}".rstrip("0").rstrip(".").replace(",", "\u00a0").replace(".", ",")


def number(value: float | int | None, digits: int = 3) -> str:
    """A number as the user writes it: «36,6», «93», «1 234» (at most `digits` decimals)."""
    if value is None:
        return "—"
    amount = float(value)
    if amount.is_integer():
        return _decimal(int(amount), "#,##0")
    return _decimal(round(amount, digits), "#,##0." + "#" * digits)


def quantity(value: float | int | None, unit: str, digits: int = 1) -> str:
    """A number with its unit (already in the user's language): «12,3 ГБ», «29,9 кадр/с»."""
    return f"{number(value, digits)}\u00a0{unit}" if unit else number(value, digits)


def say(template: str, params: Mapping[str, object] | None = None) -> str:
    """A msgid (Russian) in the user's language with its parameters filled in: parameters that are
    our labels translate too, and a float is written with the user's decimal separator (an int
    as it is: a 1280×720 is no sum of money). The Russian as given if the translation does not fit."""
    text = gettext(template) if template else ""
    if not params:
        return text
    filled = {
        key: gettext(value)
        if isinstance(value, str) and value
        else number(value)
        if isinstance(value, float)
        else value
        for key, value in params.items()
    }
    for candidate in (text, template):
        try:
            return candidate % filled
        except (KeyError, ValueError, TypeError):
            continue
    return template


def file_size(size: int | None) -> str:
    """A file's size as people read it, in the user's language: «0,5 КБ», «12 КБ», «3,4 МБ»."""
    value = float(size or 0)
    if value >= 1024 * 1024:
        amount, unit = value / (1024 * 1024), gettext("МБ")
    else:
        amount, unit = max(value / 1024, 0.1), gettext("КБ")
    return quantity(round(amount, 1 if amount < 10 else 0), unit)


def init_formats(app: Flask) -> None:
    """The template filters `localtime`, `num`, `quantity`, `filesize`, `signature_summary`,
    `zone` (a tz name's abbreviation), `place_time` and the global `viewer_zone`."""
    app.jinja_env.filters["localtime"] = local_time
    app.jinja_env.filters["num"] = number
    app.jinja_env.filters["quantity"] = quantity
    app.jinja_env.filters["filesize"] = file_size
    app.jinja_env.filters["signature_summary"] = signature_summary
    app.jinja_env.filters["zone"] = zone_abbreviation
    app.jinja_env.filters["place_time"] = place_time
    app.jinja_env.globals["viewer_zone"] = viewer_zone
