"""Russian labels (gettext msgids) for the domain's coded values."""

from __future__ import annotations

from flask import Flask

from i18n import N_

from .i18n import translate

__all__ = ["LABELS", "label", "init_labels"]

LABELS: dict[str, dict[str, str]] = {
    "form_of_care": {
        "emergency": N_("экстренная"),
        "urgent": N_("неотложная"),
        "planned": N_("плановая"),
    },
    "kind": {
        "primary": N_("первичная"),
        "repeat": N_("повторная"),
        "monitoring": N_("мониторинг"),
    },
    "contact_mode": {"video": N_("видео"), "audio": N_("аудио"), "chat": N_("чат")},
    "status": {
        "new": N_("Новое"),
        "in_work": N_("В работе"),
        "closed": N_("Закрыто"),
        "cancelled": N_("Отменено"),
    },
    "sex": {"male": N_("мужской"), "female": N_("женский")},
    "diagnosis_role": {
        "main": N_("основной"),
        "concomitant": N_("сопутствующий"),
        "complication": N_("осложнение основного"),
    },
    #: ACVPU (RCP, NEWS2 2017) as the kiosk's exam form lists it.
    "consciousness": {
        "A": N_("A — ясное"),
        "C": N_("C — впервые возникшая спутанность"),
        "V": N_("V — реагирует на голос"),
        "P": N_("P — реагирует на боль"),
        "U": N_("U — без реакции"),
    },
    "relation": {
        "mother": N_("мать"),
        "father": N_("отец"),
        "guardian": N_("опекун"),
        "trustee": N_("попечитель"),
        "adoptive": N_("усыновитель"),
        "other": N_("иной законный представитель"),
    },
    "consent_by": {"patient": N_("пациент"), "representative": N_("законный представитель")},
    "sync_state": {
        "idle": N_("на связи"),
        "syncing": N_("синхронизация…"),
        "offline": N_("нет связи с центром"),
        "error": N_("ошибка синхронизации"),
        "update_required": N_("требуется обновление"),
        "revoked": N_("доступ отозван — позвоните в поддержку"),
    },
}


def label(value: str | None, group: str) -> str:
    """The user-language label of a coded value (the code itself if unknown)."""
    if value is None:
        return ""
    text = LABELS.get(group, {}).get(value)
    return translate(text) if text else value


def init_labels(app: Flask) -> None:
    app.jinja_env.filters["label"] = label
