"""Realistic seed data for the demo and the end-to-end tests (written at central)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.models import (
    Organization,
    OrgKind,
    Patient,
    Region,
    Relation,
    Role,
    Slot,
    Specialty,
    Staff,
    StaffCredential,
)
from domain.validators import luhn_valid, snils_check_digits
from sync.clock import utcnow
from sync.db import database
from web.auth import hash_password

__all__ = ["DemoLogin", "DemoData", "seed", "make_snils", "make_enp", "DEMO_PASSWORD"]

DEMO_PASSWORD = "demo1234"
REGION_TZ = "Europe/Moscow"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    login: str
    password: str
    who: str


@dataclass
class DemoData:
    region_id: str
    centre_id: str
    posts: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    logins: list[DemoLogin] = field(default_factory=list)
    consultants: dict[str, str] = field(default_factory=dict)  # login -> staff id
    patients: dict[str, str] = field(default_factory=dict)  # name -> id


def make_snils(first_nine: str) -> str:
    return first_nine + snils_check_digits(first_nine)


def make_enp(first_fifteen: str) -> str:
    for digit in "0123456789":
        if luhn_valid(first_fifteen + digit):
            return first_fifteen + digit
    raise AssertionError("unreachable: some check digit always fits")


CONSULTANTS = [
    ("ivanova", "Иванова", "Мария", "Сергеевна", "Кардиология"),
    ("smirnov", "Смирнов", "Алексей", "Викторович", "Кардиология"),
    ("kuznetsova", "Кузнецова", "Ольга", "Петровна", "Неврология"),
    ("popov", "Попов", "Дмитрий", "Андреевич", "Педиатрия"),
    ("sokolova", "Соколова", "Елена", "Игоревна", "Эндокринология"),
    ("lebedev", "Лебедев", "Игорь", "Николаевич", "Пульмонология"),
]

#: The patients' ages each specialty accepts (age_from, age_under): children go to
#: Pediatrics, adults to the others.
SPECIALTY_AGES: dict[str, tuple[int | None, int | None]] = {"Педиатрия": (None, 18)}
ADULT_AGES: tuple[int | None, int | None] = (18, None)

POSTS = [
    ("fap1", "ФАП д. Медное", "Петрова", "Анна", "Ивановна"),
    ("fap2", "ФАП с. Кушалино", "Васильев", "Николай", "Петрович"),
]


def _slots_for(consultant: Staff, now: datetime, days: int, *, weekends: bool = False) -> None:
    """Slots every 30 minutes, 09:00–16:30 local, weekdays (or every day), starting from now."""
    zone = ZoneInfo(REGION_TZ)
    utc = ZoneInfo("UTC")
    today = now.replace(tzinfo=utc).astimezone(zone).date()
    rows = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5 and not weekends:
            continue
        start = datetime.combine(day, time(9, 0), zone)
        for n in range(16):
            begins = (start + timedelta(minutes=30 * n)).astimezone(utc).replace(tzinfo=None)
            if begins > now:
                rows.append(begins)
    # Something to take in work at once, whatever the hour the demo starts.
    soon = now.replace(second=0, microsecond=0) + timedelta(minutes=10)
    if soon not in rows:
        rows.insert(0, soon)
    for begins in rows:
        Slot.create(consultant=consultant, starts_at=begins, ends_at=begins + timedelta(minutes=30))


def _credential(staff: Staff, login: str, password: str) -> None:
    StaffCredential.create(staff=staff, login=login, password_hash=hash_password(password))


def seed(
    now: datetime | None = None, *, days: int = 14, weekends: bool = False, password: str = DEMO_PASSWORD
) -> DemoData:
    """Region, centre with consultants and schedules, two posts with feldshers and patients.

    `weekends` gives slots on Saturdays and Sundays too: tests seed a few days and must find
    the same slots whatever weekday they run on.
    """
    now = now or utcnow()
    with database.atomic():
        region = Region.create(name="Тверская область", timezone=REGION_TZ)
        centre = Organization.create(
            name="ГБУЗ «Областная клиническая больница», консультативный центр",
            kind=OrgKind.CENTRE,
            region=region,
            address="г. Тверь, пр-т Петра Великого, 105",
            phone="+74822000000",
        )
        data = DemoData(region_id=region.id, centre_id=centre.id)
        specialties: dict[str, Specialty] = {}
        for login, last, first, middle, spec_name in CONSULTANTS:
            age_from, age_under = SPECIALTY_AGES.get(spec_name, ADULT_AGES)
            specialty = specialties.get(spec_name) or Specialty.create(
                name=spec_name, age_from=age_from, age_under=age_under
            )
            specialties[spec_name] = specialty
            staff = Staff.create(
                last_name=last,
                first_name=first,
                middle_name=middle,
                role=Role.CONSULTANT,
                organization=centre,
                specialty=specialty,
                position=f"врач — {spec_name.lower()}",
                timezone=REGION_TZ,
            )
            _credential(staff, login, password)
            _slots_for(staff, now, days, weekends=weekends)
            data.consultants[login] = staff.id
            data.logins.append(DemoLogin("консультант", login, password, f"{staff.full_name}, {spec_name}"))
        admin = Staff.create(
            last_name="Орлова",
            first_name="Татьяна",
            middle_name="Юрьевна",
            role=Role.ADMIN,
            organization=centre,
            timezone=REGION_TZ,
        )
        _credential(admin, "admin", password)
        data.logins.append(DemoLogin("администратор", "admin", password, admin.full_name))
        engineer = Staff.create(
            last_name="Ковалёв", first_name="Сергей", middle_name="Олегович", role=Role.ENGINEER,
            organization=centre, position="инженер выездной службы", timezone=REGION_TZ,
        )
        _credential(engineer, "engineer", password)
        data.logins.append(DemoLogin("инженер", "engineer", password, engineer.full_name))
        for index, (login, post_name, last, first, middle) in enumerate(POSTS, start=1):
            post = Organization.create(
                name=post_name,
                kind=OrgKind.POST,
                region=region,
                address=f"{post_name}, Тверская обл.",
                parent=centre,  # «Головная организация»: the posts are units of the centre
            )
            data.posts.append((post.id, post_name))
            feldsher = Staff.create(
                last_name=last,
                first_name=first,
                middle_name=middle,
                role=Role.FELDSHER,
                organization=post,
                position="фельдшер",
                timezone=REGION_TZ,
            )
            _credential(feldsher, login, password)
            data.logins.append(DemoLogin("фельдшер", login, password, f"{feldsher.full_name}, {post_name}"))
            _patients(post, index, data)
    return data


def _patients(post: Organization, index: int, data: DemoData) -> None:
    base = f"{index}0"
    mother = Patient.create(
        last_name="Сидорова",
        first_name="Елена",
        middle_name="Андреевна",
        birth_date=date(1988, 4, 12),
        sex="female",
        snils=make_snils(f"1{base}2334455"[:9]),
        enp=make_enp(f"69{base}11122233344"[:15]),
        phone=f"+7912{index}004567",
        organization=post,
        address="ул. Центральная, 5",
    )
    for first, middle, born, sex in (
        ("Мария", "Игоревна", date(2015, 9, 1), "female"),
        ("Артём", "Игоревич", date(2019, 2, 20), "male"),
    ):
        child = Patient.create(
            last_name="Сидоров" if sex == "male" else "Сидорова",
            first_name=first,
            middle_name=middle,
            birth_date=born,
            sex=sex,
            organization=post,
            representative=mother,
            representative_relation=Relation.MOTHER,
            phone=mother.phone,
        )
        data.patients[f"{child.full_name}@{index}"] = child.id
    elder = Patient.create(
        last_name="Кузьмин",
        first_name="Пётр",
        middle_name="Васильевич",
        birth_date=date(1948, 11, 3),
        sex="male",
        snils=make_snils(f"2{base}5566778"[:9]),
        enp=make_enp(f"69{base}99988877766"[:15]),
        phone=f"+7915{index}112233",
        organization=post,
        address="ул. Садовая, 12",
    )
    data.patients[f"{mother.full_name}@{index}"] = mother.id
    data.patients[f"{elder.full_name}@{index}"] = elder.id
