"""Appeals (обращения) from posts to consultants, their protocols, diagnoses and files.

The lifecycle lives here so that node and central apply the same rules:
new → in_work → closed, or new → cancelled; never backwards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from peewee import (
    BigIntegerField,
    CharField,
    DateTimeField,
    DeferredForeignKey,
    Expression,
    ForeignKeyField,
    TextField,
)

from i18n import N_
from sync.clock import utcnow
from sync.db import CENTRAL
from sync.model import SyncModel

from .. import icd10
from ..errors import LifecycleError, ValidationError
from .directory import Organization, Specialty, Staff
from .ownership import OwnedByPost
from .patients import REPRESENTATIVE_REQUIRED_UNDER, Patient
from .schedule import Slot

__all__ = [
    "Appeal",
    "AppealStatus",
    "FormOfCare",
    "AppealKind",
    "ContactMode",
    "Protocol",
    "Diagnosis",
    "DiagnosisRole",
    "ConsentGiver",
    "Attachment",
    "AttachmentKind",
    "TAKE_IN_WORK_LEAD",
    "DEFAULT_DEADLINES",
    "configure_deadlines",
]

#: «Обращение можно взять в работу за 15 минут до времени приёма пациента».
TAKE_IN_WORK_LEAD = timedelta(minutes=15)
#: How far ahead of the clock an ИДС time may be (a kiosk's clock a little fast).
CONSENT_CLOCK_SLACK = timedelta(minutes=10)


class AppealStatus:
    NEW = "new"
    IN_WORK = "in_work"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    ALL = (NEW, IN_WORK, CLOSED, CANCELLED)
    #: Position in the one-way lifecycle; a merge never lowers it.
    RANK: ClassVar[dict[str, int]] = {NEW: 0, IN_WORK: 1, CANCELLED: 2, CLOSED: 2}


class FormOfCare:
    EMERGENCY = "emergency"  # экстренная
    URGENT = "urgent"  # неотложная
    PLANNED = "planned"  # плановая
    ALL = (EMERGENCY, URGENT, PLANNED)
    NAMES = {EMERGENCY: N_("экстренная"), URGENT: N_("неотложная"), PLANNED: N_("плановая")}
    #: Urgency, least first: a feldsher may always choose a more urgent form than proposed.
    URGENCY = {PLANNED: 0, URGENT: 1, EMERGENCY: 2}

    @classmethod
    def less_urgent(cls, form: str, than: str) -> bool:
        """Whether `form` is less urgent than `than` (False when either is unknown or empty)."""
        if form not in cls.URGENCY or than not in cls.URGENCY:
            return False
        return cls.URGENCY[form] < cls.URGENCY[than]


class AppealKind:
    PRIMARY = "primary"  # первичная
    REPEAT = "repeat"  # повторная
    MONITORING = "monitoring"  # мониторинг
    ALL = (PRIMARY, REPEAT, MONITORING)


class ContactMode:
    VIDEO = "video"
    AUDIO = "audio"
    CHAT = "chat"
    ALL = (VIDEO, AUDIO, CHAT)


class ConsentGiver:
    """Who gave the informed voluntary consent (ИДС) to the telemedicine consultation."""

    PATIENT = "patient"  # the patient
    REPRESENTATIVE = "representative"  # the legal representative
    ALL = (PATIENT, REPRESENTATIVE)


#: How long a consultant has to take an appeal in work, by form of care.
DEFAULT_DEADLINES: dict[str, timedelta] = {
    FormOfCare.EMERGENCY: timedelta(hours=2),
    FormOfCare.URGENT: timedelta(hours=24),
    FormOfCare.PLANNED: timedelta(days=7),
}
_deadlines = dict(DEFAULT_DEADLINES)


def configure_deadlines(minutes_by_form: dict[str, int]) -> None:
    """Override response deadlines (minutes) per form of care, e.g. from app config."""
    for form, minutes in minutes_by_form.items():
        if form not in FormOfCare.ALL or int(minutes) <= 0:
            raise ValueError(f"bad deadline {form}={minutes}")
        _deadlines[form] = timedelta(minutes=int(minutes))


def deadline_for(form: str) -> timedelta:
    return _deadlines[form]


class Appeal(OwnedByPost, SyncModel):
    """An обращение: the post's request part, then central's status decisions."""

    POST_PATH = ("post",)

    patient = ForeignKeyField(Patient, backref="appeals")
    post = ForeignKeyField(Organization, backref="appeals")
    author = ForeignKeyField(Staff, backref="appeals_authored")
    specialty = ForeignKeyField(Specialty, backref="appeals")
    consultant = ForeignKeyField(Staff, null=True, backref="appeals")
    slot = ForeignKeyField(Slot, null=True, backref="appeals")
    kind = CharField(max_length=16, default=AppealKind.PRIMARY)
    form_of_care = CharField(max_length=16, default=FormOfCare.PLANNED)
    contact_mode = CharField(max_length=8, default=ContactMode.VIDEO)
    question = TextField()
    anamnesis = TextField(default="")
    complaints = TextField(default="")
    exam_data = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    due_at = DateTimeField(index=True)
    status = CharField(max_length=16, default=AppealStatus.NEW, index=True)
    taken_by = ForeignKeyField(Staff, null=True, backref="appeals_taken")
    taken_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    cancelled_at = DateTimeField(null=True)
    #: ИДС to the telemedicine consultation: who gave it (`ConsentGiver`), the
    #: representative's name when not the patient, and when (a scan is an attachment).
    consent_by = CharField(max_length=16, default="")
    consent_name = CharField(max_length=300, default="")
    consent_at = DateTimeField(null=True)
    #: The form of care the vitals' early-warning score proposed when the appeal was made,
    #: and the feldsher's reason for choosing a less urgent one (the consultant sees it).
    proposed_form = CharField(max_length=16, default="")
    form_reason = TextField(default="")

    patient_id: str
    post_id: str
    author_id: str
    specialty_id: str
    consultant_id: str | None
    slot_id: str | None
    taken_by_id: str | None
    protocols: Any
    attachments: Any

    #: Fields that only central decides after the post created the appeal.
    CENTRAL_FIELDS: ClassVar[tuple[str, ...]] = ("status", "taken_by", "taken_at", "closed_at")

    # -- rules ----------------------------------------------------------------

    def validate(self) -> None:
        if not (self.question or "").strip():
            raise ValidationError(
                N_("Укажите основной вопрос, на который должен ответить консультант"),
                field="question",
            )
        if self.form_of_care not in FormOfCare.ALL:
            raise ValidationError(N_("Выберите форму оказания помощи"), field="form_of_care")
        self.check_form_reason()
        if self.kind not in AppealKind.ALL:
            raise ValidationError(N_("Выберите тип консультации"), field="kind")
        if self.contact_mode not in ContactMode.ALL:
            raise ValidationError(N_("Выберите вид связи"), field="contact_mode")
        if self.status not in AppealStatus.ALL:
            raise ValidationError(N_("Неизвестный статус обращения"), field="status")

    def check_form_reason(self) -> None:
        """A form of care less urgent than the vitals proposed needs the feldsher's reason."""
        if (self.proposed_form or "") not in ("", *FormOfCare.ALL):
            raise ValidationError(N_("Неизвестная предложенная форма оказания помощи"), field="proposed_form")
        reason = (self.form_reason or "").strip()
        if FormOfCare.less_urgent(self.form_of_care, self.proposed_form) and not reason:
            raise ValidationError(
                N_(
                    "По показателям предложена форма «%(proposed)s»: чтобы выбрать «%(chosen)s», "
                    "укажите причину"
                ),
                field="form_reason",
                proposed=FormOfCare.NAMES[self.proposed_form],
                chosen=FormOfCare.NAMES[self.form_of_care],
            )

    @staticmethod
    def compute_due_at(created_at: datetime, form: str, slot: Slot | None) -> datetime:
        """When the appeal becomes overdue: its slot, or its form-of-care deadline if sooner."""
        due = created_at + deadline_for(form)
        if slot is not None and slot.starts_at < due:
            due = slot.starts_at
        return due

    def is_overdue(self, now: datetime) -> bool:
        """«Просроченные»: still new after its slot time or its response deadline."""
        return self.status == AppealStatus.NEW and self.due_at <= now

    @classmethod
    def slot_taken(cls, slot_id: str, *, exclude: str | None = None) -> bool:
        query = cls.live().where((cls.slot == slot_id) & (cls.status != AppealStatus.CANCELLED))
        if exclude:
            query = query.where(cls.id != exclude)
        return query.exists()

    @staticmethod
    def check_consent(
        patient: Patient | None, by: str, name: str, at: datetime | None, now: datetime | None = None
    ) -> tuple[str, str, datetime]:
        """The ИДС to the telemedicine consultation, checked: (who, the representative's name, when).

        Under 15 the legal representative gives it (323-ФЗ art. 20 and 54); the
        representative is named, by default the one on the patient's card.
        """
        now = now or utcnow()
        if by not in ConsentGiver.ALL:
            raise ValidationError(
                N_(
                    "Без информированного добровольного согласия (ИДС) на телемедицинскую "
                    "консультацию обращение не отправить: отметьте, кто дал согласие"
                ),
                field="consent_by",
            )
        if not isinstance(at, datetime):
            raise ValidationError(N_("Укажите, когда получено ИДС"), field="consent_at")
        if at > now + CONSENT_CLOCK_SLACK:
            raise ValidationError(N_("Время получения ИДС не может быть в будущем"), field="consent_at")
        name = (name or "").strip()
        if by == ConsentGiver.PATIENT:
            if patient is not None and patient.needs_representative():
                raise ValidationError(
                    N_("Пациенту нет %(age)s лет: ИДС даёт законный представитель"),
                    field="consent_by",
                    age=REPRESENTATIVE_REQUIRED_UNDER,
                )
            return by, "", at
        if not name and patient is not None:
            name = patient.representative_display
        if not name:
            raise ValidationError(
                N_("Укажите ФИО законного представителя, давшего ИДС"), field="consent_name"
            )
        return by, name[:300], at

    def can_take_from(self) -> datetime | None:
        """The earliest moment «Взять в работу» is allowed (None: any time)."""
        slot = self.slot if self.slot_id else None
        if slot is None:
            return None
        return slot.starts_at - TAKE_IN_WORK_LEAD

    def take_in_work(self, consultant: Staff, now: datetime | None = None) -> None:
        """«Взять в работу»: refused earlier than 15 minutes before the slot."""
        now = now or utcnow()
        if self.status != AppealStatus.NEW:
            raise LifecycleError(N_("Обращение уже не новое: его нельзя взять в работу"))
        if self.consultant_id and self.consultant_id != consultant.id:
            raise LifecycleError(N_("Обращение назначено другому консультанту"))
        if consultant.specialty_id != self.specialty_id:
            raise LifecycleError(N_("Обращение относится к другой специальности"))
        earliest = self.can_take_from()
        if earliest is not None and now < earliest:
            raise LifecycleError(
                N_("Обращение можно взять в работу не ранее чем за 15 минут до приёма (с %(time)s)"),
                time=earliest,  # a moment: each reader sees it in their own zone
            )
        self.status = AppealStatus.IN_WORK
        self.consultant = consultant
        self.taken_by = consultant
        self.taken_at = now
        self.save()

    def cancel(self, now: datetime | None = None) -> None:
        """The post withdraws its appeal; only while nobody has taken it."""
        if self.status != AppealStatus.NEW:
            raise LifecycleError(N_("Отменить можно только новое обращение"))
        self.status = AppealStatus.CANCELLED
        self.cancelled_at = now or utcnow()
        self.save()

    def current_protocol(self) -> Protocol | None:
        return self.protocols.where(Protocol.deleted == False).first()  # noqa: E712

    def consent_scans(self) -> list[Attachment]:
        """Photos or scans of the signed ИДС form, oldest first."""
        return list(
            self.attachments.where(
                (Attachment.kind == AttachmentKind.CONSENT) & (Attachment.deleted == False)  # noqa: E712
            ).order_by(Attachment.created_at)
        )

    def protocol_pdf(self) -> Attachment | None:
        """The latest PDF of the protocol, once central has made it (only central's count)."""
        return (
            self.attachments.where(
                (Attachment.kind == AttachmentKind.PROTOCOL_PDF)
                & (Attachment.origin == CENTRAL)
                & (Attachment.deleted == False)  # noqa: E712
            )
            .order_by(Attachment.created_at.desc())
            .first()
        )

    # -- sync -----------------------------------------------------------------

    @classmethod
    def _check_consent(cls, incoming: dict[str, Any]) -> None:
        """A new appeal from a post carries the ИДС, given as the rules require."""
        patient = Patient.get_or_none(Patient.id == incoming.get("patient"))
        created = incoming.get("created_at")
        # Checked against the appeal's own creation time: it may arrive days later.
        cls.check_consent(
            patient,
            str(incoming.get("consent_by") or ""),
            str(incoming.get("consent_name") or ""),
            incoming.get("consent_at"),
            created if isinstance(created, datetime) else None,
        )

    @classmethod
    def merge_remote(cls, local: Self | None, incoming: dict[str, Any], from_central: bool) -> dict[str, Any]:
        """Status only moves forward; a post may create and cancel, central decides the rest."""
        if local is None:
            if not from_central and incoming["status"] not in (
                AppealStatus.NEW,
                AppealStatus.CANCELLED,
            ):
                incoming = {**incoming, "status": AppealStatus.NEW}
            if not from_central:
                # The booking rule (`domain.booking`) is the contract's check of a new appeal.
                cls._check_consent(incoming)
            return incoming
        merged = dict(incoming)
        if not from_central:
            # The post owns the request; central's decisions stay as they are,
            # except a cancel that arrives while the appeal is still new.
            for name in cls.CENTRAL_FIELDS:
                merged[name] = local.__data__.get(name)
            if incoming["status"] == AppealStatus.CANCELLED and local.status == AppealStatus.NEW:
                merged["status"] = AppealStatus.CANCELLED
        elif AppealStatus.RANK[incoming["status"]] < AppealStatus.RANK[local.status]:
            for name in cls.CENTRAL_FIELDS + ("cancelled_at",):
                merged[name] = local.__data__.get(name)
        return merged


_ICD10 = re.compile(r"^[A-Z]\d{2}(\.\d{1,2})?$")


class Protocol(OwnedByPost, SyncModel):
    """The consultant's conclusion; sending it closes the appeal."""

    POST_PATH = ("appeal", "post")

    appeal = ForeignKeyField(Appeal, backref="protocols", unique=True)
    consultant = ForeignKeyField(Staff, backref="protocols")
    anamnesis = TextField(default="")
    recommendations = TextField()
    additional_recommendations = TextField(default="")
    sent_at = DateTimeField(default=utcnow)

    appeal_id: str
    consultant_id: str
    diagnoses: Any

    def validate(self) -> None:
        if not (self.recommendations or "").strip():
            raise ValidationError(N_("Заполните поле «Рекомендации»"), field="recommendations")

    def conclusion(self) -> list[Diagnosis]:
        """The live diagnoses in a conclusion's order: the main one, its complications, the concomitant."""
        order = {DiagnosisRole.MAIN: 0, DiagnosisRole.COMPLICATION: 1, DiagnosisRole.CONCOMITANT: 2}
        rows = Diagnosis.live().where(Diagnosis.protocol == self.id).order_by(Diagnosis.hlc, Diagnosis.id)
        return sorted(rows, key=lambda d: order.get(d.role, len(order)))

    @classmethod
    def send(
        cls,
        appeal: Appeal,
        consultant: Staff,
        *,
        anamnesis: str,
        recommendations: str,
        additional_recommendations: str = "",
        diagnoses: Sequence[Sequence[str]] = (),
        now: datetime | None = None,
    ) -> Self:
        """«Отправить протокол»: store the protocol and its diagnoses and close the appeal.

        Each diagnosis is (code, title, role), or (code, title) with the role by position
        (the first main, the others concomitant). Codes must be diagnoses of the national
        МКБ-10 (in force, most detailed level), exactly one of them the main one.
        """
        now = now or utcnow()
        if appeal.status != AppealStatus.IN_WORK:
            raise LifecycleError(N_("Протокол можно отправить только по обращению в работе"))
        if appeal.taken_by_id != consultant.id:
            raise LifecycleError(N_("Протокол отправляет консультант, взявший обращение в работу"))
        if not (recommendations or "").strip():
            raise ValidationError(N_("Заполните поле «Рекомендации»"), field="recommendations")
        checked = [
            Diagnosis.check(row[0], row[1], (row[2:3] or [""])[0] or Diagnosis.role_by_position(number))
            for number, row in enumerate(diagnoses)
        ]
        for code, _, _ in checked:
            icd10.require_diagnosis(code)
        DiagnosisRole.check_roles([role for _, _, role in checked])
        with cls._meta.database.atomic():
            protocol = cls.create(
                appeal=appeal,
                consultant=consultant,
                anamnesis=anamnesis.strip(),
                recommendations=recommendations.strip(),
                additional_recommendations=additional_recommendations.strip(),
                sent_at=now,
            )
            for code, title, role in checked:
                Diagnosis.create(protocol=protocol, code=code, title=title, role=role)
            appeal.status = AppealStatus.CLOSED
            appeal.closed_at = now
            appeal.save()
        return protocol


class DiagnosisRole:
    """A diagnosis's place in the conclusion: exactly one main, any others."""

    MAIN = "main"  # основной
    CONCOMITANT = "concomitant"  # сопутствующий
    COMPLICATION = "complication"  # осложнение основного
    ALL = (MAIN, CONCOMITANT, COMPLICATION)

    @classmethod
    def check_roles(cls, roles: Sequence[str]) -> None:
        """A protocol with diagnoses names exactly one of them the main one."""
        mains = sum(1 for role in roles if role == cls.MAIN)
        if roles and mains != 1:
            raise ValidationError(
                N_("Основной диагноз должен быть ровно один (сейчас: %(count)s)"),
                field="diagnoses",
                count=mains,
            )


class Diagnosis(OwnedByPost, SyncModel):
    """An ICD-10 diagnosis in a protocol («Добавьте заболевания»)."""

    POST_PATH = ("protocol", "appeal", "post")

    protocol = ForeignKeyField(Protocol, backref="diagnoses")
    code = CharField(max_length=8)
    title = CharField(max_length=500, default="")
    role = CharField(max_length=16, default=DiagnosisRole.MAIN)

    @staticmethod
    def check(code: str, title: str, role: str = DiagnosisRole.MAIN) -> tuple[str, str, str]:
        """The shape of a diagnosis: a code that looks like МКБ-10, and a known role.

        Whether the code is a diagnosis in force is checked when a protocol is sent, not
        here: rows of protocols sent under an older edition must still replicate.
        """
        code = (code or "").strip().upper().replace(",", ".")
        if not _ICD10.match(code):
            raise ValidationError(
                N_("«%(code)s» не похоже на код МКБ-10 (пример: I10 или J45.0)"),
                field="diagnoses",
                code=code,
            )
        if role not in DiagnosisRole.ALL:
            raise ValidationError(
                N_("Укажите роль диагноза: основной, сопутствующий или осложнение основного"),
                field="diagnoses",
            )
        return code, (title or "").strip(), role

    @staticmethod
    def role_by_position(number: int) -> str:
        """The role of a diagnosis given without one: the first is main, the others concomitant."""
        return DiagnosisRole.MAIN if number == 0 else DiagnosisRole.CONCOMITANT

    def validate(self) -> None:
        self.code, self.title, self.role = self.check(self.code, self.title, self.role)


class AttachmentKind:
    FILE = "file"
    PHOTO = "photo"  # taken with the kiosk's webcam
    PROTOCOL_PDF = "protocol_pdf"
    SIGNED_PROTOCOL = "signed_protocol"  # the signed protocol PDF: PAdES inside, or stamped for a .p7s
    PROTOCOL_FILE = "protocol_file"  # a file the consultant adds to the protocol
    CONSENT = "consent"  # a photo or scan of the signed ИДС form
    # The detached CMS signature (.p7s, DER) of the signed protocol PDF, made at central
    # by a GOST or external signer. "protocol_sig", not "protocol_signature": the kind
    # column is 16 characters wide.
    PROTOCOL_SIGNATURE = "protocol_sig"
    ALL = (FILE, PHOTO, PROTOCOL_PDF, SIGNED_PROTOCOL, PROTOCOL_FILE, CONSENT, PROTOCOL_SIGNATURE)


class Attachment(SyncModel):
    """A file's metadata; the bytes live in the content-addressed blob store."""

    appeal = ForeignKeyField(Appeal, null=True, backref="attachments")
    # Exams are defined after attachments (they need Appeal): resolved by name.
    exam = DeferredForeignKey("Exam", null=True, backref="attachments")
    kind = CharField(max_length=16, default=AttachmentKind.FILE)
    filename = CharField(max_length=255)
    content_type = CharField(max_length=100)
    size = BigIntegerField()
    sha256 = CharField(max_length=64, index=True)
    uploaded_by = ForeignKeyField(Staff, null=True, backref="attachments")
    created_at = DateTimeField(default=utcnow)

    appeal_id: str | None
    exam_id: str | None

    def validate(self) -> None:
        if not self.appeal_id and not self.exam_id:
            raise ValidationError(N_("Файл должен относиться к обращению или обследованию"))
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256 or ""):
            raise ValidationError(N_("Некорректная контрольная сумма файла"), field="sha256")
        if self.kind not in AttachmentKind.ALL:
            raise ValidationError(N_("Неизвестный тип вложения"), field="kind")
        if self.size is None or self.size < 0:
            raise ValidationError(N_("Некорректный размер файла"), field="size")

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        # Exams are defined after attachments (their module imports this one): the resolved
        # foreign key names the model without an import going back up.
        Exam = cls._meta.fields["exam"].rel_model

        return cls.appeal.in_(Appeal.select(Appeal.id).where(Appeal.post == organization_id)) | (
            cls.exam.in_(Exam.select(Exam.id).where(Exam.post == organization_id))
        )

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        Exam = cls._meta.fields["exam"].rel_model
        of_appeals = cls.select(cls.id, Appeal.post).join(Appeal).where(cls.id.in_(ids))
        of_exams = cls.select(cls.id, Exam.post).join(Exam, on=(cls.exam == Exam.id)).where(cls.id.in_(ids))
        return of_appeals | of_exams
