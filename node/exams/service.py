"""Recording an обследование with its vitals, and reading a patient's exams back (pages and API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext

from domain.errors import ValidationError
from domain.models import Exam, Observation, Patient, Staff
from i18n import N_
from sync.clock import utcnow
from sync.db import database
from web.earlywarning import EarlyWarning, for_exam
from web.i18n import to_local, user_timezone
from web.labels import label
from web.vitals import DIASTOLIC, SYSTOLIC, UNIT_LABELS, observations, series, values_of

from ..patients.service import post_patient
from .vitals import FORM_ORDER, LAB_ORDER, parse_number, to_ucum, vital

__all__ = [
    "VitalInput",
    "vitals_from_form",
    "vitals_from_json",
    "record_exam",
    "post_exam",
    "patient_exams",
    "latest_exam",
    "exam_values",
    "exam_warning",
    "consciousness_oxygen_from_form",
    "consciousness_oxygen_from_json",
    "exam_summary",
    "observations",
    "parse_exam_time",
    "series",
]

#: How far ahead of the kiosk's clock an exam time may be (a clock a little off is no error).
_FUTURE_SLACK = timedelta(minutes=5)


def _post() -> str:
    return str(current_app.extensions["identity"].organization_id)


@dataclass
class VitalInput:
    """One value to file: as typed or as a device sent it, before conversion to the stored unit."""

    loinc: str
    value: float
    unit: str
    taken_at: datetime | None = None  # None: the exam's time
    device: str = ""
    device_serial: str = ""

    @property
    def manual(self) -> bool:
        return not self.device


def _device_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def vitals_from_form(form: Any) -> list[VitalInput]:
    """The exam form's rows: value_<code>, unit_<code>, and device_/serial_/at_<code> when taken from one."""
    out = []
    for code in (*FORM_ORDER, *LAB_ORDER):
        info = vital(code)
        value = parse_number(form.get(f"value_{code}", ""), gettext(info.label), f"value_{code}")
        if value is None:
            continue
        unit = form.get(f"unit_{code}") or info.unit
        device = (form.get(f"device_{code}") or "").strip()[:100]
        out.append(
            VitalInput(
                code,
                value,
                unit,
                taken_at=_device_time(form.get(f"at_{code}", "")) if device else None,
                device=device,
                device_serial=(form.get(f"serial_{code}") or "").strip()[:64] if device else "",
            )
        )
    return out


def vitals_from_json(items: Any) -> list[VitalInput]:
    if not isinstance(items, list):
        raise ValidationError(N_("Показатели передаются списком"), field="observations")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("value"), int | float):
            raise ValidationError(
                N_("Каждый показатель: код LOINC, числовое значение, единица"), field="observations"
            )
        out.append(
            VitalInput(
                str(item.get("loinc", "")),
                float(item["value"]),
                str(item.get("unit", "")),
                taken_at=_device_time(str(item.get("taken_at") or "")),
                device=str(item.get("device") or "")[:100],
                device_serial=str(item.get("device_serial") or "")[:64],
            )
        )
    return out


def consciousness_oxygen_from_form(form: Any) -> tuple[str, bool | None]:
    """«Сознание» (an ACVPU letter or "") and «Кислород» ("yes", "no"; "" not recorded) from the form."""
    oxygen = {"yes": True, "no": False}.get(form.get("on_oxygen") or "")
    return (form.get("consciousness") or "").strip().upper(), oxygen


def consciousness_oxygen_from_json(data: Any) -> tuple[str, bool | None]:
    """`consciousness` (ACVPU letter) and `on_oxygen` (true, false or null) of the API's exam."""
    oxygen = data.get("on_oxygen")
    if oxygen is not None and not isinstance(oxygen, bool):
        raise ValidationError(N_("Кислород: укажите true, false или null"), field="on_oxygen")
    return str(data.get("consciousness") or "").strip().upper(), oxygen


def parse_exam_time(text: str) -> datetime:
    """«Время осмотра» as typed in the user's zone (datetime-local), stored as naive UTC."""
    if not (text or "").strip():
        return utcnow()
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            N_("Укажите время осмотра в формате ДД.ММ.ГГГГ ЧЧ:ММ"), field="taken_at"
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=user_timezone())
    return local.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def record_exam(
    author: Staff,
    patient_id: str,
    *,
    complaints: str = "",
    objective_status: str = "",
    vitals: list[VitalInput] = (),  # type: ignore[assignment]
    taken_at: datetime | None = None,
    consciousness: str = "",
    on_oxygen: bool | None = None,
) -> Exam:
    """Store the exam and all its observations at once, or nothing with a clear reason."""
    patient = post_patient(patient_id)
    now = utcnow()
    taken_at = taken_at or now
    if taken_at > now + _FUTURE_SLACK:
        raise ValidationError(N_("Время осмотра не может быть в будущем"), field="taken_at")
    if not (complaints.strip() or objective_status.strip() or vitals):
        raise ValidationError(
            N_("Заполните жалобы, объективный статус или хотя бы один показатель"), field="complaints"
        )
    seen: set[str] = set()
    with database.atomic():
        exam = Exam.create(
            patient=patient,
            post=_post(),
            author=author,
            complaints=complaints.strip(),
            objective_status=objective_status.strip(),
            taken_at=taken_at,
            consciousness=consciousness,
            on_oxygen=on_oxygen,
        )
        for item in vitals:
            code, value, unit = to_ucum(item.loinc, item.value, item.unit)
            if code in seen:
                raise ValidationError(
                    N_("%(what)s указан дважды"), field=f"value_{code}", what=vital(code).label
                )
            seen.add(code)
            try:
                Observation.create(
                    exam=exam,
                    loinc=code,
                    value=value,
                    unit=unit,
                    taken_at=item.taken_at or taken_at,
                    manual=item.manual,
                    device=item.device,
                    device_serial=item.device_serial,
                )
            except ValidationError as exc:
                exc.field = f"value_{code}"
                raise
    return exam


def post_exam(exam_id: str) -> Exam:
    exam = Exam.get_or_none((Exam.id == exam_id) & (Exam.post == _post()) & (Exam.deleted == False))  # noqa: E712
    if exam is None:
        raise ValidationError(N_("Обследование не найдено на этом посту"), field="exam")
    return exam


def patient_exams(patient: Patient, limit: int = 50) -> list[Exam]:
    return list(
        Exam.live()
        .where(Exam.patient == patient.id)
        .order_by(Exam.taken_at.desc(), Exam.seq.desc())
        .limit(limit)
    )


def latest_exam(patient: Patient, *, unlinked: bool = False) -> Exam | None:
    """The patient's most recent exam (only one not yet sent with an appeal, if asked)."""
    query = Exam.live().where(Exam.patient == patient.id)
    if unlinked:
        query = query.where(Exam.appeal.is_null())
    return query.order_by(Exam.taken_at.desc(), Exam.seq.desc()).first()


def exam_values(exam: Exam) -> dict[str, float]:
    return values_of(observations(exam))


def exam_warning(exam: Exam | None) -> EarlyWarning | None:
    """The exam's early warning (NEWS2 or the child's age ranges); None without an exam."""
    return for_exam(exam) if exam is not None else None


def _value_text(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def exam_summary(exam: Exam) -> str:
    """The exam as text for «Данные осмотра» of an appeal (objective status, then the vitals)."""
    lines = []
    local = to_local(exam.taken_at)
    if local is not None:
        lines.append(gettext("Обследование %(when)s", when=local.strftime("%d.%m.%Y %H:%M")))
    if exam.objective_status:
        lines.append(exam.objective_status)
    values = {o.loinc: o for o in observations(exam)}
    parts = []
    if SYSTOLIC in values and DIASTOLIC in values:
        sys_, dia = values.pop(SYSTOLIC), values.pop(DIASTOLIC)
        parts.append(
            gettext("АД %(sys)s/%(dia)s мм рт. ст.", sys=_value_text(sys_.value), dia=_value_text(dia.value))
            + _source(sys_)
        )
    for obs in values.values():
        info = vital(obs.loinc)
        parts.append(
            f"{gettext(info.label)} {_value_text(obs.value)} {gettext(UNIT_LABELS.get(obs.unit, obs.unit))}"
            + _source(obs)
        )
    if exam.consciousness:
        parts.append(gettext("Сознание: %(level)s", level=label(exam.consciousness, "consciousness")))
    if exam.on_oxygen is not None:
        parts.append(gettext("на кислороде") if exam.on_oxygen else gettext("дышит воздухом"))
    if parts:
        lines.append("; ".join(parts))
    warning = for_exam(exam)
    if warning.news2 is not None:
        score = warning.news2
        lines.append(
            gettext("NEWS2: %(score)s", score=score.score)
            + ("" if score.complete else " (" + gettext("неполная оценка") + ")")
        )
    return "\n".join(lines)


def _source(obs: Observation) -> str:
    return f" ({obs.device})" if obs.device else ""
