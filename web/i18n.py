"""Russian first, English second: Flask-Babel wiring, time zones and error translation.

How a time, number or size is shown is `formats.py`'s."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g, has_app_context, request, session
from flask_babel import Babel, get_translations, gettext

from domain.errors import DomainError
from domain.validators import format_phone
from sync.errors import SyncError

__all__ = [
    "init_i18n",
    "catalog",
    "translate",
    "UserError",
    "LANGUAGES",
    "translate_error",
    "to_local",
    "from_local",
    "user_timezone",
]

#: An error whose message a user may read: the sync engine's or the domain's.
UserError = SyncError | DomainError

LANGUAGES = ("ru", "en")
#: The catalogs stay with the `faplink` command's package for now (others add strings to them).
TRANSLATIONS = Path(__file__).resolve().parent.parent / "faplink" / "translations"


def catalog() -> Any:
    """This request's translations, as Flask-Babel gives them, kept for the rest of the request.

    Flask-Babel finds them anew for every string (a dozen context look-ups, ~15 µs), and a queue
    page translates about a hundred. They are kept beside Flask-Babel's own locale, and found
    again whenever that changes (`force_locale`, `refresh`)."""
    if not has_app_context():
        return get_translations()
    state = g.get("_flask_babel")
    kept = getattr(state, "faplink_catalog", None)
    if kept is not None and kept[0] is getattr(state, "babel_locale", None):
        return kept[1]
    translations = get_translations()  # selects the locale on first use
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    if locale is not None:
        state.faplink_catalog = (locale, translations)
    return translations


def translate(text: str) -> str:
    """`gettext` without parameters, for strings translated many times a page (labels, `_()`)."""
    return str(catalog().ugettext(text))


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return session.get("lang", "ru")


def translate_error(exc: UserError) -> str:
    """The error's message in the user's language, with its parameters filled in."""
    text = gettext(exc.template)
    # Parameters that are our own labels (marked with N_) translate too; a moment (naive UTC,
    # as the models keep it) is named in the user's zone.
    params = {k: _error_param(v) for k, v in exc.params.items()}
    try:
        return text % params if params else text
    except (KeyError, ValueError, TypeError):
        return exc.message


def _error_param(value: object) -> object:
    if isinstance(value, str):
        return gettext(value)
    if isinstance(value, datetime):
        from .formats import local_time  # (formats.py stands on this module)

        return local_time(value)  # «07.12.2026 09:45 ЕКБ», as every time on a page
    return value


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


def _format_date(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def _format_phone(value: str | None) -> str:
    """A stored phone as people write it, the extension after «доб.» ("ext." in English)."""
    return format_phone(value, gettext("доб.")) if value else ""


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "ru")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    # Flask-Babel's callables for templates, through the catalog kept for the request.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=translate,
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters["ddmmyyyy"] = _format_date
    app.jinja_env.filters["phone"] = _format_phone
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = lambda: session.get("lang", "ru")
    app.jinja_env.globals["user_timezone"] = lambda: str(user_timezone())
