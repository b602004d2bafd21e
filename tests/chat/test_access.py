"""A consultant opens, takes and chats only in appeals of their specialty, their region, or their own."""

from __future__ import annotations

from domain.models import (
    Appeal,
    AppealStatus,
    Organization,
    OrgKind,
    Region,
    Role,
    Specialty,
    Staff,
    StaffCredential,
)
from tests.helpers.chat import appeal_to, appeal_to_specialty
from tests.helpers.web import login
from web.auth import hash_password


def _cardiologist_of_another_region() -> Staff:
    region = Region.create(name="Ярославская область")
    centre = Organization.create(name="Ярославская ОКБ", kind=OrgKind.CENTRE, region=region)
    doctor = Staff.create(
        last_name="Орлов",
        first_name="Павел",
        role=Role.CONSULTANT,
        organization=centre,
        specialty=Specialty.get(Specialty.name == "Кардиология"),
    )
    StaffCredential.create(staff=doctor, login="orlov", password_hash=hash_password("demo1234"))
    return doctor


def test_a_neurologist_cannot_open_or_take_a_cardiology_appeal(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    named = appeal_to(data, "ivanova")
    open_one = appeal_to_specialty(data)
    http = app.test_client()
    token = login(http, "kuznetsova")
    listed = http.get("/api/v1/appeals?queue=new").get_json()["appeals"]
    assert {named.id, open_one.id}.isdisjoint(a["id"] for a in listed)
    for appeal in (named, open_one):
        assert http.get(f"/appeals/{appeal.id}").status_code == 404
        taken = http.post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token})
        assert taken.status_code == 404
        assert Appeal.get_by_id(appeal.id).status == AppealStatus.NEW


def test_a_cardiologist_of_another_region_does_not_see_this_regions_open_appeals(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    _cardiologist_of_another_region()
    open_one = appeal_to_specialty(data)
    http = app.test_client()
    token = login(http, "orlov")
    assert open_one.id not in [a["id"] for a in http.get("/api/v1/appeals?queue=new").get_json()["appeals"]]
    assert http.get(f"/appeals/{open_one.id}").status_code == 404
    taken = http.post(f"/api/v1/appeals/{open_one.id}/take", headers={"X-CSRF-Token": token})
    assert taken.status_code == 404
    local = app.test_client()
    login(local, "smirnov")
    assert open_one.id in [a["id"] for a in local.get("/api/v1/appeals?queue=new").get_json()["appeals"]]
