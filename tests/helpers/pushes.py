"""What a post pushes to central: patient records as a node sends them, applied in its scope."""

from __future__ import annotations

import uuid

from sync.apply import apply_records
from sync.clock import HybridClock

NODE = "post-node-1"
clock = HybridClock(NODE)


def patient_record(post_id: str, **fields):  # type: ignore[no-untyped-def]
    """A new patient card of post `post_id` as node NODE pushes it (`fields` override the card)."""
    values = {
        "last_name": "Морозова",
        "first_name": "Галина",
        "middle_name": "",
        "birth_date": "1961-05-07",
        "sex": "female",
        "snils": "11223344595",
        "enp": None,
        "phone": "+79161234567",
        "address": "",
        "organization": post_id,
        "representative": None,
        "representative_relation": "",
        "representative_name": "",
        "representative_document": "",
        "representative_phone": None,
    } | fields
    return {
        "model": "patient",
        "id": str(uuid.uuid4()),
        "origin": NODE,
        "changed_by": NODE,
        "hlc": clock.now(),
        "deleted": False,
        "fields": values,
    }


def push(records, post_id):  # type: ignore[no-untyped-def]
    """Central applies `records` as node NODE's push, in the scope of post `post_id`."""
    return apply_records(records, peer=NODE, from_central=False, scope_org=post_id)


def numbered_patient_record(post_id: str, n: int, **fields):  # type: ignore[no-untyped-def]
    """The n-th patient of a batch: a name and a phone of its own."""
    own = {
        "last_name": f"Петрова-{n}",
        "first_name": "Анна",
        "middle_name": "Ильинична",
        "birth_date": "1954-11-30",
        "snils": None,
        "phone": f"+7916{n:07d}",
        "address": "д. Заречье, ул. Лесная, 3",
    }
    return patient_record(post_id, **(own | fields))
