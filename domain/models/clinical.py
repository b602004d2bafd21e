"""What the feldsher records at the post: exams (обследования) and their observations."""

from __future__ import annotations

from typing import Any

from peewee import BooleanField, CharField, DateTimeField, FloatField, ForeignKeyField, TextField

from i18n import N_
from sync.clock import utcnow
from sync.model import SyncModel

from ..errors import ValidationError
from .appeals import Appeal
from .directory import Organization, Staff
from .ownership import OwnedByPost
from .patients import Patient

__all__ = ["Exam", "Observation", "VITALS", "LABS", "CATALOGUE", "Consciousness"]

#: LOINC code → (Russian label, UCUM unit, plausible range). What a post measures.
VITALS: dict[str, tuple[str, str, tuple[float, float]]] = {
    "8480-6": (N_("Систолическое АД"), "mm[Hg]", (40, 300)),
    "8462-4": (N_("Диастолическое АД"), "mm[Hg]", (20, 200)),
    "8867-4": (N_("Пульс"), "/min", (20, 300)),
    "59408-5": (N_("SpO2"), "%", (50, 100)),
    "8310-5": (N_("Температура тела"), "Cel", (30, 45)),
    "15074-8": (N_("Глюкоза крови"), "mmol/L", (0.5, 60)),
    "29463-7": (N_("Масса тела"), "kg", (0.3, 400)),
    "9279-1": (N_("Частота дыхания"), "/min", (4, 80)),
}

#: Laboratory results (from an analyser or typed from a lab's form), in the units Russian
#: laboratories report: the molar LOINC codes for cholesterol, triglycerides and creatinine
#: (14647-2, 14927-8, 14682-9, not the mg/dL codes 2093-3, 2571-8, 2160-0), HbA1c in %
#: (NGSP), haemoglobin in g/L. A value in another unit is converted before it is stored.
LABS: dict[str, tuple[str, str, tuple[float, float]]] = {
    "4548-4": (N_("Гликированный гемоглобин (HbA1c)"), "%", (3, 20)),
    "14647-2": (N_("Холестерин общий"), "mmol/L", (0.5, 30)),
    "14927-8": (N_("Триглицериды"), "mmol/L", (0.1, 60)),
    "14682-9": (N_("Креатинин"), "umol/L", (10, 3000)),
    "718-7": (N_("Гемоглобин"), "g/L", (20, 250)),
}

#: Everything an exam may hold, vitals first: what Observation.validate accepts.
CATALOGUE: dict[str, tuple[str, str, tuple[float, float]]] = {**VITALS, **LABS}


class Consciousness:
    """Level of consciousness on the ACVPU scale (RCP, NEWS2 2017); "" when not assessed."""

    ALERT = "A"  # ясное
    CONFUSION = "C"  # впервые возникшая спутанность
    VOICE = "V"  # реагирует на голос
    PAIN = "P"  # реагирует на боль
    UNRESPONSIVE = "U"  # без реакции
    ALL = (ALERT, CONFUSION, VOICE, PAIN, UNRESPONSIVE)


class Exam(OwnedByPost, SyncModel):
    """An обследование: complaints, objective status and the vitals taken with it."""

    POST_PATH = ("post",)

    patient = ForeignKeyField(Patient, backref="exams")
    post = ForeignKeyField(Organization, backref="exams")
    author = ForeignKeyField(Staff, backref="exams")
    appeal = ForeignKeyField(Appeal, null=True, backref="exams")
    complaints = TextField(default="")
    objective_status = TextField(default="")
    taken_at = DateTimeField(default=utcnow, index=True)
    #: Consciousness on the ACVPU scale ("A", "C", "V", "P", "U"; "" not assessed) and
    #: whether the patient breathes supplemental oxygen (None: not recorded): NEWS2 reads both.
    consciousness = CharField(max_length=1, default="")
    on_oxygen = BooleanField(null=True)

    patient_id: str
    post_id: str
    appeal_id: str | None
    observations: Any

    def validate(self) -> None:
        if (self.consciousness or "") not in ("", *Consciousness.ALL):
            raise ValidationError(
                N_("Сознание отмечается по шкале ACVPU: A, C, V, P или U"), field="consciousness"
            )


class Observation(OwnedByPost, SyncModel):
    """One vital sign or lab result: LOINC code, value, UCUM unit, when, from which device or by hand."""

    POST_PATH = ("exam", "post")

    exam = ForeignKeyField(Exam, backref="observations")
    loinc = CharField(max_length=16)
    value = FloatField()
    unit = CharField(max_length=16)
    taken_at = DateTimeField(default=utcnow)
    manual = BooleanField(default=True)
    device = CharField(max_length=100, default="")
    device_serial = CharField(max_length=64, default="")

    exam_id: str

    def validate(self) -> None:
        known = CATALOGUE.get(self.loinc)
        if known is None:
            raise ValidationError(N_("Неизвестный показатель: %(code)s"), field="loinc", code=self.loinc)
        label, unit, (low, high) = known
        if self.unit != unit:
            raise ValidationError(N_("%(what)s измеряется в %(unit)s"), field="unit", what=label, unit=unit)
        if not (low <= float(self.value) <= high):
            raise ValidationError(
                N_("%(what)s: значение %(value)s вне возможного диапазона %(low)s–%(high)s"),
                field="value",
                what=label,
                value=self.value,
                low=low,
                high=high,
            )
