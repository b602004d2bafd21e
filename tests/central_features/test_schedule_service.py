"""A consultant's schedule templates: the manual's rules, slots in UTC, and what the posts receive."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from central.schedules import service
from central.schedules.rules import TemplatePlan, local_to_utc
from domain.booking import book_appeal
from domain.errors import ValidationError
from domain.models import Appeal, Patient, ScheduleTemplate, Slot, Staff
from sync.changes import collect_changes

# Far enough ahead that the demo's own slots (the next few days) do not meet ours.
NOW = datetime(2030, 3, 1, 8, 0)
MONDAY = date(2030, 3, 4)


def plan(**changes: object) -> TemplatePlan:
    values: dict[str, object] = {
        "name": "Будни",
        "date_from": MONDAY,
        "date_to": MONDAY + timedelta(days=13),
        "first_time": time(9, 0),
        "last_time": time(11, 45),
        "weekdays": (1, 3),
        "cells": (time(9, 0), time(9, 30)),
        "slot_minutes": 30,
    }
    values.update(changes)
    return TemplatePlan(**values)  # type: ignore[arg-type]


def consultant(data, login: str = "ivanova") -> Staff:  # type: ignore[no-untyped-def]
    return Staff.get_by_id(data.consultants[login])


def template_slots(template: ScheduleTemplate) -> list[Slot]:
    return list(Slot.live().where(Slot.template == template.id).order_by(Slot.starts_at))


def test_activating_makes_utc_slots_on_the_chosen_weekdays(seeded) -> None:  # type: ignore[no-untyped-def]
    template = service.create_template(consultant(seeded), plan())
    assert not template.active and template_slots(template) == []
    change = service.activate(template, now=NOW)
    slots = template_slots(template)
    assert change.created == len(slots) == 8  # Mon and Wed of two weeks, two cells each
    assert {s.starts_at.isoweekday() for s in slots} == {1, 3}
    # 09:00 in Moscow (UTC+3) is 06:00 UTC; 30-minute appointments.
    assert slots[0].starts_at == datetime(2030, 3, 4, 6, 0)
    assert slots[1].starts_at == datetime(2030, 3, 4, 6, 30)
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)
    assert ScheduleTemplate.get_by_id(template.id).active


def test_slots_follow_daylight_saving_time(seeded) -> None:  # type: ignore[no-untyped-def]
    doctor = consultant(seeded)
    doctor.timezone = "Europe/Berlin"
    doctor.save()
    # Central Europe moves its clocks forward on Sunday 31 March 2030.
    template = service.create_template(
        doctor,
        plan(date_from=date(2030, 3, 29), date_to=date(2030, 4, 1), weekdays=(5, 1), cells=(time(9, 0),)),
    )
    service.activate(template, now=NOW)
    assert [s.starts_at for s in template_slots(template)] == [
        datetime(2030, 3, 29, 8, 0),  # 09:00 CET
        datetime(2030, 4, 1, 7, 0),  # 09:00 CEST
    ]
    berlin = ZoneInfo("Europe/Berlin")
    assert local_to_utc(date(2030, 3, 31), 2 * 60 + 30, berlin) is None  # 02:30 never happens that night


def test_past_times_and_times_already_covered_get_no_new_slot(seeded) -> None:  # type: ignore[no-untyped-def]
    doctor = consultant(seeded)
    existing = Slot.create(
        consultant=doctor, starts_at=datetime(2030, 3, 11, 6, 15), ends_at=datetime(2030, 3, 11, 6, 45)
    )
    template = service.create_template(doctor, plan())
    # "Now" is Monday 4 March, 09:10 Moscow: its 09:00 has passed, its 09:30 has not.
    change = service.activate(template, now=datetime(2030, 3, 4, 6, 10))
    starts = [s.starts_at for s in template_slots(template)]
    assert datetime(2030, 3, 4, 6, 0) not in starts and datetime(2030, 3, 4, 6, 30) in starts
    # The slot 09:15–09:45 on 11 March covers both cells of that day.
    assert datetime(2030, 3, 11, 6, 0) not in starts and datetime(2030, 3, 11, 6, 30) not in starts
    assert change.created == 8 - 1 - 2
    assert not Slot.get_by_id(existing.id).deleted


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "  "}, "Укажите название шаблона"),
        (
            {"date_to": MONDAY - timedelta(days=1)},
            "Дата окончания (03.03.2030) раньше даты начала (04.03.2030)",
        ),
        ({"date_to": MONDAY + timedelta(days=400)}, "не больше чем на год"),
        ({"last_time": time(8, 45)}, "раньше времени первого"),
        ({"last_time": time(23, 50)}, "не позже 23:45"),
        ({"weekdays": ()}, "Выберите хотя бы один день недели"),
        ({"cells": ()}, "Отметьте в сетке расписания хотя бы одно время приёма"),
        ({"cells": (time(8, 30),)}, "Время 08:30 вне часов приёма 09:00–11:45"),
        # The day ends at 12:00 (15 minutes after the last time): 11:45 + 30 min runs over.
        ({"cells": (time(11, 45),)}, "закончится в 12:15 — позже окончания рабочего дня (12:00)"),
        ({"cells": (time(9, 0), time(9, 15))}, "Приёмы в 09:00 и 09:15 пересекаются"),
        ({"slot_minutes": 20}, "Выберите длительность приёма"),
    ],
)
def test_a_template_that_cannot_work_is_refused_and_nothing_is_stored(seeded, changes, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as refused:
        service.create_template(consultant(seeded), plan(**changes))
    assert message in refused.value.message
    assert ScheduleTemplate.select().count() == 0


def test_the_last_appointment_may_end_exactly_when_the_day_ends(seeded) -> None:  # type: ignore[no-untyped-def]
    template = service.create_template(consultant(seeded), plan(cells=(time(11, 30),), slot_minutes=30))
    assert TemplatePlan.of(template).day_end == 12 * 60


def test_templates_that_overlap_an_active_one_are_refused(seeded) -> None:  # type: ignore[no-untyped-def]
    doctor = consultant(seeded)
    weekdays = service.create_template(doctor, plan(name="Будни"))
    service.activate(weekdays, now=NOW)
    with pytest.raises(ValidationError) as refused:
        service.create_template(doctor, plan(name="Утро", first_time=time(11, 0), cells=(time(11, 0),)))
    assert "пересекается с активным шаблоном «Будни»" in refused.value.message
    assert "сначала деактивируйте «Будни»" in refused.value.message
    # Other weekdays, later hours or other dates do not overlap.
    service.create_template(doctor, plan(name="Вторник", weekdays=(2,)))
    service.create_template(
        doctor, plan(name="После обеда", first_time=time(12, 0), last_time=time(14, 45), cells=(time(12, 0),))
    )
    service.create_template(
        doctor, plan(name="Апрель", date_from=date(2030, 4, 1), date_to=date(2030, 4, 30))
    )
    # Another consultant's templates are theirs.
    service.create_template(consultant(seeded, "smirnov"), plan())
    # An inactive template saved before is refused when switched on.
    service.deactivate(weekdays, now=NOW)
    spare = service.create_template(doctor, plan(name="Запасной"))
    service.activate(weekdays, now=NOW)
    with pytest.raises(ValidationError, match="«Будни»"):
        service.activate(spare, now=NOW)
    assert not ScheduleTemplate.get_by_id(spare.id).active
    assert template_slots(spare) == []


def _book(data, slot: Slot) -> Appeal:  # type: ignore[no-untyped-def]
    doctor = slot.consultant
    return book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"]),
        author=Staff.get(Staff.organization == data.posts[0][0]),
        specialty=doctor.specialty,
        consultant=doctor,
        slot=slot,
        form_of_care="planned",
        question="Коррекция терапии?",
        now=NOW,
    )


def test_deactivating_removes_free_future_slots_and_keeps_booked_ones(seeded) -> None:  # type: ignore[no-untyped-def]
    template = service.create_template(consultant(seeded), plan())
    service.activate(template, now=NOW)
    booked = template_slots(template)[3]
    _book(seeded, booked)
    change = service.deactivate(template, now=NOW)
    assert (change.removed, change.kept_booked) == (7, 1)
    assert [s.id for s in template_slots(template)] == [booked.id]
    assert not ScheduleTemplate.get_by_id(template.id).active


def test_editing_an_active_template_makes_its_slots_anew(seeded) -> None:  # type: ignore[no-untyped-def]
    template = service.create_template(consultant(seeded), plan())
    service.activate(template, now=NOW)
    booked = template_slots(template)[0]  # Monday 09:00
    _book(seeded, booked)
    change = service.update_template(template, plan(cells=(time(10, 0),), weekdays=(1,)), now=NOW)
    starts = [s.starts_at for s in template_slots(template)]
    assert change.removed == 7 and change.kept_booked == 1
    assert starts == [datetime(2030, 3, 4, 6, 0), datetime(2030, 3, 4, 7, 0), datetime(2030, 3, 11, 7, 0)]
    assert change.created == 2


def test_deleting_a_template_leaves_a_tombstone_and_its_booked_slots(seeded) -> None:  # type: ignore[no-untyped-def]
    template = service.create_template(consultant(seeded), plan())
    service.activate(template, now=NOW)
    booked = template_slots(template)[-1]
    _book(seeded, booked)
    change = service.delete_template(template, now=NOW)
    assert (change.removed, change.kept_booked) == (7, 1)
    assert ScheduleTemplate.get_by_id(template.id).deleted
    assert service.templates_of(consultant(seeded)) == []
    assert [s.id for s in template_slots(template)] == [booked.id]


def test_the_posts_of_the_region_pull_the_new_slots_and_their_removal(seeded) -> None:  # type: ignore[no-untyped-def]
    post_id = seeded.posts[0][0]
    template = service.create_template(consultant(seeded), plan())
    service.activate(template, now=NOW)
    pulled, _ = collect_changes(0, 1_000_000, scope_org=post_id)
    made = {s.id for s in template_slots(template)}
    assert made and made <= {row.id for row in pulled if isinstance(row, Slot)}
    assert template.id in {row.id for row in pulled if isinstance(row, ScheduleTemplate)}
    after = max(row.seq for row in pulled)
    service.deactivate(template, now=NOW)
    pulled, _ = collect_changes(after, 1_000_000, scope_org=post_id)
    tombstones = {row.id for row in pulled if isinstance(row, Slot) and row.deleted}
    assert tombstones == made


def test_the_day_schedule_shows_free_and_booked_slots_in_local_time(seeded) -> None:  # type: ignore[no-untyped-def]
    template = service.create_template(consultant(seeded), plan())
    service.activate(template, now=NOW)
    _book(seeded, template_slots(template)[1])
    lines = service.day_schedule(consultant(seeded), MONDAY)
    assert [(line.starts.strftime("%H:%M"), line.appeal is not None) for line in lines] == [
        ("09:00", False),
        ("09:30", True),
    ]
    assert lines[1].appeal.patient.full_name == "Кузьмин Пётр Васильевич"  # type: ignore[union-attr]
    assert lines[1].appeal.post.name == "ФАП д. Медное"  # type: ignore[union-attr]
