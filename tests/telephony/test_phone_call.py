"""«Аудиозвонок на телефон» against real SIP phones (sipp): the consultant's phone rings first,
then the patient's, which sees only the centre's number; each call leaves a call log row."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from central.telephony.store import ConsultantPhone, TelephonySettings, open_password
from domain.errors import ValidationError
from domain.models import Appeal, CallLog, CallOutcome, Patient
from sync.changes import collect_changes
from sync.clock import utcnow
from tests.helpers.chat import in_work
from tests.helpers.timing import DEADLINE_S, ManualClock, wait_until
from tests.helpers.web import login
from tests.telephony.sipp import CENTRE_NUMBER, CONSULTANT_NUMBER, Phone, free_udp_port

PATIENT = "Кузьмин Пётр Васильевич@1"


@pytest.fixture
def phones(tmp_path: Path) -> Iterator[Callable[[str, str], Phone]]:
    started: list[Phone] = []

    def start(scenario: str, name: str) -> Phone:
        phone = Phone(scenario, tmp_path, name)
        started.append(phone)
        return phone.wait_ready()

    yield start
    for phone in started:
        phone.stop()


def telephony_form(
    token: str, *, port: int, username: str, password: str, host: str = "127.0.0.1"
) -> dict[str, str]:
    return {
        "csrf_token": token,
        "kind": "sip",
        "transport": "udp",
        "host": host,
        "port": str(port),
        "username": username,
        "password": password,
        "caller_id": "+7 (4822) 00-00-00",
        "ring_timeout": "15",
    }


def configure(app, data, *, port: int, username: str = "", password: str = "", host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    """The administrator fills in «Телефония» for the demo centre."""
    # How long «Аудиозвонок на телефон» waits for a quick failure before answering: a ceiling
    # (it answers as soon as the phone rings or the call has failed), so a busy machine's
    # slow failure is still told at once rather than found on the next look at the page.
    app.config["TELEPHONY_START_WAIT"] = DEADLINE_S
    admin = app.test_client()
    token = login(admin, "admin")
    saved = admin.post(
        f"/admin/telephony?centre={data.centre_id}",
        data=telephony_form(token, port=port, username=username, password=password, host=host),
        follow_redirects=True,
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert "сохранена" in saved.get_data(as_text=True)
    return admin, token


def consultant(app, phone: str):  # type: ignore[no-untyped-def]
    """Иванова logs in and gives her own phone in «Профиль»."""
    client = app.test_client()
    token = login(client, "ivanova")
    if phone:
        page = client.post(
            "/profile/phone", data={"csrf_token": token, "phone": phone}, follow_redirects=True
        )
        assert "Ваш телефон для звонков сохранён" in page.get_data(as_text=True)
    return client, token


def wait_for(client, call_id: str, state: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The call as the consultant's page polls it, once it is in `state`."""

    def call_if_there() -> dict | None:  # type: ignore[type-arg]
        call = client.get(f"/api/v1/phone-calls/{call_id}").get_json()
        return call if call["state"] == state else None

    return wait_until(call_if_there, f"the phone call to be {state!r}")


def phone_logs(appeal: Appeal) -> list[CallLog]:
    return list(CallLog.select().where((CallLog.appeal == appeal.id) & (CallLog.mode == "phone")))


def test_the_patient_sees_the_centre_number_and_both_phones_hang_up(central_app, phones, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    clock = ManualClock(start=utcnow())  # the call's own times: its talk lasts as long as we say
    monkeypatch.setattr("central.telephony.gateway.utcnow", clock.utcnow)
    consultant_phone = phones("consultant_phone.xml", "consultant")
    patient_phone = phones("patient_phone.xml", "patient")
    configure(app, data, port=patient_phone.port)
    client, token = consultant(app, consultant_phone.uri)
    appeal = in_work(data)

    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert re.search(r"<button type=\"submit\" >Аудиозвонок на телефон</button>", page), page

    started = client.post(f"/api/v1/appeals/{appeal.id}/phone-calls", headers={"X-CSRF-Token": token})
    assert started.status_code == 202, started.get_json()
    call = wait_for(client, started.get_json()["id"], "connected")
    assert call["state_label"] == "Идёт разговор"
    during = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Идёт разговор" in during and "Завершить звонок" in during
    again = client.post(f"/api/v1/appeals/{appeal.id}/phone-calls", headers={"X-CSRF-Token": token})
    assert again.status_code == 409 and again.get_json()["message"] == "Звонок по этому обращению уже идёт"

    clock.advance(75)  # a minute and a quarter of talk
    ended = client.post(f"/api/v1/phone-calls/{call['id']}/hang-up", headers={"X-CSRF-Token": token})
    assert ended.status_code == 200 and ended.get_json()["state"] == "ended"
    assert ended.get_json()["outcome"] == "completed" and ended.get_json()["duration_s"] == 75

    assert consultant_phone.finish() == 0, consultant_phone.problems()
    assert patient_phone.finish() == 0, patient_phone.problems()

    # Leg A: the consultant's phone was called without SDP and made the offer in its 200 OK.
    (invite_a,) = consultant_phone.received("INVITE")
    assert invite_a.body == ""
    (ok_a,) = {m.text: m for m in consultant_phone.sent("200") if "application/sdp" in m.text}.values()
    # Leg B: the patient's phone got that very offer, from the centre's number only.
    (invite_b,) = patient_phone.received("INVITE")
    assert invite_b.body == ok_a.body and "s=consultant-offer-" in invite_b.body
    assert f"sip:{CENTRE_NUMBER}@" in invite_b.header("From")
    assert f"sip:{CENTRE_NUMBER}@" in invite_b.header("P-Asserted-Identity")
    for message in patient_phone.messages():
        assert CONSULTANT_NUMBER.lstrip("+") not in message.text
    # The patient's answer reached the consultant's phone in the ACK.
    (ok_b,) = {m.text: m for m in patient_phone.sent("200") if "application/sdp" in m.text}.values()
    acks_a = consultant_phone.received("ACK")
    assert acks_a and acks_a[0].body == ok_b.body and "s=patient-answer-" in acks_a[0].body
    assert patient_phone.received("ACK")[0].body == ""
    # «Завершить звонок» ended both.
    assert consultant_phone.received("BYE") and patient_phone.received("BYE")

    (row,) = phone_logs(appeal)
    assert (row.outcome, row.caller.id, row.detail) == (
        CallOutcome.COMPLETED,
        data.consultants["ivanova"],
        "",
    )
    assert row.duration_s == 75 and row.ended_at == clock.utcnow()
    # A replicated row: the post gets it with its next pull.
    to_post, _ = collect_changes(0, 1_000_000, scope_org=data.posts[0][0])
    assert any(r.id == row.id for r in to_post)


def test_the_trunk_asks_for_credentials_and_the_patient_hangs_up_first(central_app, phones) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    consultant_phone = phones("consultant_phone.xml", "consultant")
    patient_phone = phones("patient_phone_auth.xml", "patient")
    configure(app, data, port=patient_phone.port, username="centre", password="s3cret")
    client, token = consultant(app, consultant_phone.uri)
    appeal = in_work(data)

    started = client.post(f"/api/v1/appeals/{appeal.id}/phone-calls", headers={"X-CSRF-Token": token})
    assert started.status_code == 202, started.get_json()
    call = wait_for(client, started.get_json()["id"], "ended")
    assert call["outcome"] == "completed" and call["message"] is None

    assert patient_phone.finish() == 0, patient_phone.problems()
    assert consultant_phone.finish() == 0, consultant_phone.problems()
    first, second = patient_phone.received("INVITE")
    assert "Authorization" not in first.head
    assert second.header("Authorization").startswith('Digest username="centre", realm="trunk.example"')
    assert patient_phone.sent("BYE") and consultant_phone.received("BYE")
    (row,) = phone_logs(appeal)
    assert row.outcome == CallOutcome.COMPLETED and row.duration_s >= 1


def test_wrong_sip_password_is_said_plainly(central_app, phones) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    consultant_phone = phones("consultant_phone.xml", "consultant")
    patient_phone = phones("patient_phone_auth.xml", "patient")
    configure(app, data, port=patient_phone.port, username="centre", password="not-it")
    client, token = consultant(app, consultant_phone.uri)
    appeal = in_work(data)

    # The consultant answers first; the trunk refuses the credentials when the patient is dialled.
    started = client.post(f"/api/v1/appeals/{appeal.id}/phone-calls", headers={"X-CSRF-Token": token})
    assert started.status_code == 202, started.get_json()
    call = wait_for(client, started.get_json()["id"], "ended")
    assert call["outcome"] == "failed" and call["message"] == (
        "SIP-сервер не принял логин и пароль телефонии центра: проверьте их на странице «Телефония»"
    )
    assert consultant_phone.finish() == 0, consultant_phone.problems()  # answered, then ACKed and hung up
    assert patient_phone.finish() != 0  # the scenario fails on purpose after its 403
    (row,) = phone_logs(appeal)
    assert row.outcome == CallOutcome.FAILED and "логин и пароль" in row.detail


def test_a_busy_patient_line_is_reported_and_logged(central_app, phones) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    consultant_phone = phones("consultant_phone.xml", "consultant")
    patient_phone = phones("patient_busy.xml", "patient")
    configure(app, data, port=patient_phone.port)
    client, token = consultant(app, consultant_phone.uri)
    appeal = in_work(data)

    # The button on the page, without JavaScript: the consultant's phone rings at once.
    page = client.post(
        f"/appeals/{appeal.id}/phone-call", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Звоним на ваш телефон: ответьте, и вас соединят с пациентом" in page
    # Once it has ended (the page reloads itself then), it says why the patient was not reached.
    wait_until(
        lambda: client.get(f"/api/v1/appeals/{appeal.id}/phone-call").get_json()["call"] is None,
        "the call to end",
    )
    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert (
        '<span class="flash flash-error" role="status">Номер пациента занят: позвоните позже</span>' in page
    )
    assert re.search(r"<button type=\"submit\" >Аудиозвонок на телефон</button>", page)  # may call again

    assert patient_phone.finish() == 0, patient_phone.problems()  # its 486 was ACKed
    assert consultant_phone.finish() == 0, consultant_phone.problems()
    # The consultant's phone got an answer that declines its streams, then BYE.
    (ack,) = consultant_phone.received("ACK")
    assert re.search(r"^m=audio 0 RTP/AVP", ack.body, re.MULTILINE)
    assert consultant_phone.received("BYE")
    (row,) = phone_logs(appeal)
    assert row.outcome == CallOutcome.DECLINED and row.detail == "Номер пациента занят: позвоните позже"
    assert row.duration_s == 0


def test_hanging_up_while_the_consultant_phone_rings_cancels_it(central_app, phones) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    consultant_phone = phones("consultant_no_answer.xml", "consultant")
    configure(app, data, port=free_udp_port())  # the patient is never dialled
    client, token = consultant(app, consultant_phone.uri)
    appeal = in_work(data)

    started = client.post(f"/api/v1/appeals/{appeal.id}/phone-calls", headers={"X-CSRF-Token": token})
    assert started.status_code == 202 and started.get_json()["state"] == "calling_consultant"
    assert started.get_json()["state_label"] == "Звоним на ваш телефон: ответьте на звонок"
    ended = client.post(
        f"/api/v1/phone-calls/{started.get_json()['id']}/hang-up", headers={"X-CSRF-Token": token}
    )
    assert ended.get_json()["state"] == "ended" and ended.get_json()["message"] == "Звонок отменён"

    assert consultant_phone.finish() == 0, consultant_phone.problems()  # CANCEL came, its 487 was ACKed
    (cancel,) = consultant_phone.received("CANCEL")
    (invite,) = consultant_phone.received("INVITE")
    assert cancel.header("Via") == invite.header("Via")  # the same transaction
    (row,) = phone_logs(appeal)
    assert row.outcome == CallOutcome.FAILED and row.detail == "Звонок отменён"


def test_an_unreachable_gateway_is_said_plainly(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    closed = free_udp_port()  # nothing listens: the kernel answers ICMP port unreachable
    configure(app, data, port=closed)
    client, token = consultant(app, "8 916 123-45-67")
    appeal = in_work(data)

    refused = client.post(f"/api/v1/appeals/{appeal.id}/phone-calls", headers={"X-CSRF-Token": token})
    assert refused.status_code == 502
    assert refused.get_json()["message"] == (
        f"SIP-сервер 127.0.0.1:{closed} не отвечает: проверьте адрес на странице «Телефония» "
        "и связь центра с ним"
    )
    (row,) = phone_logs(appeal)
    assert row.outcome == CallOutcome.FAILED and f"127.0.0.1:{closed}" in row.detail


def test_a_silent_gateway_gets_retransmissions_then_a_clear_error(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    app.config["TELEPHONY_SIP_T1"] = 0.05  # Timer B = 64·T1 = 3.2 s: room for a busy machine's delays
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        configure(app, data, port=silent.getsockname()[1])
        client, token = consultant(app, "+79161234567")
        appeal = in_work(data)

        refused = client.post(f"/api/v1/appeals/{appeal.id}/phone-calls", headers={"X-CSRF-Token": token})
        assert refused.status_code == 502 and "не отвечает" in refused.get_json()["message"]
        # The answer comes once Timer B has given up: every INVITE was sent before it.
        silent.setblocking(False)
        invites = []
        while True:
            try:
                invites.append(silent.recv(65535))
            except BlockingIOError:
                break
    # Timer A: the same INVITE again and again, doubling the interval (0.05, 0.1 … 1.6 s).
    assert len(invites) >= 5 and len(set(invites)) == 1
    assert invites[0].startswith(b"INVITE sip:+79161234567@127.0.0.1")
    assert phone_logs(appeal)[0].outcome == CallOutcome.FAILED


def test_without_a_gateway_the_button_says_why(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client, token = consultant(app, "+79161234567")
    appeal = in_work(data)

    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    reason = "Телефония для центра не настроена: обратитесь к администратору"
    assert re.search(r"<button type=\"submit\" disabled[^>]*>Аудиозвонок на телефон</button>", page)
    assert f'<span class="muted" id="phone-call-reason">{reason}</span>' in page
    offer = client.get(f"/api/v1/appeals/{appeal.id}/phone-call").get_json()
    assert offer == {"available": False, "reason": reason, "call": None}
    refused = client.post(f"/api/v1/appeals/{appeal.id}/phone-calls", headers={"X-CSRF-Token": token})
    assert refused.status_code == 409 and refused.get_json()["message"] == reason
    assert phone_logs(appeal) == []


def test_without_own_or_patient_number_the_button_says_why(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    configure(app, data, port=5060)
    client, _ = consultant(app, "")
    appeal = in_work(data)
    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "disabled" in page and "Укажите свой номер телефона в «Профиле»" in page

    consultant(app, "+79161234567")
    Patient.update(phone=None, snils="10233445566").where(Patient.id == data.patients[PATIENT]).execute()
    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "У пациента не указан номер телефона" in page

    # Someone else's appeal: no button at all.
    other = in_work(data, "smirnov")
    assert "Аудиозвонок на телефон" not in client.get(f"/appeals/{other.id}").get_data(as_text=True)


def test_the_sip_password_is_never_shown_back(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    admin, token = configure(app, data, port=5062, username="centre", password="s3cret-word")
    page = admin.get(f"/admin/telephony?centre={data.centre_id}").get_data(as_text=True)
    assert "s3cret-word" not in page and "сохранён; оставьте пустым, чтобы не менять" in page
    assert 'value="5062"' in page and 'value="+74822000000"' in page
    # Saved again with the password left blank: the stored one stays.
    configure(app, data, port=5062, username="centre", password="")
    stored = TelephonySettings.get_by_id(data.centre_id).password
    # Sealed with the data directory's key: the database alone does not give it away.
    assert stored.startswith("fernet:") and "s3cret" not in stored
    key_file = Path(app.config["DATA_DIR"]) / "sealing_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert open_password(key_file.read_bytes().strip(), stored) == "s3cret-word"
    with pytest.raises(ValidationError, match="введите его заново"):
        open_password(Fernet.generate_key(), stored)  # another centre's key, or a lost one
    long = admin.post(
        f"/admin/telephony?centre={data.centre_id}",
        data=telephony_form(token, port=5062, username="centre", password="x" * 101),
    )
    assert long.status_code == 400 and "не длиннее 100 символов" in long.get_data(as_text=True)
    assert TelephonySettings.get_by_id(data.centre_id).password == stored
    bad = admin.post(
        f"/admin/telephony?centre={data.centre_id}",
        data={"csrf_token": token, "host": "sip:bad host", "port": "5060", "caller_id": "+74822000000"},
    )
    assert bad.status_code == 400 and "Укажите адрес SIP-сервера" in bad.get_data(as_text=True)
    consultant_client, _ = consultant(app, "")
    assert consultant_client.get("/admin/telephony").status_code == 403


def test_the_consultant_keeps_a_number_or_a_sip_address_in_the_profile(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client, token = consultant(app, "8 (916) 123-45-67")
    me = data.consultants["ivanova"]
    assert ConsultantPhone.get_by_id(me).phone == "+79161234567"
    page = client.get("/profile/").get_data(as_text=True)
    assert 'value="+79161234567"' in page and "Телефон для звонков пациентам" in page
    wrong = client.post("/profile/phone", data={"csrf_token": token, "phone": "12"}, follow_redirects=True)
    assert "Номер телефона «12» не похож на российский" in wrong.get_data(as_text=True)
    client.post("/profile/phone", data={"csrf_token": token, "phone": "sip:101@pbx.example.ru"})
    assert ConsultantPhone.get_by_id(me).phone == "sip:101@pbx.example.ru"


def test_an_office_number_is_dialled_without_its_extension(central_app, phones) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    consultant_phone = phones("consultant_phone.xml", "consultant")
    patient_phone = phones("patient_busy.xml", "patient")
    configure(app, data, port=patient_phone.port)
    client, token = consultant(app, consultant_phone.uri)
    appeal = in_work(data)
    patient = Patient.get_by_id(appeal.patient_id)
    patient.phone = "+7 495 123-45-67 доб. 123"  # the patient's desk in an office
    patient.validate()
    patient.save()
    assert patient.phone == "+74951234567;ext=123"

    started = client.post(f"/api/v1/appeals/{appeal.id}/phone-calls", headers={"X-CSRF-Token": token})
    assert started.status_code == 202, started.get_json()
    wait_for(client, started.get_json()["id"], "ended")
    assert patient_phone.finish() == 0, patient_phone.problems()
    assert consultant_phone.finish() == 0, consultant_phone.problems()
    # The trunk is asked for the number; the consultant asks the operator for the extension.
    (invite,) = patient_phone.received("INVITE")
    assert invite.text.startswith("INVITE sip:+74951234567@") and "ext=" not in invite.text
