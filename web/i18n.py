"""Russian first, English second: Flask-Babel wiring, time zones and error translation."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, g, request, session
from flask_babel import Babel, format_decimal, gettext

from sync.errors import SyncError
from sync.validators import format_phone

__all__ = ["init_i18n", "LANGUAGES", "translate_error", "to_local", "from_local", "user_timezone"]

LANGUAGES = ("ru", "en")
#: The catalogs stay with the `faplink` command's package for now (others add strings to them).
TRANSLATIONS = Path(__file__).resolve().parent.parent / "faplink" / "translations"


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return session.get("lang", "ru")


def translate_error(exc: SyncError) -> str:
    """The error's message in the user's language, with its parameters filled in."""
    text = gettext(exc.template)
    # Parameters that are our own labels (marked with N_) translate too.
    params = {k: gettext(v) if isinstance(v, str) else v for k, v in exc.params.items()}
    try:
        return text % params if params else text
    except (KeyError, ValueError, TypeError):
        return exc.message


def user_timezone() -> ZoneInfo:
    staff = getattr(g, "staff", None)
    name = getattr(staff, "timezone", None) or "Europe/Moscow"
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("Europe/Moscow")


def to_local(value: datetime | None) -> datetime | None:
    """A stored naive-UTC time as an aware time in the user's zone."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(user_timezone())


def from_local(text: str) -> datetime:
    """A time typed in the user's zone (datetime-local), or ISO 8601 with an offset, as the
    naive UTC it is stored in; ValueError if it is not a time."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=user_timezone())
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None, microsecond=0)


def _format_datetime(value: datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    local = to_local(value)
    return local.strftime(fmt) if local else ""


def _format_date(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def _format_phone(value: str | None) -> str:
    """A stored phone as people write it, the extension after «доб.» ("ext." in English)."""
    return format_phone(value, gettext("доб.")) if value else ""


def file_size(size: int | None) -> str:
    """A file's size as people read it, in the user's language: «0,5 КБ», «12 КБ», «3,4 МБ»."""
    value = float(size or 0)
    if value >= 1024 * 1024:
        amount, unit = value / (1024 * 1024), gettext("МБ")
    else:
        amount, unit = max(value / 1024, 0.1), gettext("КБ")
    shown = format_decimal(round(amount, 1 if amount < 10 else 0), format="#,##0.#")
    return f"{shown}\u00a0{unit}"


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "ru")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters["localtime"] = _format_datetime
    app.jinja_env.filters["ddmmyyyy"] = _format_date
    app.jinja_env.filters["phone"] = _format_phone
    app.jinja_env.filters["filesize"] = file_size
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = lambda: session.get("lang", "ru")
    app.jinja_env.globals["user_timezone"] = lambda: str(user_timezone())
