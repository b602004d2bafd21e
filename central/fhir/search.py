"""FHIR search parameters read into conditions on our tables.

Repeated parameters combine with AND, comma-separated values with OR (FHIR
search); a value that cannot match (an unknown system, a status we never use)
finds nothing rather than everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from peewee import Expression

from domain.models import Appeal, AppealStatus, Observation, Patient
from i18n import N_

from . import systems
from .errors import SearchError

__all__ = [
    "ids",
    "patient_identifier",
    "patient_name",
    "observation_code",
    "date_parameter",
    "service_request_status",
    "patient_param",
]

#: FHIR ServiceRequest.status → our appeal statuses.
_STATUS = {
    "active": (AppealStatus.NEW, AppealStatus.IN_WORK),
    "completed": (AppealStatus.CLOSED,),
    "revoked": (AppealStatus.CANCELLED,),
}


def _all_of(conditions: Sequence[Expression]) -> Expression:
    out = conditions[0]
    for c in conditions[1:]:
        out = out & c
    return out


def _any_of(conditions: Sequence[Expression]) -> Expression:
    out = conditions[0]
    for c in conditions[1:]:
        out = out | c
    return out


def _split(values: list[str]) -> list[list[str]]:
    """Repeated parameters AND, comma-separated values OR (FHIR search)."""
    out = [[v.strip() for v in value.split(",") if v.strip()] for value in values]
    if not out or any(not group for group in out):
        raise SearchError(N_("Пустое значение параметра поиска"))
    return out


def ids(field: Any, kind: str = "") -> Callable[[list[str]], Expression]:
    def parse(values: list[str]) -> Expression:
        groups = _split(values)
        prefix = f"{kind}/"
        return _all_of([field.in_([v.removeprefix(prefix) for v in group]) for group in groups])

    return parse


def _token(value: str) -> tuple[str | None, str]:
    """`system|code`, `|code` (no system) or `code` (any system)."""
    if "|" in value:
        system, code = value.split("|", 1)
        return system, code
    return None, value


def patient_identifier(values: list[str]) -> Expression:
    conditions = []
    for group in _split(values):
        options = []
        for value in group:
            system, code = _token(value)
            digits = "".join(ch for ch in code if ch.isdigit())
            # Stored as bare digits: a number with a wrong check digit simply finds nobody.
            if system in (None, *systems.SNILS_SYSTEMS) and len(digits) == 11:
                options.append(Patient.snils == digits)
            if system in (None, *systems.ENP_SYSTEMS) and len(digits) == 16:
                options.append(Patient.enp == digits)
        conditions.append(_any_of(options) if options else Patient.id.is_null())
    return _all_of(conditions)


def patient_name(values: list[str]) -> Expression:
    """Each word starts the surname, the given name or the patronymic (as written, or capitalised)."""
    conditions = []
    for group in _split(values):
        options = []
        for value in group:
            words = [w for w in value.split() if w]
            per_word = []
            for word in words:
                forms = {word, word.capitalize(), word.lower()}
                per_word.append(
                    _any_of(
                        [
                            field.startswith(form)
                            for form in forms
                            for field in (Patient.last_name, Patient.first_name, Patient.middle_name)
                        ]
                    )
                )
            options.append(_all_of(per_word))
        conditions.append(_any_of(options))
    return _all_of(conditions)


def observation_code(values: list[str]) -> Expression:
    conditions = []
    for group in _split(values):
        codes = []
        for value in group:
            system, code = _token(value)
            if system not in (None, systems.LOINC):
                continue
            codes.append(code)
        conditions.append(Observation.loinc.in_(codes) if codes else Observation.id.is_null())
    return _all_of(conditions)


PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")


def date_parameter(field: Any) -> Callable[[list[str]], Expression]:
    """`date=[prefix]YYYY-MM-DD` or a full dateTime (UTC when no zone is given)."""

    def bound(text: str) -> tuple[datetime, datetime]:
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime.combine(day, time(0)), datetime.combine(day + timedelta(days=1), time(0))
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise SearchError(
                N_("Дата «%(value)s» указана неверно: ожидается ГГГГ-ММ-ДД"), value=text
            ) from exc
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment, moment + timedelta(seconds=1)

    def parse(values: list[str]) -> Expression:
        conditions = []
        for group in _split(values):
            options = []
            for value in group:
                prefix = value[:2] if value[:2] in PREFIXES else "eq"
                start, end = bound(value[2:] if value[:2] in PREFIXES else value)
                options.append(
                    {
                        "eq": (field >= start) & (field < end),
                        "ne": (field < start) | (field >= end),
                        "gt": field >= end,
                        "ge": field >= start,
                        "lt": field < start,
                        "le": field < end,
                    }[prefix]
                )
            conditions.append(_any_of(options))
        return _all_of(conditions)

    return parse


def service_request_status(values: list[str]) -> Expression:
    conditions = []
    for group in _split(values):
        ours = [status for value in group for status in _STATUS.get(value, ())]
        conditions.append(Appeal.status.in_(ours) if ours else Appeal.id.is_null())
    return _all_of(conditions)


def patient_param(condition: Callable[[str], Expression]) -> Callable[[list[str]], Expression]:
    def parse(values: list[str]) -> Expression:
        groups = _split(values)
        return _all_of([_any_of([condition(v.removeprefix("Patient/")) for v in group]) for group in groups])

    return parse
