"""«Расписание», «Профиль», «Нужна помощь» and administration through central's pages (Flask client)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from domain.booking import book_appeal
from domain.models import (
    Organization,
    Patient,
    Region,
    ScheduleTemplate,
    Slot,
    Specialty,
    Staff,
    StaffCredential,
    SupportRequest,
)
from tests.helpers.web import login


def _next_monday(weeks_ahead: int = 3) -> date:
    today = date.today()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


def _template_form(token: str, start: date, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": token,
        "action": "save",
        "name": "Будни",
        "date_from": start.isoformat(),
        "date_to": (start + timedelta(days=4)).isoformat(),
        "first_time": "09:00",
        "last_time": "10:45",
        "slot_minutes": "30",
        "weekdays": ["1", "3", "5"],
        "cells": ["09:00", "09:30", "10:00"],
    }
    form.update(changes)
    return form


def _client(app, who: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    return client, login(client, who)


def test_a_consultant_creates_activates_and_sees_the_day_schedule(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client, token = _client(app, "ivanova")
    monday = _next_monday()
    saved = client.post("/schedule/new", data=_template_form(token, monday), follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert "Шаблон «Будни» сохранён" in page and "Не активен" in page
    template = ScheduleTemplate.get(ScheduleTemplate.name == "Будни")
    assert template.consultant_id == data.consultants["ivanova"] and not template.active

    switched = client.post(
        f"/schedule/{template.id}/toggle", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Шаблон «Будни» активирован: создано слотов — 9" in switched.get_data(as_text=True)
    slots = list(Slot.live().where(Slot.template == template.id).order_by(Slot.starts_at))
    assert len(slots) == 9 and slots[0].starts_at == datetime.combine(monday, datetime.min.time()).replace(
        hour=6
    )

    book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"]),
        author=Staff.get(Staff.organization == data.posts[0][0]),
        specialty=template.consultant.specialty,
        consultant=template.consultant,
        slot=slots[1],
        form_of_care="planned",
        question="Коррекция терапии?",
    )
    day = client.get(f"/schedule/day?date={monday.isoformat()}").get_data(as_text=True)
    rows = re.findall(r'<tr class="slot-row">(.*?)</tr>', day, re.S)
    assert len(rows) == 3
    assert "09:00–09:30" in rows[0] and "Свободно" in rows[0]
    assert "09:30–10:00" in rows[1] and "Занято" in rows[1]
    assert "Кузьмин Пётр Васильевич" in rows[1] and "ФАП д. Медное" in rows[1]

    off = client.post(f"/schedule/{template.id}/toggle", data={"csrf_token": token}, follow_redirects=True)
    text = off.get_data(as_text=True)
    assert "удалено свободных слотов — 8" in text and "Слоты с записанными пациентами сохранены: 1" in text


def test_templates_that_end_before_they_start_or_overlap_are_refused(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client, token = _client(app, "ivanova")
    monday = _next_monday()
    backwards = client.post(
        "/schedule/new", data=_template_form(token, monday, date_to=(monday - timedelta(days=2)).isoformat())
    )
    assert backwards.status_code == 400
    assert "Дата окончания" in backwards.get_data(as_text=True)
    assert "раньше даты начала" in backwards.get_data(as_text=True)
    assert ScheduleTemplate.select().count() == 0
    # The refused form comes back as it was typed.
    assert 'value="Будни"' in backwards.get_data(as_text=True)

    client.post("/schedule/new", data=_template_form(token, monday))
    first = ScheduleTemplate.get(ScheduleTemplate.name == "Будни")
    client.post(f"/schedule/{first.id}/toggle", data={"csrf_token": token})
    overlap = client.post("/schedule/new", data=_template_form(token, monday, name="Утро", cells=["10:00"]))
    assert overlap.status_code == 400
    assert "пересекается с активным шаблоном «Будни»" in overlap.get_data(as_text=True)
    assert ScheduleTemplate.select().count() == 1


def test_the_grid_follows_the_hours_and_deleting_asks_for_confirmation(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client, token = _client(app, "ivanova")
    monday = _next_monday()
    refreshed = client.post(
        "/schedule/new",
        data=_template_form(token, monday, action="grid", first_time="08:00", last_time="08:30"),
    ).get_data(as_text=True)
    # 30-minute appointments in a day that ends at 08:45: 08:30 would end after it, so it is not offered.
    assert re.findall(r'name="cells" value="([^"]+)"', refreshed) == ["08:00", "08:15"]
    assert ScheduleTemplate.select().count() == 0

    client.post("/schedule/new", data=_template_form(token, monday))
    template = ScheduleTemplate.get(ScheduleTemplate.name == "Будни")
    card = client.get(f"/schedule/{template.id}").get_data(as_text=True)
    assert "Удалить шаблон" in card and "Подтвердить удаление" not in card
    confirm = client.get(f"/schedule/{template.id}?delete=1").get_data(as_text=True)
    assert "Подтвердить удаление" in confirm
    # Another consultant can neither see nor delete it.
    other, other_token = _client(app, "smirnov")
    assert other.get(f"/schedule/{template.id}").status_code == 404
    assert other.post(f"/schedule/{template.id}/delete", data={"csrf_token": other_token}).status_code == 404
    gone = client.post(f"/schedule/{template.id}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "Шаблон «Будни» удалён" in gone.get_data(as_text=True)
    assert ScheduleTemplate.get_by_id(template.id).deleted


def test_every_cell_the_grid_offers_can_be_saved(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client, token = _client(app, "ivanova")
    monday = _next_monday()
    for n, minutes in enumerate(("15", "30", "45", "60")):
        hours = {"first_time": "09:00", "last_time": "16:45", "slot_minutes": minutes}
        grid = client.post("/schedule/new", data=_template_form(token, monday, action="grid", **hours))
        offered = re.findall(r'name="cells" value="([^"]+)"', grid.get_data(as_text=True))
        # The last cell offered is the latest an appointment of this length fits in the day.
        assert offered[-1] == {"15": "16:45", "30": "16:30", "45": "16:15", "60": "16:00"}[minutes]
        name = f"Шаблон {minutes}"
        saved = client.post(
            "/schedule/new",
            data=_template_form(token, monday, name=name, cells=[offered[-1]], **hours),
        )
        assert saved.status_code == 302, saved.get_data(as_text=True)
        assert ScheduleTemplate.select().count() == n + 1


def test_an_administrator_keeps_a_consultants_schedule(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client, token = _client(app, "admin")
    chooser = client.get("/schedule/").get_data(as_text=True)
    assert "Выберите консультанта" in chooser and "Иванова Мария Сергеевна" in chooser
    doctor = data.consultants["kuznetsova"]
    saved = client.post(f"/schedule/new?consultant={doctor}", data=_template_form(token, _next_monday()))
    assert saved.status_code == 302 and f"consultant={doctor}" in saved.headers["Location"]
    assert ScheduleTemplate.get(ScheduleTemplate.name == "Будни").consultant_id == doctor


def test_the_profile_shows_the_consultant_and_saves_the_time_zone(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client, token = _client(app, "ivanova")
    page = client.get("/profile/").get_data(as_text=True)
    for text in ("Иванова Мария Сергеевна", "Кардиология", "Дополнительно", "Все пациенты региона", "Москва"):
        assert text in page
    # Russian zones come first.
    assert page.index("Europe/Kaliningrad") < page.index("Africa/Abidjan")
    refused = client.post("/profile/", data={"csrf_token": token, "timezone": "Mars/Olympus"})
    assert refused.status_code == 400 and "Выберите часовой пояс из списка" in refused.get_data(as_text=True)
    saved = client.post(
        "/profile/", data={"csrf_token": token, "timezone": "Asia/Yekaterinburg"}, follow_redirects=True
    )
    assert "Часовой пояс сохранён" in saved.get_data(as_text=True)
    assert Staff.get_by_id(data.consultants["ivanova"]).timezone == "Asia/Yekaterinburg"


def test_support_requests_from_a_consultant_reach_the_staff_list(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    doctor, token = _client(app, "ivanova")
    bad = doctor.post("/support/callback", data={"csrf_token": token, "phone": "12", "comment": "Нет звука"})
    assert bad.status_code == 400 and "Номер телефона «12» не похож на российский" in bad.get_data(
        as_text=True
    )
    assert SupportRequest.select().count() == 0
    ok = doctor.post(
        "/support/callback",
        data={"csrf_token": token, "phone": "8 912 345-67-89", "comment": "Нет звука в видеозвонке"},
        follow_redirects=True,
    )
    assert "Заявка на звонок принята" in ok.get_data(as_text=True)
    empty = doctor.post("/support/feedback", data={"csrf_token": token, "message": " "})
    assert empty.status_code == 400
    doctor.post("/support/feedback", data={"csrf_token": token, "message": "Добавьте тёмную тему"})
    assert doctor.get("/support/").status_code == 403
    callback = SupportRequest.get(SupportRequest.kind == "callback")
    assert callback.phone == "+79123456789" and callback.organization_id == data.centre_id

    # A post's request, as the sync engine stores it when the post's push arrives.
    SupportRequest.create(
        kind="feedback",
        author=Staff.get(Staff.organization == data.posts[0][0]),
        organization=data.posts[0][0],
        text="Весы не подключаются",
    )
    admin, admin_token = _client(app, "admin")
    listed = admin.get("/support/").get_data(as_text=True)
    assert (
        "Весы не подключаются" in listed and "Петрова Анна Ивановна" in listed and "ФАП д. Медное" in listed
    )
    assert (
        "Нет звука в видеозвонке" in listed and "Добавьте тёмную тему" in listed and "+79123456789" in listed
    )
    done = admin.post(f"/support/{callback.id}/done", data={"csrf_token": admin_token}, follow_redirects=True)
    assert "Обращение отмечено выполненным" in done.get_data(as_text=True)
    assert "Нет звука в видеозвонке" not in done.get_data(as_text=True)
    assert "Нет звука в видеозвонке" in admin.get("/support/?status=done").get_data(as_text=True)
    handled = SupportRequest.get_by_id(callback.id)
    assert handled.status == "done" and handled.handled_by_id == Staff.get(Staff.role == "admin").id


def test_the_administrator_keeps_the_directories(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client, token = _client(app, "admin")
    doctor, _ = _client(app, "ivanova")
    assert doctor.get("/admin/").status_code == 403
    client.post(
        "/admin/regions", data={"csrf_token": token, "name": "Псковская область", "timezone": "Europe/Moscow"}
    )
    region = Region.get(Region.name == "Псковская область")
    twice = client.post(
        "/admin/regions", data={"csrf_token": token, "name": "псковская область", "timezone": "Europe/Moscow"}
    )
    assert twice.status_code == 400 and "уже есть" in twice.get_data(as_text=True)
    client.post(
        "/admin/organizations",
        data={
            "csrf_token": token,
            "name": "ФАП д. Лог",
            "kind": "post",
            "region": region.id,
            "phone": "8 (8112) 22-33-44",
        },
    )
    post = Organization.get(Organization.name == "ФАП д. Лог")
    assert post.kind == "post" and post.region_id == region.id and post.phone == "+78112223344"
    refused = client.post(
        f"/admin/regions/{region.id}/delete", data={"csrf_token": token}, follow_redirects=True
    )
    assert "нельзя удалить: в нём есть организации (1)" in refused.get_data(as_text=True)
    client.post("/admin/specialties", data={"csrf_token": token, "name": "Онкология", "code": "41"})
    cardiology = Specialty.get(Specialty.name == "Кардиология")
    used = client.post(
        f"/admin/specialties/{cardiology.id}/delete", data={"csrf_token": token}, follow_redirects=True
    )
    assert "по ней ведут приём консультанты (2)" in used.get_data(as_text=True)
    oncology = Specialty.get(Specialty.name == "Онкология")
    client.post(f"/admin/specialties/{oncology.id}/delete", data={"csrf_token": token})
    assert Specialty.get_by_id(oncology.id).deleted and not Specialty.get_by_id(cardiology.id).deleted


def _user_form(token: str, data, **changes: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    form: dict[str, object] = {
        "csrf_token": token,
        "last_name": "Зайцева",
        "first_name": "Ирина",
        "middle_name": "Олеговна",
        "role": "consultant",
        "organization": data.centre_id,
        "specialty": Specialty.get(Specialty.name == "Неврология").id,
        "timezone": "Europe/Moscow",
        "visibility": "referred",
        "login": "Zaytseva",
        "password": "secret-pass-1",
    }
    form.update(changes)
    return form


def test_the_administrator_adds_users_resets_passwords_and_deactivates(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client, token = _client(app, "admin")
    cases = [
        ({"specialty": ""}, "Укажите специальность консультанта"),
        ({"organization": data.posts[0][0]}, "выберите центр"),
        ({"role": "feldsher"}, "Фельдшер работает на ФАПе"),
        ({"login": "ivanova"}, "Логин «ivanova» уже занят"),
        ({"login": "ив"}, "Логин — от 3 до 64"),
        ({"password": "short"}, "не короче 10 символов"),
        ({"password": "qwerty123456"}, "слишком простой"),
    ]
    for changes, message in cases:
        refused = client.post("/admin/users/new", data=_user_form(token, data, **changes))
        assert refused.status_code == 400 and message in refused.get_data(as_text=True), message
    assert not Staff.select().where(Staff.last_name == "Зайцева").exists()

    client.post("/admin/users/new", data=_user_form(token, data))
    staff = Staff.get(Staff.last_name == "Зайцева")
    assert staff.visibility == "referred" and staff.specialty.name == "Неврология"
    assert StaffCredential.get(StaffCredential.staff == staff.id).login == "zaytseva"
    assert "zaytseva" in client.get("/admin/users?role=consultant").get_data(as_text=True)
    newcomer = app.test_client()
    login(newcomer, "zaytseva", "secret-pass-1")

    reset = client.post(f"/admin/users/{staff.id}/password", data={"csrf_token": token})
    temporary = re.search(r'class="temporary-password"[^>]*>([^<]+)<', reset.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert reset.headers["Cache-Control"] == "no-store" and len(temporary) == 10
    assert (
        app.test_client().post("/login", data={"login": "zaytseva", "password": "secret-pass-1"}).status_code
        == 401
    )
    assert (
        app.test_client().post("/login", data={"login": "zaytseva", "password": temporary}).status_code == 302
    )

    client.post(f"/admin/users/{staff.id}/active", data={"csrf_token": token, "active": "0"})
    assert not Staff.get_by_id(staff.id).active and not Staff.get_by_id(staff.id).deleted
    assert (
        app.test_client().post("/login", data={"login": "zaytseva", "password": temporary}).status_code == 401
    )
    me = Staff.get(Staff.role == "admin")
    own = client.post(
        f"/admin/users/{me.id}/active", data={"csrf_token": token, "active": "0"}, follow_redirects=True
    )
    assert "Нельзя деактивировать собственную учётную запись" in own.get_data(as_text=True)
    assert Staff.get_by_id(me.id).active
