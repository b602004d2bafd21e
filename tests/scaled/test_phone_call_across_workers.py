"""«Аудиозвонок на телефон» on a scaled central: two instances, each `faplink central run --workers 2`,
on one PostgreSQL and one Redis, with real SIP phones (sipp).

The call's SIP dialog lives in the web worker that dialled it; the consultant's next
request may reach any other worker or instance. Here it reaches the other instance,
which cannot be the dialling process: it follows the call, refuses a second one,
hangs it up, and learns that it is over when the dialling worker dies.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from domain.models import CallLog, CallOutcome
from sync.changes import latest_stamp
from sync.db import CENTRAL, bind_replica, database, open_database_url
from tests.helpers.chat import in_work
from tests.helpers.cluster import ApiClient
from tests.helpers.scaled import REDIS_URL
from tests.helpers.timing import wait_until
from tests.telephony.sipp import Phone, free_udp_port

#: How long a worker's hold on its calls lasts without renewal: short, so that a killed
#: worker's call is given up within seconds.
HOLDER_LEASE_S = 3

HOLDER_LOST = (
    "Центр потерял связь со звонком: процесс, который его вёл, остановился. "
    "Если разговор ещё идёт, завершите его на телефоне"
)


class Instances:
    """Two instances of central, web workers behind a realtime gateway each, seeded like the demo."""

    def __init__(self, urls: list[str], data: Any, pg_url: str) -> None:
        self.urls = urls
        self.data = data
        self.pg_url = pg_url


@pytest.fixture
def instances(tmp_path: Path, pg_url: str) -> Iterator[Instances]:
    from faplink.demo_seed import seed
    from runtime.processes import faplink_command, start, stop, wait_http
    from tests.helpers.ports import free_port

    env = {"FAPLINK_MESSAGE_QUEUE": REDIS_URL, "FAPLINK_TELEPHONY_HOLDER_LEASE": str(HOLDER_LEASE_S)}
    procs = []
    urls = []
    try:
        for _ in range(2):  # one after the other: the first migrates the new database
            port = free_port()
            command = faplink_command(
                "central", "run", "--workers", "2", "--port", str(port),
                "--data", str(tmp_path / "central"), "--database-url", pg_url,
            )  # fmt: skip
            procs.append(start(command, tmp_path / f"central-{port}.log", env=env))
            urls.append(f"http://127.0.0.1:{port}")
            wait_http(f"{urls[-1]}/login", timeout=90, process=procs[-1])
        open_database_url(pg_url)
        bind_replica(CENTRAL, latest_stamp())
        data = seed(days=2, weekends=True)
        database.close()
        yield Instances(urls, data, pg_url)
    finally:
        for proc in procs:
            stop(proc, timeout=30)


@pytest.fixture
def phones(tmp_path: Path) -> Iterator[list[Phone]]:
    started: list[Phone] = []
    yield started
    for phone in started:
        phone.stop()


def _phone(phones: list[Phone], scenario: str, name: str, root: Path) -> Phone:
    phone = Phone(scenario, root, name)
    phones.append(phone)
    return phone.wait_ready()


def _configure(central: Instances, trunk_port: int, consultant_phone: str) -> None:
    """The administrator sets up «Телефония»; Иванова gives her own phone in «Профиль»."""
    admin = ApiClient(central.urls[0], "admin")
    saved = admin.post(
        f"/admin/telephony?centre={central.data.centre_id}",
        data={
            "kind": "sip",
            "transport": "udp",
            "host": "127.0.0.1",
            "port": str(trunk_port),
            "caller_id": "+7 (4822) 00-00-00",
            "ring_timeout": "15",
        },
    )
    assert saved.status_code == 200 and "сохранена" in saved.text, saved.text
    own = ApiClient(central.urls[1], "ivanova").post("/profile/phone", data={"phone": consultant_phone})
    assert "Ваш телефон для звонков сохранён" in own.text


def _appeal_in_work(central: Instances) -> str:
    open_database_url(central.pg_url)
    bind_replica(CENTRAL, latest_stamp())
    appeal = in_work(central.data, "ivanova")
    database.close()
    return str(appeal.id)


def _call_on(client: ApiClient, call_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/phone-calls/{call_id}")
    assert response.status_code == 200, f"{client.base} does not know the call: {response.status_code}"
    return dict(response.json())


def _phone_logs(central: Instances, appeal_id: str) -> list[CallLog]:
    open_database_url(central.pg_url)
    try:
        return list(CallLog.select().where((CallLog.appeal == appeal_id) & (CallLog.mode == "phone")))
    finally:
        database.close()


def test_a_phone_call_dialled_by_one_instance_is_followed_and_hung_up_on_the_other(
    instances: Instances, phones: list[Phone], tmp_path: Path
) -> None:
    central = instances
    consultant_phone = _phone(phones, "consultant_phone.xml", "consultant", tmp_path)
    patient_phone = _phone(phones, "patient_phone.xml", "patient", tmp_path)
    _configure(central, patient_phone.port, consultant_phone.uri)
    appeal_id = _appeal_in_work(central)
    # Иванова's page is served by instance A, and then (a reload, the proxy's choice) by B.
    on_a = ApiClient(central.urls[0], "ivanova")
    on_b = ApiClient(central.urls[1], "ivanova")

    started = on_a.post(f"/api/v1/appeals/{appeal_id}/phone-calls")
    assert started.status_code == 202, started.text
    call_id = started.json()["id"]

    call = wait_until(
        lambda: (c := _call_on(on_b, call_id))["state"] == "connected" and c,
        "B to see the call connected",
        interval=0.2,
    )
    assert call["state_label"] == "Идёт разговор"
    offer = on_b.get(f"/api/v1/appeals/{appeal_id}/phone-call").json()
    assert offer["available"] is False and offer["call"]["id"] == call_id
    again = on_b.post(f"/api/v1/appeals/{appeal_id}/phone-calls")
    assert again.status_code == 409 and again.json()["message"] == "Звонок по этому обращению уже идёт"

    ended = on_b.post(f"/api/v1/phone-calls/{call_id}/hang-up")
    assert ended.status_code == 200, ended.text
    assert (ended.json()["state"], ended.json()["outcome"], ended.json()["message"]) == (
        "ended",
        "completed",
        None,
    )
    # Both phones were hung up by the worker of A that holds their dialogs.
    assert consultant_phone.finish() == 0, consultant_phone.problems()
    assert patient_phone.finish() == 0, patient_phone.problems()
    assert consultant_phone.received("BYE") and patient_phone.received("BYE")

    assert _call_on(on_a, call_id)["state"] == "ended"
    assert on_a.get(f"/api/v1/appeals/{appeal_id}/phone-call").json()["available"] is True
    (row,) = _phone_logs(central, appeal_id)
    assert (row.id, row.outcome, row.detail) == (call_id, CallOutcome.COMPLETED, "")


def test_a_call_whose_worker_dies_ends_with_a_clear_message_everywhere(
    instances: Instances, phones: list[Phone], tmp_path: Path
) -> None:
    central = instances
    consultant_phone = _phone(phones, "consultant_no_answer.xml", "consultant", tmp_path)
    _configure(central, free_udp_port(), consultant_phone.uri)  # the patient is never dialled
    appeal_id = _appeal_in_work(central)
    on_a = ApiClient(central.urls[0], "ivanova")
    on_b = ApiClient(central.urls[1], "ivanova")

    started = on_a.post(f"/api/v1/appeals/{appeal_id}/phone-calls")
    assert started.status_code == 202, started.text
    call_id = started.json()["id"]
    wait_until(lambda: consultant_phone.received("INVITE"), "the consultant's phone to ring")
    assert _call_on(on_b, call_id)["state"] == "calling_consultant"

    # The web worker of A that dialled is killed (out of memory, a crash): gunicorn starts another.
    stored = redis.Redis.from_url(REDIS_URL).get(f"faplink:phone-calls:call:{call_id}")
    assert stored is not None
    holder_pid = int(json.loads(stored)["holder"].split(":")[1])
    os.kill(holder_pid, signal.SIGKILL)

    call = wait_until(
        lambda: (c := _call_on(on_b, call_id))["state"] == "ended" and c,
        "B to see the call given up",
        interval=0.2,
    )
    assert (call["outcome"], call["message"]) == ("failed", HOLDER_LOST)
    assert _call_on(on_a, call_id)["message"] == HOLDER_LOST
    offer = on_a.get(f"/api/v1/appeals/{appeal_id}/phone-call").json()
    assert offer["available"] is True  # she may call again
    (row,) = _phone_logs(central, appeal_id)
    assert (row.id, row.outcome, row.detail) == (call_id, CallOutcome.FAILED, HOLDER_LOST)
