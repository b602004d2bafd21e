"""«Добавьте заболевания»: ICD-10 codes found by code or by name, and unknown codes refused."""

from __future__ import annotations

from central.protocols import icd10
from sync.models import Appeal, AppealStatus, Diagnosis, Protocol
from tests.conftest import login, rows

from .helpers import in_work, protocol_form


def test_search_by_code_prefix_whatever_the_keyboard_layout() -> None:
    assert [d.code for d in icd10.search("I1")][:4] == ["I10", "I11", "I11.0", "I11.9"]
    # «Е» typed on a Russian layout, a comma and no dot are all the same code.
    assert [d.code for d in icd10.search("е11,9")] == ["E11.9"]
    assert [d.code for d in icd10.search("I119")] == ["I11.9"]
    assert icd10.lookup("i10").title == "Эссенциальная [первичная] гипертензия"  # type: ignore[union-attr]


def test_search_by_russian_words_keywords_and_english() -> None:
    hypertension = [d.code for d in icd10.search("гипертоническая болезнь")]
    assert hypertension[0] == "I10" and "I11.9" in hypertension
    assert [d.code for d in icd10.search("ХОБЛ")][0] == "J44"
    assert "J06.9" in [d.code for d in icd10.search("орви")]
    assert "I48.0" in [d.code for d in icd10.search("мерцательная аритмия")]
    # A code with no Russian title is still found, by its WHO English title.
    cholera = icd10.search("cholera")
    assert cholera[0].code == "A00" and cholera[0].title == "Cholera"
    assert len(icd10.search("а")) <= icd10.LIMIT
    assert icd10.search("   ") == [] and icd10.search("zzzqqq") == []


def test_russian_titles_are_codes_of_the_classification() -> None:
    who = {line.split("\t")[0] for line in icd10.WHO_FILE.read_text(encoding="utf-8").splitlines()}
    russian = [
        line.split("\t")
        for line in icd10.RU_FILE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith(("#", "code\t"))
    ]
    codes = [row[0] for row in russian]
    assert len(codes) > 300 and len(set(codes)) == len(codes)
    assert set(codes) <= who
    assert all(row[1].strip() and len(row) == 3 for row in russian)
    assert len(icd10.classification()) > 12000


def test_the_search_api(central) -> None:  # type: ignore[no-untyped-def]
    app, _ = central
    client = app.test_client()
    assert client.get("/api/v1/icd10?q=I10").status_code == 401
    login(client, "ivanova")
    items = client.get("/api/v1/icd10", query_string={"q": "сахарный диабет 2"}).get_json()["items"]
    assert items[0] == {
        "code": "E11",
        "title": "Инсулиннезависимый сахарный диабет",
        "title_en": "Type 2 diabetes mellitus",
    }
    assert len(client.get("/api/v1/icd10?q=J").get_json()["items"]) == 20
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/icd10" in spec["paths"]


def test_an_unknown_code_refuses_the_protocol_and_stores_nothing(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = in_work(client, data)
    form = protocol_form(token, diagnosis_code=["I10", "I99.9"], diagnosis_title=["", "Что-то"])
    refused = client.post(f"/appeals/{appeal.id}/protocol", data=form)
    assert refused.status_code == 400
    assert "Кода «I99.9» нет в МКБ-10" in refused.get_data(as_text=True)
    assert rows(Protocol) == 0 and Appeal.get_by_id(appeal.id).status == AppealStatus.IN_WORK

    api = client.post(
        f"/api/v1/appeals/{appeal.id}/protocol",
        json={"recommendations": "x", "diagnoses": [{"code": "Z99.99", "title": ""}]},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 400 and api.get_json()["field"] == "diagnoses"
    assert rows(Protocol) == 0


def test_a_code_alone_takes_the_classification_title(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = in_work(client, data)
    form = protocol_form(token, diagnosis_code=["е11.9", "I48.0"], diagnosis_title=["", "ФП, пароксизм"])
    sent = client.post(f"/appeals/{appeal.id}/protocol", data=form)
    assert sent.status_code == 302
    diagnoses = [(d.code, d.title) for d in Diagnosis.select().order_by(Diagnosis.code)]
    assert diagnoses == [
        ("E11.9", "Инсулиннезависимый сахарный диабет без осложнений"),
        ("I48.0", "ФП, пароксизм"),
    ]
    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "E11.9 — Инсулиннезависимый сахарный диабет без осложнений" in page


def test_the_protocol_form_offers_the_search(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, _token = in_work(client, data)
    page = client.get(f"/appeals/{appeal.id}/protocol").get_data(as_text=True)
    assert "/api/v1/icd10" in page and 'name="protocol_files"' in page
    assert 'enctype="multipart/form-data"' in page
