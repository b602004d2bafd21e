"""kill -9 of the node or of central at random points during sync, again and again.

After every run a clean round must leave every record exactly once on both
sides, nothing parked, every file in place, and both databases intact.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import time
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from domain.booking import book_appeal
from domain.models import REPLICATED_MODELS, Attachment, Patient, Slot, Staff
from runtime.processes import faplink_command
from sync.changes import collect_changes, latest_stamp
from sync.db import CENTRAL, bind_replica, connect_file, open_database
from sync.migrations import migrate
from sync.state import CENTRAL_MIGRATIONS, NODE_MIGRATIONS
from tests.helpers.cluster import Cluster, node_data_key, node_env
from tests.helpers.relay import Relay

RUNS = int(os.environ.get("FAPLINK_FAULT_RUNS", "50"))
#: The runs are cut into parts, each on its own cluster with its own seed, so that parallel
#: workers share them (one part is a tenth of an hour on a busy machine, the whole an hour).
PARTS = 5
PATIENTS_PER_RUN = 40


def _sync_once(node_dir: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        faplink_command("node", "sync", "--data", node_dir, "--once"),
        env=node_env(node_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _write_at_post(node_dir: Path, node_id: str, run: int, rng: random.Random) -> None:
    """What a feldsher records offline between two links: patients, appeals, a file."""
    from sync.blobs import BlobStore

    db = open_database(node_dir / "node.db", node_data_key(node_dir).database_key)
    migrate(db, NODE_MIGRATIONS)
    bind_replica(node_id, latest_stamp())
    post_id = Staff.get(Staff.role == "feldsher").organization_id
    feldsher = Staff.get(Staff.role == "feldsher")
    doctor = Staff.get((Staff.role == "consultant") & Staff.last_name.startswith("Иванова"))
    blobs = BlobStore(node_dir / "blobs", key=node_data_key(node_dir).blob_key)
    with db.atomic():
        for n in range(PATIENTS_PER_RUN):
            patient = Patient.create(
                last_name=f"Прогон{run}",
                first_name=f"Пациент{n}",
                birth_date=date(1970, 1, 1),
                sex="female",
                phone=f"+7912{run:03d}{n:04d}",
                organization=post_id,
            )
            if n % 4 == 0:
                appeal = book_appeal(
                    consent_by="patient",  # the ИДС to the consultation
                    patient=patient,
                    author=feldsher,
                    specialty=doctor.specialty,
                    consultant=doctor,
                    slot=None,
                    form_of_care=rng.choice(["emergency", "urgent"]),
                    question=f"Вопрос {run}-{n}",
                )
                if n == 0:
                    data = b"%PDF-1.4\n" + os.urandom(rng.randint(300_000, 700_000))
                    Attachment.create(
                        appeal=appeal,
                        filename=f"run{run}.pdf",
                        content_type="application/pdf",
                        size=len(data),
                        sha256=blobs.put(data),
                    )
    db.close()


def _write_at_central(central_dir: Path, run: int) -> None:
    """Meanwhile central adds slots to a schedule (they travel to the post)."""
    from datetime import timedelta

    from sync.clock import utcnow

    db = open_database(central_dir / "central.db")
    migrate(db, CENTRAL_MIGRATIONS)
    bind_replica(CENTRAL, latest_stamp())
    doctor = Staff.get((Staff.role == "consultant") & Staff.last_name.startswith("Иванова"))
    start = utcnow() + timedelta(days=30 + run)
    with db.atomic():
        for n in range(10):
            begins = start + timedelta(minutes=30 * n)
            Slot.create(consultant=doctor, starts_at=begins, ends_at=begins + timedelta(minutes=30))
    db.close()


def _snapshot(db_path: Path, scope_org: str | None, key: bytes | None = None) -> dict[tuple[str, str], str]:
    db = open_database(db_path, key)
    rows, more = collect_changes(0, 10_000_000, scope_org=scope_org)
    assert not more
    out = {(r._meta.table_name, r.id): r.hlc for r in rows}
    db.close()
    return out


def _check(db_path: Path, key: bytes | None = None) -> tuple[str, int]:
    with closing(connect_file(db_path, key)) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        pending = conn.execute("SELECT count(*) FROM pending_record").fetchone()[0]
    return integrity, pending


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("part", range(PARTS))
def test_kill_minus_nine_at_random_points_loses_and_duplicates_nothing(tmp_path: Path, part: int) -> None:
    cluster = Cluster(tmp_path)
    runs = RUNS // PARTS + (1 if part < RUNS % PARTS else 0)
    rng = random.Random(int(os.environ.get("FAPLINK_FAULT_SEED", "20261128")) + part)
    node_dir = Path(cluster.plan["posts"][0]["dir"])  # type: ignore[index]
    central_dir = Path(cluster.plan["central"]["dir"])  # type: ignore[index]
    node_id = "demo-post-1"
    try:
        cluster.start_central()
        # Through a relay at 2 MB/s, so that a round lasts long enough to be hit.
        relay = Relay(cluster.port, rate=2_000_000)
        cluster.route_post_through(0, relay.port)
        first = _sync_once(str(node_dir))
        assert first.returncode == 0, first.stderr
        kills = {"node": 0, "central": 0}
        for run in range(runs):
            _write_at_post(node_dir, node_id, run, rng)
            _write_at_central(central_dir, run)
            victim = rng.choice(["node", "central"])
            proc = subprocess.Popen(
                faplink_command("node", "sync", "--data", str(node_dir), "--once"),
                env=node_env(node_dir),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            started = relay.counters.up
            deadline = time.monotonic() + 30
            while relay.counters.up == started and proc.poll() is None:
                assert time.monotonic() < deadline, "the sync round never reached central"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))  # somewhere inside the round
            if victim == "node":
                if proc.poll() is None:
                    proc.kill()
                    kills["node"] += 1
                proc.wait()
            else:
                assert cluster.central_proc is not None
                if cluster.central_proc.poll() is None and proc.poll() is None:
                    kills["central"] += 1
                cluster.stop_central(kill=True)
                proc.wait(timeout=120)
                cluster.start_central()
            for _attempt in range(5):
                done = _sync_once(str(node_dir))
                if done.returncode == 0:
                    break
            assert done.returncode == 0, f"run {run}: {done.stderr[-2000:]}"
            post_id = _post_id(node_dir)
            node_key = node_data_key(node_dir).database_key
            at_node = _snapshot(node_dir / "node.db", None, node_key)
            at_central = _snapshot(central_dir / "central.db", post_id)
            assert at_node == at_central, f"run {run}: the two sides differ"
            for path, key in ((node_dir / "node.db", node_key), (central_dir / "central.db", None)):
                assert _check(path, key) == ("ok", 0), f"run {run}: {path.name}"
            _files_everywhere(node_dir, central_dir)
        # A kill that lands after the round already ended proves nothing: most must land.
        print(f"kills landed during a round: {kills} of {runs} runs")
        assert kills["node"] + kills["central"] >= runs // 2, kills
        _no_duplicates(central_dir, runs)
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.stop_all()


def _post_id(node_dir: Path) -> str:
    import json

    return str(json.loads((node_dir / "node.json").read_text())["organization_id"])


def _files_everywhere(node_dir: Path, central_dir: Path) -> None:
    with closing(connect_file(node_dir / "node.db", node_data_key(node_dir).database_key)) as conn:
        shas = [row[0] for row in conn.execute("SELECT sha256 FROM attachment")]
    for sha in shas:
        for root in (node_dir, central_dir):
            assert (root / "blobs" / sha[:2] / sha).is_file(), f"{sha} missing in {root.name}"


def _no_duplicates(central_dir: Path, runs: int) -> None:
    with sqlite3.connect(central_dir / "central.db") as conn:
        count = conn.execute("SELECT count(*) FROM patient WHERE last_name LIKE 'Прогон%'").fetchone()[0]
        distinct = conn.execute(
            "SELECT count(DISTINCT phone) FROM patient WHERE last_name LIKE 'Прогон%'"
        ).fetchone()[0]
    assert count == distinct == runs * PATIENTS_PER_RUN


_ = REPLICATED_MODELS
