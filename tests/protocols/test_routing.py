"""«Маршрутизация»: «Создание направления» and «Запись на консультацию» reach the post."""

from __future__ import annotations

from datetime import date, timedelta

from domain.models import Appeal, AppealKind, AppealStatus, Referral, Slot, Specialty, Staff
from sync.changes import collect_changes
from sync.clock import utcnow
from tests.helpers.appeals import closed, in_work, login_page, new_appeal
from tests.helpers.data import rows


def _pulled_by(post_id: str) -> set[str]:
    pulled, more = collect_changes(0, 1_000_000, scope_org=post_id)
    assert not more
    return {row.id for row in pulled}


def test_a_referral_to_a_specialty_without_end_date_reaches_the_post(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    assert "Маршрутизация" in client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    menu = client.get(f"/appeals/{appeal.id}/routing").get_data(as_text=True)
    assert "Создание направления" in menu and "Запись на консультацию" in menu
    form = client.get(f"/appeals/{appeal.id}/routing/referral").get_data(as_text=True)
    assert "Выбрать врача" in form and "Бессрочно" in form

    neurology = Specialty.get(Specialty.name == "Неврология")
    fields = {
        "csrf_token": token,
        "specialty": neurology.id,
        "consultant": "",
        "indefinite": "1",
        "diagnoses": "G45.9 — ТИА?",
        "justification": "Эпизоды онемения левой руки, исключить ТИА",
    }
    review = client.post(f"/appeals/{appeal.id}/routing/referral", data={**fields, "step": "review"})
    html = review.get_data(as_text=True)
    assert review.status_code == 200 and "Информация верна, создать направление" in html
    assert "Неврология" in html and "любой врач специальности" in html and "Бессрочно" in html
    assert rows(Referral) == 0

    created = client.post(
        f"/appeals/{appeal.id}/routing/referral", data={**fields, "step": "create"}, follow_redirects=True
    )
    assert "Направление создано" in created.get_data(as_text=True)
    referral = Referral.get()
    assert referral.specialty_id == neurology.id and referral.consultant_id is None
    assert referral.valid_until is None and referral.source_appeal_id == appeal.id
    assert referral.post_id == data.posts[0][0] and referral.patient_id == appeal.patient_id
    assert referral.id in _pulled_by(data.posts[0][0])
    assert referral.id not in _pulled_by(data.posts[1][0])
    assert "Эпизоды онемения левой руки" in client.get(f"/appeals/{appeal.id}/routing").get_data(as_text=True)


def test_a_referral_to_a_chosen_doctor_until_a_date(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = in_work(client, data)  # in work is enough, no need to close first
    doctor = Staff.get_by_id(data.consultants["sokolova"])
    until = date.today() + timedelta(days=30)
    fields = {
        "csrf_token": token,
        "specialty": doctor.specialty_id,
        "consultant": doctor.id,
        "valid_until": until.isoformat(),
        "justification": "Гликемия натощак 8,2 ммоль/л",
        "step": "create",
    }
    created = client.post(f"/appeals/{appeal.id}/routing/referral", data=fields)
    assert created.status_code == 302
    referral = Referral.get()
    assert referral.consultant_id == doctor.id and referral.valid_until == until


def test_a_wrong_referral_is_refused_and_nothing_stored(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    neurology = Specialty.get(Specialty.name == "Неврология")
    base = {"csrf_token": token, "specialty": neurology.id, "indefinite": "1", "justification": "Обоснование"}
    cases = [
        ({"specialty": ""}, "Выберите специальность врача"),
        ({"indefinite": "", "valid_until": ""}, "или отметьте «Бессрочно»"),
        ({"indefinite": "", "valid_until": (date.today() - timedelta(days=2)).isoformat()}, "уже прошёл"),
        ({"consultant": data.consultants["ivanova"]}, "не ведёт приём по специальности «Неврология»"),
        ({"justification": "  "}, "Укажите обоснование направления"),
    ]
    for change, message in cases:
        for step in ("review", "create"):
            refused = client.post(
                f"/appeals/{appeal.id}/routing/referral", data={**base, **change, "step": step}
            )
            assert refused.status_code == 400, change
            assert message in refused.get_data(as_text=True), change
    assert rows(Referral) == 0


def test_booking_another_consultant_creates_a_new_appeal_for_the_post(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    other = Staff.get_by_id(data.consultants["smirnov"])
    page = client.get(f"/appeals/{appeal.id}/routing/booking").get_data(as_text=True)
    assert "Изменить дату и время" in page and "(к себе)" in page
    listed = client.get(f"/appeals/{appeal.id}/routing/booking", query_string={"consultant": other.id})
    slot = (
        Slot.select()
        .where((Slot.consultant == other.id) & (Slot.starts_at > utcnow() + timedelta(hours=1)))
        .order_by(Slot.starts_at)
        .first()
    )
    assert slot.id in listed.get_data(as_text=True)
    fields = {
        "csrf_token": token,
        "consultant": other.id,
        "slot": slot.id,
        "question": "Контроль АД через месяц после смены терапии",
        "consent_by": "patient",  # the ИДС to the new consultation
    }
    review = client.post(f"/appeals/{appeal.id}/routing/booking", data={**fields, "step": "review"})
    assert "Информация верна, создать обращение" in review.get_data(as_text=True)
    before = rows(Appeal)
    created = client.post(
        f"/appeals/{appeal.id}/routing/booking", data={**fields, "step": "create"}, follow_redirects=True
    )
    assert "Обращение создано: Смирнов Алексей Викторович" in created.get_data(as_text=True)
    assert rows(Appeal) == before + 1
    booked = Appeal.get(Appeal.slot == slot.id)
    assert booked.status == AppealStatus.NEW and booked.kind == AppealKind.REPEAT
    assert booked.patient_id == appeal.patient_id and booked.post_id == appeal.post_id
    assert booked.consultant_id == other.id and booked.author_id == data.consultants["ivanova"]
    assert booked.id in _pulled_by(data.posts[0][0]) and booked.id not in _pulled_by(data.posts[1][0])

    # The slot is taken now: booking it again is refused, and nothing more is stored.
    again = client.post(f"/appeals/{appeal.id}/routing/booking", data={**fields, "step": "create"})
    assert again.status_code == 400 and "Выберите свободные дату и время" in again.get_data(as_text=True)
    assert rows(Appeal) == before + 1


def test_booking_oneself_needs_a_time_and_a_text(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    me = data.consultants["ivanova"]
    before = rows(Appeal)
    no_slot = client.post(
        f"/appeals/{appeal.id}/routing/booking",
        data={"csrf_token": token, "consultant": me, "question": "x", "step": "review"},
    )
    assert no_slot.status_code == 400 and "Выберите свободные дату и время" in no_slot.get_data(as_text=True)
    slot = Slot.select().where((Slot.consultant == me) & (Slot.starts_at > utcnow())).order_by(Slot.starts_at)
    free = next(s for s in slot if not Appeal.slot_taken(s.id))
    no_text = client.post(
        f"/appeals/{appeal.id}/routing/booking",
        data={"csrf_token": token, "consultant": me, "slot": free.id, "question": " ", "step": "create"},
    )
    assert no_text.status_code == 400 and "Заполните текст обращения" in no_text.get_data(as_text=True)
    assert rows(Appeal) == before


def test_routing_belongs_to_the_appeal_s_consultant(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    appeal, _ = closed(app.test_client(), data)
    fresh = new_appeal(data)
    client = app.test_client()
    login_page(client, "kuznetsova")
    assert client.get(f"/appeals/{appeal.id}/routing").status_code == 404
    admin = app.test_client()
    login_page(admin, "admin")
    assert admin.get(f"/appeals/{appeal.id}/routing").status_code == 403
    owner = app.test_client()
    login_page(owner, "ivanova")
    assert owner.get(f"/appeals/{fresh.id}/routing").status_code == 404  # still new
    assert "Маршрутизация" not in owner.get(f"/appeals/{fresh.id}").get_data(as_text=True)


def test_referral_and_booking_through_the_json_api(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    headers = {"X-CSRF-Token": token}
    neurology = Specialty.get(Specialty.name == "Неврология")
    refused = client.post(
        f"/api/v1/appeals/{appeal.id}/referrals", json={"specialty": neurology.id}, headers=headers
    )
    assert refused.status_code == 400 and refused.get_json()["field"] == "valid_until"
    made = client.post(
        f"/api/v1/appeals/{appeal.id}/referrals",
        json={"specialty": neurology.id, "indefinite": True, "justification": "Головокружение, шум в ушах"},
        headers=headers,
    )
    assert made.status_code == 201 and made.get_json()["valid_until"] is None
    assert made.get_json()["source_appeal"] == appeal.id and rows(Referral) == 1

    other = data.consultants["smirnov"]
    slot = next(s for s in Slot.select().where(Slot.consultant == other).order_by(Slot.starts_at.desc()))
    booked = client.post(
        f"/api/v1/appeals/{appeal.id}/bookings",
        json={
            "consultant": other,
            "slot": slot.id,
            "question": "Повторная консультация через месяц",
            "consent_by": "patient",
        },
        headers=headers,
    )
    assert booked.status_code == 201, booked.get_json()
    assert Appeal.get_by_id(booked.get_json()["id"]).slot_id == slot.id
    stranger = app.test_client()
    stranger_token = login_page(stranger, "kuznetsova")
    hidden = stranger.post(
        f"/api/v1/appeals/{appeal.id}/referrals",
        json={"specialty": neurology.id, "indefinite": True, "justification": "x"},
        headers={"X-CSRF-Token": stranger_token},
    )
    assert hidden.status_code == 404 and rows(Referral) == 1
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/appeals/{appeal_id}/referrals", "/api/v1/appeals/{appeal_id}/bookings"} <= set(paths)
