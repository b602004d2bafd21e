"""ASTM E1394 (CLSI LIS2-A2) records: header, patient, order, result, terminator.

Delimiters come from the H record, never from assumptions. `parse_message`
reads what it understands and skips what it does not; `message_events` turns
the results into readings, mapping a few common test codes to LOINC (the
result's unit picks the mass or the molar code: CHOL in mmol/L is 14647-2, in
mg/dL 2093-3) and reporting the others under their own code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from hardware.errors import InvalidReading
from hardware.readings import (
    CHOLESTEROL_MASS,
    CHOLESTEROL_MOLES,
    CREATININE_MASS,
    CREATININE_MOLES,
    HBA1C,
    HBA1C_IFCC,
    HEMOGLOBIN,
    MEASUREMENTS,
    TRIGLYCERIDES_MASS,
    TRIGLYCERIDES_MOLES,
    NoReading,
    NoReadingReason,
    Reading,
    code_for_unit,
    fold_unit,
    glucose_code_for_unit,
    utcnow,
)

__all__ = [
    "Delimiters",
    "Result",
    "ParsedMessage",
    "TEST_CODES",
    "unescape",
    "split_fields",
    "components",
    "parse_message",
    "parse_timestamp",
    "message_events",
]


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Field, repeat, component and escape characters, as declared in `H|\\^&`."""

    field: str = "|"
    repeat: str = "\\"
    component: str = "^"
    escape: str = "&"

    @classmethod
    def from_header(cls, record: str) -> Delimiters:
        """Read the delimiters from an H record; the defaults if it does not declare four."""
        if len(record) < 5 or record[0] != "H":
            return cls()
        chars = record[1:5]
        if len(set(chars)) != 4 or any(c.isalnum() or c in "\r\n " for c in chars):
            return cls()
        return cls(*chars)


def unescape(text: str, d: Delimiters) -> str:
    """Replace &F& &S& &R& &E& (with the declared escape character) and &Xhh& sequences."""
    if d.escape not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        end = text.find(d.escape, i + 1) if ch == d.escape else -1
        if end < 0:
            out.append(ch)
            i += 1
            continue
        token = text[i + 1 : end]
        replacement = {"F": d.field, "S": d.component, "R": d.repeat, "E": d.escape}.get(token)
        if replacement is None and token[:1] == "X" and _is_hex(token[1:]):
            replacement = bytes.fromhex(token[1:]).decode("latin-1")
        if replacement is None:
            # Unknown sequences (highlighting &H&, &N&, ...) carry no data; keep them visible.
            out.append(text[i : end + 1])
        else:
            out.append(replacement)
        i = end + 1
    return "".join(out)


def _is_hex(text: str) -> bool:
    return bool(text) and len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)


def split_fields(record: str, d: Delimiters) -> list[str]:
    """Raw fields; field n of the standard (the type being 1) is index n - 1."""
    if record.startswith("H"):
        # The header's delimiter definition contains the other delimiters: keep it whole.
        return ["H", record[2:5], *record[6:].split(d.field)] if len(record) > 5 else ["H"]
    return record.split(d.field)


def components(raw: str, d: Delimiters) -> list[str]:
    """Components of the first repeat of a field, unescaped."""
    first = raw.split(d.repeat)[0]
    return [unescape(c, d) for c in first.split(d.component)]


def _field(fields: Sequence[str], n: int) -> str:
    return fields[n - 1] if 0 < n <= len(fields) else ""


@dataclass(frozen=True, slots=True)
class Result:
    """One R record with the context of the P and O records before it."""

    test_code: str
    value: str
    unit: str
    reference_range: str = ""
    flag: str = ""
    status: str = ""
    completed: str = ""
    instrument: str = ""
    ordered: str = ""
    patient_id: str = ""
    specimen_id: str = ""
    sequence: str = ""


@dataclass(slots=True)
class ParsedMessage:
    """What a message says, reduced to what the kiosk needs."""

    model: str = ""
    version: str = ""
    serial: str = ""
    processing_id: str = ""
    sent: str = ""
    termination: str = ""
    results: list[Result] = field(default_factory=list)


def parse_message(records: Sequence[str]) -> ParsedMessage:
    """Read H, P, O, R and L records; anything else (C, M, Q, ...) is skipped."""
    msg = ParsedMessage()
    d = Delimiters()
    patient = specimen = ordered = ""
    for record in records:
        kind = record[:1]
        if kind == "H":
            d = Delimiters.from_header(record)
            fields = split_fields(record, d)
            sender = components(_field(fields, 5), d)
            msg.model = sender[0] if sender else ""
            msg.version = sender[1] if len(sender) > 1 else ""
            msg.serial = sender[2] if len(sender) > 2 else ""
            msg.processing_id = unescape(_field(fields, 12), d)
            msg.sent = unescape(_field(fields, 14), d)
            continue
        fields = split_fields(record, d)
        if kind == "P":
            patient = components(_field(fields, 4), d)[0] or components(_field(fields, 3), d)[0]
            specimen = ordered = ""
        elif kind == "O":
            specimen = components(_field(fields, 3), d)[0]
            ordered = unescape(_field(fields, 7), d)
        elif kind == "R":
            msg.results.append(
                Result(
                    test_code=_test_code(components(_field(fields, 3), d)),
                    value=unescape(_field(fields, 4), d).strip(),
                    unit=components(_field(fields, 5), d)[0].strip(),
                    reference_range=unescape(_field(fields, 6), d),
                    flag=unescape(_field(fields, 7), d),
                    status=unescape(_field(fields, 9), d),
                    completed=unescape(_field(fields, 13), d),
                    instrument=components(_field(fields, 14), d)[0],
                    ordered=ordered,
                    patient_id=patient,
                    specimen_id=specimen,
                    sequence=_field(fields, 2),
                )
            )
        elif kind == "L":
            msg.termination = _field(fields, 3)
    return msg


def _test_code(parts: list[str]) -> str:
    # Universal test ID `^^^code`: the manufacturer's code is the fourth component.
    if len(parts) > 3 and parts[3]:
        return parts[3].strip()
    named = [p for p in parts if p.strip()]
    return named[-1].strip() if named else ""


def parse_timestamp(text: str, device_tz: tzinfo | None) -> datetime | None:
    """YYYYMMDD[HH[MM[SS]]] in the instrument's zone (local if None) as UTC; None if unreadable."""
    text = text.strip()
    formats = {14: "%Y%m%d%H%M%S", 12: "%Y%m%d%H%M", 10: "%Y%m%d%H", 8: "%Y%m%d"}
    fmt = formats.get(len(text))
    if fmt is None or not text.isdigit():
        return None
    try:
        naive = datetime.strptime(text, fmt)
    except ValueError:
        return None
    if device_tz is None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=device_tz).astimezone(UTC)


def _glucose(unit: str) -> str | None:
    return glucose_code_for_unit(unit)


def _by_unit(*codes: str) -> Callable[[str], str | None]:
    """One analyte's codes (mass or molar concentration, % or mmol/mol): the unit decides."""
    return lambda unit: code_for_unit(codes, unit)


_HBA1C = _by_unit(HBA1C, HBA1C_IFCC)
_CHOLESTEROL = _by_unit(CHOLESTEROL_MASS, CHOLESTEROL_MOLES)
_TRIGLYCERIDES = _by_unit(TRIGLYCERIDES_MASS, TRIGLYCERIDES_MOLES)
_CREATININE = _by_unit(CREATININE_MASS, CREATININE_MOLES)

#: Test codes instruments commonly send, to a LOINC code given the result's unit
#: (None when the unit does not match, and the result is reported unmapped).
TEST_CODES: dict[str, Callable[[str], str | None]] = {
    "GLU": _glucose,
    "GLUC": _glucose,
    "GLUCOSE": _glucose,
    "HGB": _by_unit(HEMOGLOBIN),
    "HB": _by_unit(HEMOGLOBIN),
    "HBA1C": _HBA1C,
    "A1C": _HBA1C,
    "GHB": _HBA1C,
    "CHOL": _CHOLESTEROL,
    "TC": _CHOLESTEROL,
    "TCHO": _CHOLESTEROL,
    "TRIG": _TRIGLYCERIDES,
    "TG": _TRIGLYCERIDES,
    "CREA": _CREATININE,
    "CRE": _CREATININE,
    "CREAT": _CREATININE,
}


def _ucum(unit: str, loinc: str) -> str:
    known = MEASUREMENTS.get(loinc)
    if known is not None and fold_unit(unit) == fold_unit(known.unit):
        return known.unit
    return unit


def message_events(
    msg: ParsedMessage,
    *,
    port: str,
    device_tz: tzinfo | None = None,
    default_model: str = "",
) -> list[Reading | NoReading]:
    """A reading per result, or a no-reading where the value is not a usable number."""
    model = msg.model or default_model
    out: list[Reading | NoReading] = []
    for result in msg.results:
        mapper = TEST_CODES.get(result.test_code.upper())
        loinc = (mapper(result.unit) if mapper else None) or ""
        stamp = (
            parse_timestamp(result.completed, device_tz)
            or parse_timestamp(result.ordered, device_tz)
            or parse_timestamp(msg.sent, device_tz)
            or utcnow()
        )
        extra: dict[str, Any] = {"test_code": result.test_code}
        for key in ("flag", "reference_range", "status", "patient_id", "specimen_id", "instrument"):
            value = getattr(result, key)
            if value:
                extra[key] = value

        invalid = NoReading(NoReadingReason.INVALID, model, port, stamp, loinc)
        if result.status.upper() == "X":
            out.append(replace(invalid, detail=f"{result.test_code}: could not be performed"))
            continue
        if mapper is not None and not loinc:
            # A known analyte in an unknown unit: better unmapped than misfiled.
            extra["unmapped_unit"] = True
        try:
            value = float(result.value.replace(",", "."))
        except ValueError:
            out.append(replace(invalid, detail=f"{result.test_code}: not a number: {result.value!r}"))
            continue
        try:
            out.append(
                Reading(loinc, value, _ucum(result.unit, loinc), model, msg.serial, port, stamp, extra)
            )
        except InvalidReading as exc:
            out.append(replace(invalid, detail=f"{result.test_code}: {exc}"))
    return out
