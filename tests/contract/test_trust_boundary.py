"""An attacker holding post 1's own node key, signing requests with it, against post 2 and central.

Each test is one thing that must never happen; each failed on the code before the contract.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from domain.models import (
    Appeal,
    AppealStatus,
    Attachment,
    AttachmentKind,
    ChatMessage,
    Patient,
)
from sync.clock import Stamp, utcnow
from sync.db import CENTRAL, replica
from sync.state import SyncEvent
from tests.contract.helpers import adult_patient, appeal_for, json_of, own_appeal, post_feldsher
from tests.helpers.data import rows

DAY_MS = 24 * 3600 * 1000


def test_a_post_cannot_push_an_appeal_for_another_posts_patient(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, attacker, victim = kiosks
    theirs = adult_patient(victim.post_id)
    before = rows(Appeal)
    record = attacker.wire(appeal_for(attacker, theirs.id, data.consultants["ivanova"]))
    answer = attacker.push(record)
    assert answer["applied"] == 0 and answer["refused"][0]["error"] == "out_of_scope"
    assert "patient" in answer["refused"][0]["message"]
    assert rows(Appeal) == before
    # The refusal is on record at central, and nothing of post 2's reaches post 1's pull.
    assert (
        SyncEvent.select()
        .where((SyncEvent.kind == "refused") & (SyncEvent.record_id == record["id"]))
        .exists()
    )
    pulled = attacker.pull_all()
    assert theirs.id not in {r["id"] for r in pulled}
    assert theirs.id not in {r["fields"].get("patient") for r in pulled}


def test_the_same_appeal_for_the_posts_own_patient_goes_in(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, kiosk, _ = kiosks
    record = own_appeal(kiosk, data)
    stored = Appeal.get_by_id(record["id"])
    assert stored.post_id == kiosk.post_id and stored.origin == kiosk.node_id


def test_a_post_cannot_write_chat_messages_in_a_consultants_name(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, kiosk, _ = kiosks
    appeal = own_appeal(kiosk, data)
    forged = kiosk.wire(
        ChatMessage(appeal=appeal["id"], author=data.consultants["ivanova"], text="Приезжайте")
    )
    answer = kiosk.push(forged)
    assert answer["applied"] == 0 and "author" in answer["refused"][0]["message"]
    assert not ChatMessage.select().where(ChatMessage.id == forged["id"]).exists()
    honest = kiosk.wire(
        ChatMessage(appeal=appeal["id"], author=post_feldsher(kiosk.post_id).id, text="Жду ответа")
    )
    assert kiosk.push(honest)["applied"] == 1


def test_a_chat_message_is_never_edited_by_a_post(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, kiosk, _ = kiosks
    appeal = own_appeal(kiosk, data)
    message = ChatMessage(appeal=appeal["id"], author=post_feldsher(kiosk.post_id).id, text="Первое")
    record = kiosk.wire(message)
    assert kiosk.push(record)["applied"] == 1
    edited = record | {"hlc": kiosk.clock.now(), "fields": record["fields"] | {"text": "Другое"}}
    answer = kiosk.push(edited)
    assert answer["applied"] == 0 and answer["refused"][0]["error"] == "out_of_scope"
    assert ChatMessage.get_by_id(record["id"]).text == "Первое"


def test_a_post_cannot_replace_the_protocol_pdf(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, kiosk, _ = kiosks
    appeal = own_appeal(kiosk, data)
    forged = Attachment(
        appeal=appeal["id"],
        kind=AttachmentKind.PROTOCOL_PDF,
        filename="protocol.pdf",
        content_type="application/pdf",
        size=4,
        sha256=hashlib.sha256(b"fake").hexdigest(),
        created_at=utcnow() + timedelta(minutes=5),
    )
    answer = kiosk.push(kiosk.wire(forged))
    assert answer["applied"] == 0 and "protocol_pdf" in answer["refused"][0]["message"]
    # A forged row already stored (from before the contract) is not the protocol either.
    stored = Appeal.get_by_id(appeal["id"])
    forged.origin, forged.changed_by, forged.hlc = kiosk.node_id, kiosk.node_id, kiosk.clock.now()
    forged.save(force_insert=True)
    Attachment.update(origin=kiosk.node_id).where(Attachment.id == forged.id).execute()
    assert stored.protocol_pdf() is None
    real = Attachment.create(
        appeal=appeal["id"],
        kind=AttachmentKind.PROTOCOL_PDF,
        filename="protocol.pdf",
        content_type="application/pdf",
        size=4,
        sha256=hashlib.sha256(b"real").hexdigest(),
    )
    assert real.origin == CENTRAL and stored.protocol_pdf().id == real.id  # type: ignore[union-attr]


def test_a_post_cannot_read_another_posts_file_by_its_hash(kiosks) -> None:  # type: ignore[no-untyped-def]
    app, data, attacker, victim = kiosks
    secret = "Выписка: Петров Пётр, СНИЛС 112-233-445 95".encode() * 50
    sha = hashlib.sha256(secret).hexdigest()
    theirs = own_appeal(victim, data)
    their_file = Attachment(
        appeal=theirs["id"], filename="выписка.txt", content_type="text/plain", size=len(secret), sha256=sha
    )
    assert victim.push(victim.wire(their_file))["applied"] == 1
    assert victim.upload(sha, secret).status_code == 200
    assert app.extensions["blobs"].has(sha)
    assert victim.fetch(sha).data == secret  # the post that sent it may read it back

    # The attacker claims the file on an appeal of its own: the record goes in (it is its own
    # attachment), but knowing the hash does not give the bytes, nor tell that they exist.
    mine = own_appeal(attacker, data)
    claim = Attachment(
        appeal=mine["id"], filename="x.txt", content_type="text/plain", size=len(secret), sha256=sha
    )
    assert attacker.push(attacker.wire(claim))["applied"] == 1
    fetched = attacker.fetch(sha)
    assert fetched.status_code == 403 and secret not in fetched.data
    asked = json_of(attacker.post_json("/sync/v1/blobs/missing", {"sha256": [sha]}))
    assert asked["missing"] == [sha] and asked["offsets"] == {}
    # Sending other bytes under that hash proves nothing and changes nothing.
    bogus = attacker.upload(sha, b"x" * len(secret))
    assert bogus.status_code == 400
    assert attacker.fetch(sha).status_code == 403
    assert app.extensions["blobs"].read(sha) == secret


def test_a_file_central_attached_in_the_posts_scope_is_readable(kiosks) -> None:  # type: ignore[no-untyped-def]
    app, data, kiosk, _ = kiosks
    appeal = own_appeal(kiosk, data)
    body = b"%PDF-1.7 protocol"
    sha = app.extensions["blobs"].put(body)
    Attachment.create(
        appeal=appeal["id"],
        kind=AttachmentKind.PROTOCOL_PDF,
        filename="protocol.pdf",
        content_type="application/pdf",
        size=len(body),
        sha256=sha,
    )
    assert kiosk.fetch(sha).data == body


def test_a_record_stamped_days_ahead_is_refused_and_does_not_drag_centrals_clock(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, kiosk, _ = kiosks
    patient = adult_patient(kiosk.post_id)
    before = Stamp.decode(replica().clock.now()).wall_ms
    record = kiosk.wire(appeal_for(kiosk, patient.id, data.consultants["ivanova"]))
    ahead = Stamp(before + 300 * DAY_MS, 0, kiosk.node_id).encode()
    answer = kiosk.push(record | {"hlc": ahead})
    assert answer["applied"] == 0 and answer["refused"][0]["error"] == "clock_ahead"
    assert "часы" in answer["refused"][0]["message"].lower()
    after = Stamp.decode(replica().clock.now()).wall_ms
    assert after - before < 60_000  # central's next change is stamped in central's time
    assert not Appeal.select().where(Appeal.id == record["id"]).exists()


def test_times_a_post_sets_may_not_run_ahead_of_central(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, kiosk, _ = kiosks
    patient = adult_patient(kiosk.post_id)
    late = utcnow() + timedelta(days=2)
    record = kiosk.wire(appeal_for(kiosk, patient.id, data.consultants["ivanova"], created_at=late))
    answer = kiosk.push(record)
    assert answer["applied"] == 0 and answer["refused"][0]["error"] == "clock_ahead"
    assert "created_at" in answer["refused"][0]["message"]


def test_an_appeals_patient_and_author_cannot_be_changed_by_a_post(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, kiosk, _ = kiosks
    record = own_appeal(kiosk, data)
    other = (
        Patient.select()
        .where((Patient.organization == kiosk.post_id) & (Patient.id != record["fields"]["patient"]))
        .first()
    )
    moved = record | {"hlc": kiosk.clock.now(), "fields": record["fields"] | {"patient": other.id}}
    answer = kiosk.push(moved)
    assert answer["applied"] == 0 and "patient" in answer["refused"][0]["message"]
    assert Appeal.get_by_id(record["id"]).patient_id == record["fields"]["patient"]


def test_a_post_cannot_take_its_own_appeal_in_work(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, kiosk, _ = kiosks
    record = own_appeal(kiosk, data)
    taken = record | {
        "hlc": kiosk.clock.now(),
        "fields": record["fields"] | {"status": AppealStatus.CLOSED, "taken_by": data.consultants["ivanova"]},
    }
    kiosk.push(taken)
    stored = Appeal.get_by_id(record["id"])
    assert stored.status == AppealStatus.NEW and stored.taken_by_id is None


def test_a_patient_of_another_post_cannot_be_created_or_moved_there(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, _, kiosk, victim = kiosks
    mine = adult_patient(kiosk.post_id)
    planted = Patient(
        last_name="Подложная",
        first_name="Анна",
        birth_date=mine.birth_date,
        sex=mine.sex,
        phone="+79160000001",
        organization=victim.post_id,
    )
    answer = kiosk.push(kiosk.wire(planted))
    assert answer["applied"] == 0 and answer["refused"][0]["error"] == "out_of_scope"
    assert not Patient.select().where(Patient.id == planted.id).exists()
