"""A simulated pulse oximeter on a pseudo-terminal feeds the exam form through the node's device feed."""

from __future__ import annotations

from hardware.simulators import create
from node.exams.devices import start_devices
from tests.helpers.timing import wait_until
from web.vitals import PULSE, SPO2


def test_readings_from_a_serial_device_reach_the_exam_form(feldsher, node_app) -> None:  # type: ignore[no-untyped-def]
    client, _, data = feldsher
    app, _ = node_app
    simulator = create("cms50")
    path = simulator.start()
    try:
        app.config["DEVICE_PORTS"] = [{"port": path, "protocol": "cms50", "label": "Пульсоксиметр"}]
        app.config["DEVICE_SCAN"] = False
        feed = start_devices(app)
        try:
            readings: dict[str, dict] = {}  # type: ignore[type-arg]

            def both_read() -> bool:
                nonlocal readings
                readings = {
                    r["loinc"]: r for r in client.get("/api/v1/devices/readings").get_json()["readings"]
                }
                return {SPO2, PULSE} <= set(readings)

            wait_until(both_read, "SpO2 and pulse from the oximeter", interval=0.2)
            assert readings[SPO2]["unit"] == "%" and readings[SPO2]["port"] == "Пульсоксиметр"
            page = client.get(f"/patients/{data.patients['Кузьмин Пётр Васильевич@1']}/exams/new")
            assert readings[SPO2]["device"] in page.get_data(as_text=True)
            assert any(link["state"] in ("connected", "detected") for link in feed.links())
        finally:
            assert feed.hub is not None
            feed.hub.stop()
    finally:
        simulator.stop()
