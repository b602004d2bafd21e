"""What a device reports: a `Reading`, a `NoReading`, or a `DeviceStatus` about its link.

Values carry LOINC codes and UCUM units so that the node can file them without
knowing which device produced them. A driver that sees no valid measurement
reports a `NoReading` with a reason, never a zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hardware.errors import InvalidReading

__all__ = [
    "SPO2",
    "PULSE_RATE",
    "SYSTOLIC_BP",
    "DIASTOLIC_BP",
    "GLUCOSE_MASS",
    "GLUCOSE_MOLES",
    "BODY_WEIGHT",
    "BODY_TEMPERATURE",
    "HEMOGLOBIN",
    "HBA1C",
    "HBA1C_IFCC",
    "CHOLESTEROL_MASS",
    "CHOLESTEROL_MOLES",
    "TRIGLYCERIDES_MASS",
    "TRIGLYCERIDES_MOLES",
    "CREATININE_MASS",
    "CREATININE_MOLES",
    "MEASUREMENTS",
    "Measurement",
    "Reading",
    "NoReading",
    "NoReadingReason",
    "DeviceStatus",
    "LinkState",
    "DeviceEvent",
    "GLUCOSE_MGDL_PER_MMOLL",
    "glucose_mgdl_to_mmoll",
    "glucose_mmoll_to_mgdl",
    "glucose_code_for_unit",
    "fold_unit",
    "code_for_unit",
    "weight_to_kg",
    "utcnow",
]

SPO2 = "59408-5"
PULSE_RATE = "8867-4"
SYSTOLIC_BP = "8480-6"
DIASTOLIC_BP = "8462-4"
GLUCOSE_MASS = "2339-0"
GLUCOSE_MOLES = "15074-8"
BODY_WEIGHT = "29463-7"
BODY_TEMPERATURE = "8310-5"
# Laboratory analytes: a mass-concentration code (what US instruments send) and a
# molar one (what Russian laboratories report), told apart by the result's unit.
HEMOGLOBIN = "718-7"
HBA1C = "4548-4"  # % of total haemoglobin (NGSP/DCCT)
HBA1C_IFCC = "59261-8"  # mmol/mol (IFCC)
CHOLESTEROL_MASS = "2093-3"
CHOLESTEROL_MOLES = "14647-2"
TRIGLYCERIDES_MASS = "2571-8"
TRIGLYCERIDES_MOLES = "14927-8"
CREATININE_MASS = "2160-0"
CREATININE_MOLES = "14682-9"


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a LOINC code measures, its UCUM unit and the values it can physically take."""

    loinc: str
    label: str
    unit: str
    low: float | None = None
    high: float | None = None

    def accepts(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.low is not None and value < self.low:
            return False
        return self.high is None or value <= self.high


#: Known quantities. The bounds are physiological limits, wider than any device's
#: measuring range; drivers apply their own, narrower device ranges first.
MEASUREMENTS: dict[str, Measurement] = {
    m.loinc: m
    for m in (
        Measurement(SPO2, "SpO2", "%", 0, 100),
        Measurement(PULSE_RATE, "Pulse rate", "/min", 20, 300),
        Measurement(SYSTOLIC_BP, "Systolic blood pressure", "mm[Hg]", 40, 300),
        Measurement(DIASTOLIC_BP, "Diastolic blood pressure", "mm[Hg]", 20, 250),
        Measurement(GLUCOSE_MASS, "Glucose in blood", "mg/dL", 1, 2000),
        Measurement(GLUCOSE_MOLES, "Glucose in blood", "mmol/L", 0.05, 111),
        Measurement(BODY_WEIGHT, "Body weight", "kg", 0.1, 650),
        Measurement(BODY_TEMPERATURE, "Body temperature", "Cel", 25, 45),
        Measurement(HEMOGLOBIN, "Hemoglobin in blood", "g/dL", 1, 30),
        Measurement(HBA1C, "Hemoglobin A1c/Hemoglobin.total in blood", "%", 2, 25),
        Measurement(HBA1C_IFCC, "Hemoglobin A1c/Hemoglobin.total in blood (IFCC)", "mmol/mol", 1, 250),
        Measurement(CHOLESTEROL_MASS, "Cholesterol in serum or plasma", "mg/dL", 10, 2000),
        Measurement(CHOLESTEROL_MOLES, "Cholesterol in serum or plasma", "mmol/L", 0.25, 52),
        Measurement(TRIGLYCERIDES_MASS, "Triglyceride in serum or plasma", "mg/dL", 5, 10000),
        Measurement(TRIGLYCERIDES_MOLES, "Triglyceride in serum or plasma", "mmol/L", 0.05, 113),
        Measurement(CREATININE_MASS, "Creatinine in serum or plasma", "mg/dL", 0.05, 50),
        Measurement(CREATININE_MOLES, "Creatinine in serum or plasma", "umol/L", 4, 4420),
    )
}

GLUCOSE_MGDL_PER_MMOLL = 18.016


def glucose_mgdl_to_mmoll(mgdl: float) -> float:
    """Blood glucose from mg/dL to mmol/L."""
    return mgdl / GLUCOSE_MGDL_PER_MMOLL


def glucose_mmoll_to_mgdl(mmoll: float) -> float:
    """Blood glucose from mmol/L to mg/dL."""
    return mmoll * GLUCOSE_MGDL_PER_MMOLL


def glucose_code_for_unit(unit: str) -> str | None:
    """The glucose LOINC code (mass or moles) that matches a unit, or None if it matches neither."""
    folded = unit.strip().lower()
    if folded in ("mg/dl", "mg/100ml"):
        return GLUCOSE_MASS
    if folded in ("mmol/l", "mmol/dm3"):
        return GLUCOSE_MOLES
    return None


def fold_unit(unit: str) -> str:
    """A unit as instruments write it, folded for comparison: µmol/L, mcmol/l and umol/L are one."""
    folded = unit.strip().lower().replace("\u00b5", "u").replace("\u03bc", "u")
    for micro in ("mc", "mk"):
        if folded.startswith(micro) and not folded.startswith(micro + "/"):
            folded = "u" + folded[len(micro) :]
    return folded


def code_for_unit(codes: tuple[str, ...], unit: str) -> str | None:
    """The one of `codes` (one analyte, several properties) whose unit `unit` is; None if none."""
    folded = fold_unit(unit)
    return next((code for code in codes if fold_unit(MEASUREMENTS[code].unit) == folded), None)


_KG_PER_UNIT = {"kg": 1.0, "g": 0.001, "lb": 0.45359237, "oz": 0.028349523125}


def weight_to_kg(value: float, unit: str) -> float:
    """A weight in kg, g, lb or oz converted to kg; ValueError for any other unit."""
    try:
        return value * _KG_PER_UNIT[unit.strip().lower()]
    except KeyError:
        raise ValueError(f"not a weight unit: {unit!r}") from None


def utcnow() -> datetime:
    """Current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class Reading:
    """One measured value from one device, ready to file."""

    loinc: str
    value: float
    unit: str
    device_model: str
    device_serial: str
    port: str
    timestamp: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise InvalidReading(f"reading timestamp must be timezone-aware: {self.timestamp}")
        if not math.isfinite(self.value):
            raise InvalidReading(f"reading value is not a number: {self.value}")
        known = MEASUREMENTS.get(self.loinc)
        if known is None:
            return
        if self.unit != known.unit:
            raise InvalidReading(f"{known.label} must be in {known.unit}, not {self.unit!r}")
        if not known.accepts(self.value):
            raise InvalidReading(
                f"{known.label} of {self.value} {self.unit} is outside {known.low}..{known.high}"
            )

    @property
    def label(self) -> str:
        known = MEASUREMENTS.get(self.loinc)
        if known is not None:
            return known.label
        return str(self.extra.get("test_code", self.loinc))

    def as_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (timestamps as ISO 8601 in UTC)."""
        return {
            "type": "reading",
            "loinc": self.loinc,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "device_model": self.device_model,
            "device_serial": self.device_serial,
            "port": self.port,
            "timestamp": _iso(self.timestamp),
            "extra": _jsonable(self.extra),
        }


class NoReadingReason(StrEnum):
    """Why a device that is talking has no value to report."""

    FINGER_OUT = "finger_out"
    SEARCHING = "searching"
    INVALID = "invalid"
    PROBE_ERROR = "probe_error"


@dataclass(frozen=True, slots=True)
class NoReading:
    """The device is there but has no valid value; `loinc` is the quantity concerned, if one."""

    reason: NoReadingReason
    device_model: str
    port: str
    timestamp: datetime
    loinc: str = ""
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "no_reading",
            "reason": self.reason.value,
            "loinc": self.loinc,
            "detail": self.detail,
            "device_model": self.device_model,
            "port": self.port,
            "timestamp": _iso(self.timestamp),
        }


class LinkState(StrEnum):
    """What happened to the link to a device."""

    CONNECTED = "connected"
    DETECTED = "detected"
    IDENTIFIED = "identified"
    NOT_ANSWERING = "not_answering"
    DOWNLOAD_COMPLETE = "download_complete"
    DISCONNECTED = "disconnected"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A change in the link to a device, for the kiosk to show (plugged, answering, ...)."""

    port: str
    state: LinkState
    protocol: str = ""
    detail: str = ""  # for the log and the terminal (English); a page says it from `state`/`counts`
    timestamp: datetime = field(default_factory=utcnow)
    #: Figures a page can say in its own words, e.g. {"stored": 5, "new": 0} after a download.
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "status",
            "state": self.state.value,
            "protocol": self.protocol,
            "detail": self.detail,
            "counts": dict(self.counts),
            "port": self.port,
            "timestamp": _iso(self.timestamp),
        }


DeviceEvent = Reading | NoReading | DeviceStatus


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
