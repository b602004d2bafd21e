"""A chemistry analyser on a serial port: its HbA1c, cholesterol and creatinine go into the exam
as observations with LOINC codes and UCUM units, are shown at the post, and after sync at central.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

from domain.models import Exam, Observation
from hardware.simulators import AstmSimulator
from hardware.simulators.astm import analyser_message
from node.exams.devices import start_devices
from sync.apply import apply_records
from sync.db import database
from tests.helpers.appeals import PATIENT, login_page, new_appeal
from tests.helpers.timing import wait_until
from web.vitals import CHOLESTEROL, CREATININE, GLUCOSE, HBA1C

#: One serum specimen as a Russian laboratory's analyser reports it.
PANEL = [("HBA1C", 6.8, "%"), ("CHOL", 5.2, "mmol/L"), ("CREA", 88, "µmol/L"), ("GLU", 6.1, "mmol/L")]
LABS = {HBA1C: (6.8, "%"), CHOLESTEROL: (5.2, "mmol/L"), CREATININE: (88.0, "umol/L")}
SHOWN = (
    "Гликированный гемоглобин (HbA1c)</td><td>6,8 %",
    "Холестерин общий</td><td>5,2 ммоль/л",
    "Креатинин</td><td>88 мкмоль/л",
)


def _analyser_readings(client, app):  # type: ignore[no-untyped-def]
    """The analyser's panel sent over a pty to the node's device feed; the readings by LOINC code."""
    simulator = AstmSimulator(messages=[analyser_message(PANEL, datetime.now())], reply_timeout=0.5)
    path = simulator.start()
    app.config["DEVICE_PORTS"] = [{"port": path, "protocol": "astm", "label": "Анализатор"}]
    app.config["DEVICE_SCAN"] = False
    feed = start_devices(app)
    try:
        readings: dict[str, dict] = {}  # type: ignore[type-arg]

        def panel_read() -> bool:
            nonlocal readings
            readings = {r["loinc"]: r for r in client.get("/api/v1/devices/readings").get_json()["readings"]}
            return {*LABS, GLUCOSE} <= set(readings)

        wait_until(panel_read, "the analyser's whole panel", interval=0.2)
        return readings
    finally:
        assert feed.hub is not None
        feed.hub.stop()
        simulator.stop()


def _central(tmp_path: Path, template: Path):  # type: ignore[no-untyped-def]
    from central import create_app

    data_dir = tmp_path / "central"
    data_dir.mkdir()
    shutil.copyfile(template, data_dir / "central.db")
    return create_app(
        {"DATA_DIR": data_dir, "DATABASE_URL": f"sqlite:///{data_dir / 'central.db'}", "TESTING": True}
    )


def test_analyser_results_reach_the_exam_and_central(feldsher, node_app, tmp_path, seeded_template) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    app, _ = node_app
    patient_id = data.patients[PATIENT]
    readings = _analyser_readings(client, app)
    assert {*LABS, GLUCOSE} <= set(readings), readings
    assert readings[CREATININE]["unit_label"] == "мкмоль/л" and readings[HBA1C]["device"] == "LabKiosk"

    # The form offers them under «Анализы»; «Взять показание» without scripts fills the row.
    page = client.get(f"/patients/{patient_id}/exams/new").get_data(as_text=True)
    assert "Анализы" in page and "Гликированный гемоглобин (HbA1c)" in page
    taken = client.post(
        f"/patients/{patient_id}/exams/new", data={"csrf_token": token, "take": HBA1C}
    ).get_data(as_text=True)
    assert re.search(rf'name="value_{HBA1C}"[^>]*value="6.8"', taken)
    assert f'name="device_{HBA1C}" value="LabKiosk"' in taken

    # Saved with the readings as the page's script puts them in the rows.
    form = {"csrf_token": token, "complaints": "Сухость во рту, жажда"}
    for code in (*LABS, GLUCOSE):
        r = readings[code]
        form |= {
            f"value_{code}": str(r["value"]).replace(".", ","),
            f"unit_{code}": r["unit"],
            f"device_{code}": r["device"],
            f"serial_{code}": r["device_serial"],
            f"at_{code}": r["taken_at"],
        }
    saved = client.post(f"/patients/{patient_id}/exams/new", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    exam = Exam.get(Exam.patient == patient_id, Exam.complaints == "Сухость во рту, жажда")
    stored = {o.loinc: o for o in exam.observations}
    assert {code: (stored[code].value, stored[code].unit) for code in LABS} == LABS
    assert {(o.manual, o.device, o.device_serial) for o in stored.values()} == {(False, "LabKiosk", "LK0042")}

    detail = client.get(f"/exams/{exam.id}").get_data(as_text=True)
    for text in SHOWN:
        assert text in detail
    assert 'aria-label="Креатинин, мкмоль/л"' in detail  # «Динамика показателей»

    # The post pushes the exam; central files it and shows it with the appeal.
    records = [exam.to_wire(), *(o.to_wire() for o in stored.values())]
    node_id = records[0]["origin"]
    database.close()
    central = _central(tmp_path, seeded_template[0])
    result = apply_records(records, peer=node_id, from_central=False, scope_org=data.posts[0][0])
    assert (result.applied, result.refused) == (len(records), [])
    assert {o.loinc: (o.value, o.unit) for o in Observation.select().where(Observation.exam == exam.id)} == {
        **LABS,
        GLUCOSE: (6.1, "mmol/L"),
    }
    appeal = new_appeal(data)
    consultant = central.test_client()
    login_page(consultant, "ivanova")
    html = consultant.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    section = html[html.index('id="exam"') :]
    for text in SHOWN:
        assert text in section
    assert 'aria-label="Гликированный гемоглобин (HbA1c), %"' in html


def test_mass_units_are_converted_to_what_russian_labs_report(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    url = f"/api/v1/patients/{data.patients[PATIENT]}/exams"
    headers = {"X-CSRF-Token": token}
    sent = [
        {"loinc": "2093-3", "value": 201, "unit": "mg/dL"},  # cholesterol, mass concentration
        {"loinc": "2160-0", "value": 1.0, "unit": "mg/dL"},  # creatinine, mass concentration
        {"loinc": "59261-8", "value": 51, "unit": "mmol/mol"},  # HbA1c, IFCC
    ]
    answer = client.post(url, json={"observations": sent}, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    got = {o["loinc"]: (o["value"], o["unit"]) for o in answer.get_json()["observations"]}
    assert got == {CHOLESTEROL: (5.2, "mmol/L"), CREATININE: (88.0, "umol/L"), HBA1C: (6.8, "%")}

    implausible = [{"loinc": HBA1C, "value": 68, "unit": "%"}]  # 6,8 with the comma lost
    refused = client.post(url, json={"observations": implausible}, headers=headers)
    assert refused.status_code == 400
    assert "Гликированный гемоглобин (HbA1c): значение 68" in refused.get_json()["message"]
