"""A link cut in the middle of a file: the transfer resumes, re-sending at most one chunk.

On a fast link (loopback) chunks are FAST_CHUNK long after the first and several files go
up at once: a cut then re-sends at most the chunks that were under way.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hardware.simulators.ecg_export import ecg_export
from runtime.processes import faplink_command, start, stop, wait_http
from sync.blobs import CHUNK_SIZE, BlobStore
from sync.client import FAST_CHUNK
from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works, node_data_key, node_env
from tests.helpers.ports import free_port
from tests.helpers.relay import Relay

SIZE = 2 * 1024 * 1024
OVERHEAD = 64 * 1024  # headers and JSON of the few requests around the chunks
# Only the test and the feldsher's writes start sync rounds. The live link to central also
# wakes the worker (each time it connects); nor may the link check's probes take the relay's cut.
QUIET = {"FAPLINK_CENTRAL_LINK": "false", "FAPLINK_LINK_CHECK_ENABLED": "false"}


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=3600)
    cluster.env.update(QUIET)
    yield cluster
    cluster.stop_all()


def _book_with_file(post: str, data: bytes | None = None, filename: str = "ecg.pdf") -> tuple[str, str]:
    feldsher = ApiClient(post, "fap1")
    doctor = feldsher.get("/api/v1/consultants", params={"name": "Иванова"}).json()["consultants"][0]
    slot = feldsher.get(f"/api/v1/consultants/{doctor['id']}/slots").json()["slots"][0]
    patient = feldsher.get("/api/v1/patients", params={"q": "+79151112233"}).json()["patients"][0]
    appeal = feldsher.post(
        "/api/v1/appeals",
        json={
            "patient": patient["id"],
            "consultant": doctor["id"],
            "slot": slot["id"],
            "form_of_care": "planned",
            "question": "ЭКГ во вложении: есть ли признаки ишемии?",
            "consent_by": "patient",  # the ИДС to the consultation
        },
    ).json()
    if data is None:
        data = b"%PDF-1.4\n" + os.urandom(SIZE - 9)  # as good as incompressible
    response = feldsher.post(f"/api/v1/appeals/{appeal['id']}/attachments", files={"file": (filename, data)})
    assert response.status_code == 201, response.text
    return appeal["id"], response.json()["sha256"]


def _central_has(cluster: Cluster, sha: str) -> bool:
    return (Path(cluster.plan["central"]["dir"]) / "blobs" / sha[:2] / sha).is_file()  # type: ignore[index]


def _held_at_central(cluster: Cluster, sha: str) -> int:
    """Bytes of the file central holds: all of it, or what the post's upload staged so far."""
    blobs = Path(cluster.plan["central"]["dir"]) / "blobs"  # type: ignore[index]
    if _central_has(cluster, sha):
        return (blobs / sha[:2] / sha).stat().st_size
    return sum(part.stat().st_size for part in (blobs / "staging").glob(f"{sha}.*.part"))


def _state(client: ApiClient) -> str:
    return str(client.get("/api/v1/sync/status").json()["state"])


def _post_behind_relay(cluster: Cluster) -> tuple[Relay, str]:
    """Central, and post 1 syncing through a relay that can cut its link; after its first sync."""
    cluster.start_central()
    relay = Relay(cluster.port)
    cluster.route_post_through(0, relay.port)
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")
    return relay, post


def _failed_rounds(cluster: Cluster) -> int:
    return _failed_rounds_at(cluster.root / "logs" / "post1.log")


def _failed_rounds_at(log: Path) -> int:
    return log.read_text(errors="replace").count("sync round failed")


def test_upload_cut_mid_blob_resumes_without_resending(cluster: Cluster) -> None:
    relay, post = _post_behind_relay(cluster)
    feldsher = ApiClient(post, "fap1")
    failed = _failed_rounds(cluster)
    before = relay.counters.up
    # The feldsher's writes start the round that sends them: the cut is armed before. The
    # records go first, then about 1 MB into the file.
    relay.cut_up_after = 1_000_000
    appeal_id, sha = _book_with_file(post)
    eventually(lambda: relay.cuts == 1, what="the cut")
    # What central holds now: after the cut, whatever a retry has added meanwhile (one may start
    # at once); the bytes sent from here on must be no more than what it lacks.
    held = _held_at_central(cluster, sha)
    assert held >= CHUNK_SIZE  # the first chunk, sent before the link was measured fast
    resumed_from = relay.counters.up
    feldsher.post("/api/v1/sync/now")  # (the worker also retries by itself after its backoff)
    eventually(lambda: _central_has(cluster, sha), what="the whole file at central")
    assert _failed_rounds(cluster) > failed  # the cut round failed; a later one resumed
    assert relay.counters.up - resumed_from <= SIZE - held + OVERHEAD  # only what central lacked
    sent = relay.counters.up - before
    assert SIZE <= sent <= SIZE + FAST_CHUNK + OVERHEAD, sent  # the chunk under way at the cut
    consultant = ApiClient(cluster.central_url, "ivanova")
    files = consultant.get(f"/api/v1/appeals/{appeal_id}").json()["attachments"]
    assert [(f["filename"], f["sha256"]) for f in files] == [("ecg.pdf", sha)]
    relay.close()


def test_a_cut_while_files_go_up_at_once_resumes_each_from_what_central_holds(cluster: Cluster) -> None:
    relay, post = _post_behind_relay(cluster)
    feldsher = ApiClient(post, "fap1")
    relay.refuse = True  # three ECGs wait at the post, then go in one round
    relay.drop()
    shas = [_book_with_file(post)[1] for _ in range(3)]
    eventually(lambda: _state(feldsher) == "offline", what="the post offline")
    before = relay.counters.up
    # The first file goes alone (the link is not measured yet), then the other two at once,
    # a chunk of each under way when the link is cut.
    relay.cut_up_after = 2 * SIZE + SIZE // 2
    relay.refuse = False
    feldsher.post("/api/v1/sync/now")
    eventually(lambda: relay.cuts == 1, what="the cut")
    held = {sha: _held_at_central(cluster, sha) for sha in shas}
    assert sum(held.values()) >= SIZE  # what came before the cut stays at central
    resumed_from = relay.counters.up
    feldsher.post("/api/v1/sync/now")
    eventually(lambda: all(_central_has(cluster, sha) for sha in shas), what="the files at central")
    assert relay.counters.up - resumed_from <= sum(SIZE - n for n in held.values()) + OVERHEAD
    assert relay.counters.up - before <= 3 * SIZE + 3 * FAST_CHUNK + OVERHEAD
    relay.close()


def test_download_cut_mid_blob_resumes_on_a_second_kiosk(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")

    relay = Relay(cluster.port)
    with _second_kiosk(cluster, tmp_path, relay) as (kiosk_dir, client):
        _appeal_id, sha = _book_with_file(post)  # at kiosk A
        ApiClient(post, "fap1").post("/api/v1/sync/now")
        eventually(lambda: _central_has(cluster, sha), what="the file at central")

        log = tmp_path / "kiosk-b.log"
        failed = _failed_rounds_at(log)
        before = relay.counters.down
        relay.cut_down_after = 1_000_000
        client.post("/api/v1/sync/now")
        eventually(
            lambda: relay.cuts == 1 and _failed_rounds_at(log) > failed,
            what="the cut round to fail",
        )
        target = kiosk_dir / "blobs" / sha[:2] / sha
        assert not target.is_file()
        # What came before the cut waits sealed, chunk by chunk: no byte of the PDF in the clear.
        staged = list((kiosk_dir / "blobs" / "staging").glob("*.part"))
        assert staged and all(b"%PDF-1.4" not in part.read_bytes() for part in staged)
        held = BlobStore(kiosk_dir / "blobs", key=node_data_key(kiosk_dir).blob_key).staged(sha)
        assert held >= CHUNK_SIZE  # the chunks that came whole before the cut stay
        failed = _failed_rounds_at(log)
        resumed_from = relay.counters.down
        client.post("/api/v1/sync/now")
        eventually(lambda: target.is_file(), what="the file at kiosk B")
        # Resumed, the rest costs what kiosk B lacked. A round after this one may fail too (once,
        # under load, one did a few chunks in, on a kept-alive connection the cut had broken):
        # each such round loses at most the chunk it was receiving, and the next resumes again.
        # Started over, the rest would cost the whole file.
        again = _failed_rounds_at(log) - failed
        after = relay.counters.down - resumed_from
        assert after <= SIZE - held + again * CHUNK_SIZE + OVERHEAD, (after, held, again)
        assert relay.counters.down - before >= SIZE
        eventually(lambda: _state(client) == "idle", what="kiosk B idle again")
    relay.close()


def test_a_text_file_travels_gzipped_both_ways_and_still_resumes(cluster: Cluster, tmp_path: Path) -> None:
    """An ECG export (text) crosses the link in well under half its size, up and down, and a
    cut in the middle still resumes from the byte central holds."""
    up_relay, post = _post_behind_relay(cluster)
    down_relay = Relay(cluster.port)
    with _second_kiosk(cluster, tmp_path, down_relay) as (kiosk_dir, client):
        data = ecg_export(random.Random(12), SIZE)
        feldsher = ApiClient(post, "fap1")
        failed = _failed_rounds(cluster)
        before = up_relay.counters.up
        up_relay.cut_up_after = 300_000  # armed before the writes, which start the round
        appeal_id, sha = _book_with_file(post, data, "ecg-12.txt")
        eventually(lambda: up_relay.cuts == 1, what="the cut")
        held = _held_at_central(cluster, sha)
        resumed_from = up_relay.counters.up
        feldsher.post("/api/v1/sync/now")
        eventually(lambda: _central_has(cluster, sha), what="the whole file at central")
        assert _failed_rounds(cluster) > failed
        # What central lacked went packed to well under half; the cut cost at most the chunk
        # under way, packed too.
        assert up_relay.counters.up - resumed_from < (SIZE - held) // 2 + OVERHEAD
        sent = up_relay.counters.up - before
        assert sent < SIZE // 2 + FAST_CHUNK // 2, sent
        stored = Path(cluster.plan["central"]["dir"]) / "blobs" / sha[:2] / sha  # type: ignore[index]
        assert stored.read_bytes() == data

        before = down_relay.counters.down
        client.post("/api/v1/sync/now")
        target = kiosk_dir / "blobs" / sha[:2] / sha
        eventually(lambda: target.is_file(), what="the file at kiosk B")
        assert data not in target.read_bytes()  # sealed at the post ...
        store = BlobStore(kiosk_dir / "blobs", key=node_data_key(kiosk_dir).blob_key)
        assert store.read(sha) == data  # ... and whole
        received = down_relay.counters.down - before
        assert received < SIZE // 2, received
        files = client.get(f"/api/v1/appeals/{appeal_id}").json()["attachments"]
        assert [(f["filename"], f["sha256"]) for f in files] == [("ecg-12.txt", sha)]
    up_relay.close()
    down_relay.close()


@contextmanager
def _second_kiosk(cluster: Cluster, tmp_path: Path, relay: Relay) -> Iterator[tuple[Path, ApiClient]]:
    """A second kiosk at post 1, enrolled with a one-time token, syncing through `relay`."""
    central_dir = cluster.plan["central"]["dir"]  # type: ignore[index]
    node_json = Path(cluster.plan["posts"][0]["dir"]) / "node.json"  # type: ignore[index]
    post_id = json.loads(node_json.read_text())["organization_id"]
    token = subprocess.run(
        faplink_command("central", "issue-token", "--data", central_dir, "--organization", post_id),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    kiosk_dir = tmp_path / "kiosk-b"
    subprocess.run(
        faplink_command(
            "node",
            "enroll",
            "--data",
            str(kiosk_dir),
            "--central",
            f"http://127.0.0.1:{relay.port}",
            "--token",
            token,
        ),
        check=True,
        capture_output=True,
    )
    again = subprocess.run(
        faplink_command(
            "node",
            "enroll",
            "--data",
            str(tmp_path / "kiosk-c"),
            "--central",
            cluster.central_url,
            "--token",
            token,
        ),
        capture_output=True,
        text=True,
    )
    assert again.returncode != 0 and "уже использован" in again.stderr
    port = free_port()
    kiosk = start(
        faplink_command("node", "run", "--port", str(port), "--data", str(kiosk_dir)),
        tmp_path / "kiosk-b.log",
        env={**node_env(kiosk_dir), "FAPLINK_SYNC_INTERVAL": "3600", **QUIET},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/login", process=kiosk)
        client = eventually(lambda: _client_when_ready(base), what="kiosk B's first sync")
        eventually(lambda: _state(client) == "idle", what="kiosk B idle")
        yield kiosk_dir, client
    finally:
        stop(kiosk)


def _client_when_ready(base: str) -> ApiClient | None:
    return ApiClient(base, "fap1") if login_works(base, "fap1") else None
