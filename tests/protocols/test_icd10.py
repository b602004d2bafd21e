"""«Добавьте заболевания»: МКБ-10 (the national edition) found by code or by Russian words;
only codes in force at the most detailed level stand in a protocol, with exactly one main one."""

from __future__ import annotations

import pytest

from central.protocols import icd10
from domain import icd10 as classifier
from domain.errors import ValidationError
from domain.models import Appeal, AppealStatus, Diagnosis, DiagnosisRole, Protocol
from tests.helpers.appeals import in_work, protocol_form
from tests.helpers.data import rows
from tests.helpers.web import login


def codes(query: str) -> list[str]:
    return [found.code for found in icd10.search(query)]


def test_the_classifier_is_the_national_edition() -> None:
    assert (icd10.OID, icd10.VERSION) == ("1.2.643.5.1.13.13.11.1005", "2.27")
    table = classifier.classification()
    # Every data row of the file (its README says 15,037; the file holds 15,038).
    assert len(table) == 15038
    assert table["J18.9"].title == "Пневмония неуточненная"
    assert table["J18"].children == ("J18.0", "J18.1", "J18.2", "J18.8", "J18.9")


def test_search_by_code_prefix_whatever_the_keyboard_layout() -> None:
    assert codes("J18") == ["J18", "J18.0", "J18.1", "J18.2", "J18.8", "J18.9"]
    assert codes("I1")[:4] == ["I10", "I11", "I11.0", "I11.9"]
    # «Е» typed on a Russian layout, a comma and no dot are all the same code.
    assert codes("е11,9") == ["E11.9"]
    assert codes("I119") == ["I11.9"]
    assert icd10.lookup("i10").title == "Эссенциальная [первичная] гипертензия"  # type: ignore[union-attr]
    # Codes withdrawn from the directory are not offered (A90, dengue, moved to A97).
    assert codes("A90") == []


def test_rody_finds_childbirth_with_russian_titles() -> None:
    found = icd10.search("роды")
    by_code = {d.code: d.title for d in found}
    # «Роды одноплодные, самопроизвольное родоразрешение…»: O80–O84 head the list.
    assert {"O80", "O81", "O82", "O83", "O84"} <= set(by_code)
    assert by_code["O80"] == "Роды одноплодные, самопроизвольное родоразрешение"
    # Another form of the word is the same word; case and «ё» do not matter.
    assert {"O80", "O84"} <= set(codes("РОДОВ"))
    assert codes("стимуляции родов")[0] == "O61"
    assert codes("Роды") == codes("роды")


def test_pneum_finds_the_pneumonias() -> None:
    found = codes("пневм")
    assert "J18" in found and "J13" in found
    pneumonias = [code for code in found if "J12" <= code[:3] <= "J18"]
    assert len(pneumonias) >= 15, found
    assert "J18.9" in codes("пневмония неуточн")
    assert codes("пневмония неуточненная") == codes("пнЕвмония неуточнённая")


def test_search_by_keywords_and_several_words() -> None:
    hypertension = codes("гипертоническая болезнь")
    assert hypertension[0] == "I10" and "I11.9" in hypertension
    assert codes("ХОБЛ")[0] == "J44"
    assert "J06.9" in codes("орви")
    assert "I48.0" in codes("мерцательная аритмия")
    assert codes("сахарный диабет 2")[0] == "E11"
    assert len(icd10.search("а")) <= icd10.LIMIT
    assert icd10.search("   ") == [] and icd10.search("zzzqqq") == []
    # A lone letter is no search (and would cost a third of the vocabulary); a digit is.
    assert icd10.search("п") == [] and codes("диабет с комой")[0] == "E10.0"


def test_only_codes_in_force_at_the_most_detailed_level_are_diagnoses() -> None:
    with pytest.raises(ValidationError) as heading:
        icd10.check_diagnoses([("J18", "")])
    assert heading.value.message == (
        "J18 — рубрика, а не диагноз: укажите уточнённый код (J18.0, J18.1, J18.2, J18.8, J18.9)"
    )
    with pytest.raises(ValidationError) as withdrawn:
        icd10.check_diagnoses([("C14.1", "")])
    assert "C14.1 не действует" in withdrawn.value.message
    assert "C14.0, C14.2, C14.8" in withdrawn.value.message
    with pytest.raises(ValidationError) as unknown:
        icd10.check_diagnoses([("J18.7", "")])
    assert "J18.9" in unknown.value.message
    # A category whose subcategories were all withdrawn is again the most detailed one.
    assert icd10.check_diagnoses([("M45", "")]) == [("M45", "Анкилозирующий спондилит", "main")]


def test_roles_by_position_and_exactly_one_main() -> None:
    assert icd10.check_diagnoses([("I10", ""), ("e11.9", "СД 2 типа")]) == [
        ("I10", "Эссенциальная [первичная] гипертензия", DiagnosisRole.MAIN),
        ("E11.9", "СД 2 типа", DiagnosisRole.CONCOMITANT),
    ]
    with pytest.raises(ValidationError, match="ровно один"):
        icd10.check_diagnoses([("I10", "", "main"), ("E11.9", "", "main")])
    with pytest.raises(ValidationError, match="ровно один"):
        icd10.check_diagnoses([("I10", "", "concomitant")])
    with pytest.raises(ValidationError, match="роль"):
        icd10.check_diagnoses([("I10", "", "primary")])


def test_a_diagnosis_row_of_an_old_protocol_still_replicates() -> None:
    # Rows come from peers with codes of older protocols: only their shape is checked.
    assert Diagnosis.check("J18", "Пневмония", DiagnosisRole.MAIN) == ("J18", "Пневмония", "main")


def test_the_search_api(central) -> None:  # type: ignore[no-untyped-def]
    app, _ = central
    client = app.test_client()
    assert client.get("/api/v1/icd10?q=I10").status_code == 401
    login(client, "ivanova")
    answer = client.get("/api/v1/icd10", query_string={"q": "пневмония неуточненная"}).get_json()
    assert answer["classifier"] == {"oid": "1.2.643.5.1.13.13.11.1005", "version": "2.27"}
    assert {"code": "J18.9", "title": "Пневмония неуточненная", "diagnosis": True} in answer["items"]
    heading = client.get("/api/v1/icd10?q=J18").get_json()["items"][0]
    assert heading == {"code": "J18", "title": "Пневмония без уточнения возбудителя", "diagnosis": False}
    assert len(client.get("/api/v1/icd10?q=J").get_json()["items"]) == 20
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/icd10" in spec["paths"]
    diagnoses = spec["paths"]["/api/v1/appeals/{appeal_id}/protocol"]["post"]["requestBody"]
    role = diagnoses["content"]["application/json"]["schema"]["properties"]["diagnoses"]["items"]
    assert role["properties"]["role"]["enum"] == ["main", "concomitant", "complication"]


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


def test_a_heading_code_is_refused_with_the_codes_to_choose(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = in_work(client, data)
    refused = client.post(
        f"/appeals/{appeal.id}/protocol",
        data=protocol_form(token, diagnosis_code=["J18"], diagnosis_role=["main"]),
    )
    assert refused.status_code == 400
    assert "укажите уточнённый код (J18.0, J18.1, J18.2, J18.8, J18.9)" in refused.get_data(as_text=True)
    withdrawn = client.post(
        f"/api/v1/appeals/{appeal.id}/protocol",
        json={"recommendations": "x", "diagnoses": [{"code": "A90", "role": "main"}]},
        headers={"X-CSRF-Token": token},
    )
    assert withdrawn.status_code == 400
    assert "Код A90 не действует в МКБ-10" in withdrawn.get_json()["message"]
    assert rows(Protocol) == 0 and rows(Diagnosis) == 0


def test_the_api_wants_exactly_one_main_diagnosis(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = in_work(client, data)
    url, headers = f"/api/v1/appeals/{appeal.id}/protocol", {"X-CSRF-Token": token}
    two_main = [{"code": "I10", "role": "main"}, {"code": "E11.9", "role": "main"}]
    refused = client.post(url, json={"recommendations": "x", "diagnoses": two_main}, headers=headers)
    assert refused.status_code == 400
    assert refused.get_json()["message"] == "Основной диагноз должен быть ровно один (сейчас: 2)"
    no_main = [{"code": "I10", "role": "concomitant"}]
    refused = client.post(url, json={"recommendations": "x", "diagnoses": no_main}, headers=headers)
    assert refused.status_code == 400
    assert rows(Protocol) == 0

    roles = [
        {"code": "E11.9", "role": "concomitant"},
        {"code": "I10", "role": "main"},
        {"code": "I50.0", "role": "complication"},
    ]
    sent = client.post(url, json={"recommendations": "Лозартан", "diagnoses": roles}, headers=headers)
    assert sent.status_code == 201, sent.get_json()
    # The protocol lists them as a conclusion does: main, its complications, concomitant.
    assert [(d["code"], d["role"]) for d in sent.get_json()["diagnoses"]] == [
        ("I10", "main"),
        ("I50.0", "complication"),
        ("E11.9", "concomitant"),
    ]
    stored = {d.code: d.role for d in Diagnosis.select()}
    assert stored == {"I10": "main", "I50.0": "complication", "E11.9": "concomitant"}


def test_a_code_alone_takes_the_classification_title(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = in_work(client, data)
    form = protocol_form(
        token,
        diagnosis_code=["е11.9", "I48.0"],
        diagnosis_title=["", "ФП, пароксизм"],
        diagnosis_role=["main", "concomitant"],
    )
    sent = client.post(f"/appeals/{appeal.id}/protocol", data=form)
    assert sent.status_code == 302
    diagnoses = [(d.code, d.title, d.role) for d in Diagnosis.select().order_by(Diagnosis.code)]
    assert diagnoses == [
        ("E11.9", "Инсулиннезависимый сахарный диабет без осложнений", "main"),
        ("I48.0", "ФП, пароксизм", "concomitant"),
    ]
    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Основной:</span> E11.9 — Инсулиннезависимый сахарный диабет без осложнений" in page
    assert "Сопутствующий:</span> I48.0 — ФП, пароксизм" in page
    assert page.index("Диагнозы (МКБ-10)") < page.index("Рекомендации</h3>")


def test_the_protocol_form_offers_the_search_and_the_roles(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, _token = in_work(client, data)
    page = client.get(f"/appeals/{appeal.id}/protocol").get_data(as_text=True)
    assert "/api/v1/icd10" in page and 'name="protocol_files"' in page
    assert 'enctype="multipart/form-data"' in page
    assert '<option value="main" selected>основной</option>' in page
    assert '<option value="complication">осложнение основного</option>' in page
    assert "версия 2.27" in page
