"""pouchdb-server in sync_compare: server-to-server replication, as a CouchDB deployment does it.

Two pouchdb-server processes (LevelDB, each in its own directory): the post's and
the centre's. A run:

  1. both start, each with an empty `bench` database, and one replication of the
     empty database runs (not measured), as the faplink node's first round does;
  2. the workload is written into the post's server directly (not through the
     relay): one doc per patient, one doc per file with the file as its attachment;
  3. the measured replication: by default the centre's server pulls from the
     post's (`POST /_replicate {"source": "http://relay/bench", "target": "bench"}`),
     the direction in which PouchDB's replicator fetches each attachment as binary
     (`GET /bench/{id}/{file}`) and pouchdb-server gzips its JSON answers. With
     `--pouch-direction push` the post's server pushes to the centre's instead:
     PouchDB then sends attachments base64-encoded inside `_bulk_docs` (+33 %),
     and the files' bytes cannot be told apart from the records'.

Time: the `_replicate` request, sent straight to the replicating server (only
the replication itself goes through the relay). Afterwards every doc must be at
the centre, and every attachment with its length and MD5 digest.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import time
from pathlib import Path
from typing import Any

import requests
from benchlib import (
    BENCH,
    Relay,
    Workload,
    cpu_seconds,
    free_port,
    start_process,
    stop_process,
    tcp_open,
    wait_until,
)
from runs import Run, split_ledger

__all__ = ["DIRECTIONS", "NODE", "POUCH_SERVER", "pouch_peers_missing", "run_pouchdb"]

POUCH_SERVER = BENCH / "node_modules" / ".bin" / "pouchdb-server"
NODE = shutil.which("node") or "node"
DIRECTIONS = ("pull", "push")
DB = "bench"
#: An attachment's own GET (`/bench/{id}/{file}`), as the relay's ledger labels it.
_ATTACHMENT_GET = re.compile(r"^GET /bench/\{uuid\}/[^_/][^/]*$")


class PouchServer:
    """One pouchdb-server process with its LevelDB directory."""

    def __init__(self, directory: Path, log: Path) -> None:
        directory.mkdir(parents=True)
        self.port = free_port()
        self.log = log
        self.process = start_process(
            [
                str(POUCH_SERVER),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(directory),
                "--config",
                str(directory / "config.json"),
                "--no-stdout-logs",
            ],
            log,
            cwd=directory,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self) -> None:
        wait_until(
            lambda: tcp_open("127.0.0.1", self.port), 60, "pouchdb-server listened", self.process, self.log
        )

    def call(self, method: str, path: str, json: Any = None, timeout: float = 120) -> Any:
        answer = requests.request(method, f"{self.url}{path}", json=json, timeout=timeout)
        if answer.status_code >= 400:
            raise RuntimeError(
                f"pouchdb-server: {method} {path} answered {answer.status_code}: {answer.text[:300]}"
            )
        return answer.json()

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        stop_process(self.process)


def _md5_digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def load(server: PouchServer, work: Workload) -> None:
    """The workload as PouchDB documents: patients in batches of 1,000, then one doc per file."""
    docs = [
        {"_id": p["id"], "type": "patient", **{k: v for k, v in p.items() if k != "id"}}
        for p in work.patients
    ]
    for i in range(0, len(docs), 1000):
        _bulk(server, docs[i : i + 1000])
    for f in work.files:
        data = work.blob_path(f["sha256"]).read_bytes()
        doc = {"_id": f["id"], "type": "attachment", **{k: v for k, v in f.items() if k != "id"}}
        doc["_attachments"] = {
            f["filename"]: {"content_type": f["content_type"], "data": base64.b64encode(data).decode()}
        }
        _bulk(server, [doc])


def _bulk(server: PouchServer, docs: list[dict[str, Any]]) -> None:
    answer = server.call("POST", f"/{DB}/_bulk_docs", {"docs": docs}, timeout=300)
    failed = [row for row in answer if not row.get("ok")]
    if failed:
        raise RuntimeError(f"pouchdb-server refused {len(failed)} docs: {failed[:3]}")


def verify(server: PouchServer, work: Workload) -> None:
    """Every doc at `server`, every attachment whole (length and MD5 as stored)."""
    info = server.call("GET", f"/{DB}")
    expected = len(work.patients) + len(work.files)
    if info.get("doc_count") != expected:
        raise RuntimeError(
            f"the centre's pouchdb-server holds {info.get('doc_count')} docs, expected {expected}"
        )
    if not work.files:
        return
    keys = {"keys": [f["id"] for f in work.files]}
    rows = server.call("POST", f"/{DB}/_all_docs?include_docs=true", keys)["rows"]
    for f, row in zip(work.files, rows, strict=True):
        stub = ((row.get("doc") or {}).get("_attachments") or {}).get(f["filename"]) or {}
        data = work.blob_path(f["sha256"]).read_bytes()
        if stub.get("length") != len(data) or stub.get("digest") != _md5_digest(data):
            raise RuntimeError(f"file {f['filename']} is not whole at the centre: {stub}")


def run_pouchdb(work: Workload, run_dir: Path, direction: str = "pull") -> Run:
    """One measured server-to-server replication of `work` (see the module's docstring)."""
    post = PouchServer(run_dir / "post", run_dir / "pouchdb-post.log")
    centre = PouchServer(run_dir / "centre", run_dir / "pouchdb-centre.log")
    relay: Relay | None = None
    try:
        post.wait()
        centre.wait()
        for server in (post, centre):
            server.call("PUT", f"/{DB}")
        # The relay stands before the server that is replicated from (pull) or to (push).
        relay = Relay(post.port if direction == "pull" else centre.port)
        remote = f"http://127.0.0.1:{relay.port}/{DB}"
        if direction == "pull":
            replicator, job = centre, {"source": remote, "target": DB}
        else:
            replicator, job = post, {"source": DB, "target": remote}
        replicator.call("POST", "/_replicate", job)  # nothing to move yet: a warm-up
        load(post, work)
        relay.reset()
        cpu_centre, cpu_post = centre.cpu(), post.cpu()
        started = time.monotonic()
        result = replicator.call("POST", "/_replicate", job, timeout=1800)
        wall = time.monotonic() - started
        cpu_centre, cpu_post = centre.cpu() - cpu_centre, post.cpu() - cpu_post
        is_file = (lambda label: bool(_ATTACHMENT_GET.match(label))) if direction == "pull" else None
        split = split_ledger(relay, lambda _label: True, is_file)
        ledger = relay.ledger_lines("    ")
        if not result.get("ok") or result.get("doc_write_failures"):
            raise RuntimeError(f"the replication failed: {str(result)[:500]}")
        verify(centre, work)
    finally:
        if relay is not None:
            relay.close()
        post.stop()
        centre.stop()
    extra = {
        "result": {k: result.get(k) for k in ("docs_read", "docs_written", "doc_write_failures")},
        "direction": direction,
        "other_bytes": split.other,
        "cpu_server_s": cpu_centre,
        "cpu_client_s": cpu_post,
    }
    files = split.files if direction == "pull" else None
    return Run(wall, split.up, split.down, extra, ledger, files_wire=files)


def pouch_peers_missing() -> str | None:
    """None if pouchdb-server is installed here, else how to install it."""
    if POUCH_SERVER.exists():
        return None
    return f"no {POUCH_SERVER} (install: make bench/node_modules/.installed)"
