"""One morango peer for the sync benchmark: set up the server, or push from a client.

    MORANGO_BENCH_DB=server.db python peer.py server-setup
    MORANGO_BENCH_DB=server.db python manage.py runserver 127.0.0.1:PORT --noreload
    MORANGO_BENCH_DB=client.db python peer.py push --server URL --dataset ID --workload FILE
    MORANGO_BENCH_DB=server.db python peer.py count

`server-setup` creates the scope definition, the server's root certificate (its
id is the dataset, i.e. the primary partition) and a superuser who may sign
certificate requests. `push` obtains a client certificate by a signed request
to the server (as Kolibri does), runs one empty push to settle the session
state, writes the workload's records, prints READY, waits for a line on stdin,
then runs one measured push sync session and prints one JSON line with the
wall time of each phase. Files are not sent: morango has no blob transfer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchpeer.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from morango.models.certificates import Certificate, Filter, ScopeDefinition  # noqa: E402
from morango.sync.controller import MorangoProfileController  # noqa: E402
from records.models import AttachmentMeta, Patient, PeerUser  # noqa: E402

PROFILE = "benchdata"
SCOPE = "bench_scope"
USER, PASSWORD = "bench", "bench-password"


def _migrate() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    ScopeDefinition.objects.get_or_create(
        id=SCOPE,
        defaults={
            "profile": PROFILE,
            "version": 1,
            "primary_scope_param_key": "dataset",
            "description": "Benchmark dataset ${dataset}",
            "read_filter_template": "",
            "write_filter_template": "",
            "read_write_filter_template": "${dataset}",
        },
    )


def server_setup() -> int:
    _migrate()
    root = Certificate.generate_root_certificate(SCOPE)
    if not PeerUser.objects.filter(username=USER).exists():
        PeerUser.objects.create_superuser(USER, "", PASSWORD)
    print(json.dumps({"dataset": root.id}))
    return 0


def count() -> int:
    print(json.dumps({"patients": Patient.objects.count(), "attachments": AttachmentMeta.objects.count()}))
    return 0


def _load(dataset: str, workload: Path) -> int:
    work = json.loads(workload.read_text())
    patients = []
    for p in work["patients"]:
        row = Patient(
            dataset=dataset,
            last_name=p["last_name"],
            first_name=p["first_name"],
            middle_name=p.get("middle_name", ""),
            birth_date=p["birth_date"],
            sex=p["sex"],
            snils=p.get("snils"),
            phone=p.get("phone"),
            organization=p["organization"],
        )
        row.id = row.calculate_uuid()
        patients.append(row)
    files = []
    for f in work["files"]:
        row = AttachmentMeta(
            dataset=dataset,
            appeal=f["appeal"],
            filename=f["filename"],
            content_type=f["content_type"],
            size=f["size"],
            sha256=f["sha256"],
        )
        row.id = row.calculate_uuid()
        files.append(row)
    with transaction.atomic():
        Patient.objects.bulk_create(patients, batch_size=500)
        AttachmentMeta.objects.bulk_create(files)
    return len(patients) + len(files)


def _push_once(conn, client_cert, server_cert, sync_filter) -> dict[str, float]:  # type: ignore[no-untyped-def]
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    session = conn.create_sync_session(client_cert, server_cert)
    t1 = time.perf_counter()
    client = session.get_push_client()
    client.initialize(sync_filter)  # serialize into the store, queue into the buffer, remotely too
    t2 = time.perf_counter()
    client.run()  # send the buffer in chunks
    t3 = time.perf_counter()
    client.finalize()  # the server dequeues and deserializes into its app tables
    t4 = time.perf_counter()
    conn.close_sync_session(session.sync_session)
    t5 = time.perf_counter()
    phases.update(
        session_s=t1 - t0,
        initialize_s=t2 - t1,
        transfer_s=t3 - t2,
        finalize_s=t4 - t3,
        close_s=t5 - t4,
        wall_s=t5 - t0,
        records=float(client.current_transfer_session.records_total or 0),
    )
    return phases


def push(server: str, dataset: str, workload: Path) -> int:
    _migrate()
    controller = MorangoProfileController(PROFILE)
    conn = controller.create_network_connection(server)
    server_cert = conn.get_remote_certificates(dataset, SCOPE)[0]
    client_cert = conn.certificate_signing_request(
        server_cert, SCOPE, {"dataset": dataset}, userargs=USER, password=PASSWORD
    )
    sync_filter = Filter(dataset)
    _push_once(conn, client_cert, server_cert, sync_filter)  # settles certificates and FSICs
    loaded = _load(dataset, workload)
    print(f"READY {loaded}", flush=True)
    sys.stdin.readline()
    result = _push_once(conn, client_cert, server_cert, sync_filter)
    result["bytes_sent_by_client_lib"] = float(conn.bytes_sent)
    result["bytes_received_by_client_lib"] = float(conn.bytes_received)
    conn.close()
    print(json.dumps(result), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("server-setup")
    sub.add_parser("count")
    p = sub.add_parser("push")
    p.add_argument("--server", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--workload", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "server-setup":
        return server_setup()
    if args.command == "count":
        return count()
    return push(args.server, args.dataset, args.workload)


if __name__ == "__main__":
    sys.exit(main())
