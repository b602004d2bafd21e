"""A post's files go up beside its records: on a fast link a batch's files start as soon as central
has acknowledged that batch, several files go at once, and a cut among them resumes every file
where central's copy ends. On a slow link the records go first, then the files one by one.
Central's staging area takes chunks of several files at once.

Central is played by a fake transport here (`_request`), which answers as central does and
keeps the bytes it received per file.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from domain.models import Attachment, Exam, Patient, Role, Staff
from sync.blobs import BlobStore, sha256_hex
from sync.changes import latest_seq
from sync.client import FAST_LINK, RoundReport, SyncClient
from sync.errors import TransportError
from sync.request_signing import NodeKey
from sync.session import CentralSession
from sync.state import Cursor, UploadedBlob

#: Long enough for any loaded machine; a wait only ends there if the behaviour is wrong.
DEADLINE_S = 30


@dataclass
class FakeCentral:
    """Answers pushes, «which files are missing» and chunk uploads; keeps what it received."""

    held: dict[str, bytes] = field(default_factory=dict)
    events: list[tuple[str, Any]] = field(default_factory=list)
    #: Set by a file's first chunk; the second push waits for it when `wait_in_second_push`.
    first_chunk: threading.Event = field(default_factory=threading.Event)
    wait_in_second_push: bool = False
    file_went_during_second_push: bool | None = None
    #: Chunks in progress at once: each chunk waits (up to the deadline) for this many.
    together: threading.Barrier | None = None
    most_at_once: int = 0
    #: The link is cut under this file's chunk at this offset (once).
    cut_at: tuple[str, int] | None = None
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(
        self, method: str, path: str, payload: Any = None, raw: bytes | None = None, **_: Any
    ) -> Any:
        if path == "/push":
            pushes = sum(1 for kind, _ in self.events if kind == "push") + 1
            self.events.append(("push", pushes))
            if pushes == 2 and self.wait_in_second_push:
                self.file_went_during_second_push = self.first_chunk.wait(DEADLINE_S)
            return _answer({"applied": 0, "stale": 0, "pending": 0, "refused": []})
        if path == "/blobs/missing":
            shas = payload["sha256"]
            offsets = {sha: len(self.held[sha]) for sha in shas if sha in self.held}
            return _answer({"missing": shas, "offsets": offsets})
        assert method == "PUT" and raw is not None, (method, path)
        sha = path.split("/")[2]
        offset = int(path.rsplit("=", 1)[1])
        with self._lock:
            self._active += 1
            self.most_at_once = max(self.most_at_once, self._active)
        try:
            if self.together is not None:
                self.together.wait(DEADLINE_S)
            if self.cut_at == (sha, offset):
                self.cut_at = None
                raise TransportError("Нет связи с центром: сервер не отвечает или сеть недоступна")
            with self._lock:
                self.events.append(("put", (sha, offset)))
                stored = self.held.setdefault(sha, b"")
                if offset == len(stored):
                    self.held[sha] = stored + raw
            self.first_chunk.set()
            return _answer({"offset": len(self.held[sha]), "complete": False})
        finally:
            with self._lock:
                self._active -= 1


def _answer(data: dict[str, Any]) -> Any:
    return SimpleNamespace(status_code=200, content=json.dumps(data).encode())


def _client(app: Any, central: FakeCentral, monkeypatch: pytest.MonkeyPatch, *, fast: bool) -> SyncClient:
    client = SyncClient(
        CentralSession("http://127.0.0.1:9", "test-post-1", NodeKey.generate()),
        app.extensions["blobs"],
        batch_size=20,
        chunk_size=4096,
    )
    monkeypatch.setattr(client, "_request", central)
    monkeypatch.setattr(client, "_adapt", lambda seconds: None)  # batches of 20, however quick
    monkeypatch.setattr("sync.client.FAST_CHUNK", 4096)  # several chunks a file, fast link or not
    client._report = RoundReport()
    # As measured by an earlier round's chunks (a fresh node measures with its first chunk).
    client._upload_rate = 10 * FAST_LINK if fast else 0.0
    return client


def _exam_with_file(app: Any, data: Any, size: int) -> str:
    """A feldsher's exam with an attached file of `size` random bytes; the file's digest."""
    post = data.posts[0][0]
    feldsher = Staff.get((Staff.organization == post) & (Staff.role == Role.FELDSHER))
    patient = Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"])
    exam = Exam.create(patient=patient, post=post, author=feldsher)
    content = b"%PDF-1.4\n" + os.urandom(size - 9)
    sha: str = app.extensions["blobs"].put(content)
    Attachment.create(
        exam=exam,
        filename="ecg.pdf",
        content_type="application/pdf",
        size=size,
        sha256=sha,
        uploaded_by=feldsher,
    )
    return sha


def _more_exams(data: Any, count: int) -> None:
    post = data.posts[0][0]
    feldsher = Staff.get((Staff.organization == post) & (Staff.role == Role.FELDSHER))
    patient = Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"])
    for _ in range(count):
        Exam.create(patient=patient, post=post, author=feldsher)


def _round(client: SyncClient) -> None:
    """The push and the files of a round (no hello, no pull: central is a fake)."""
    with client._file_uploads():
        client._push()
        client._upload_blobs()


def test_a_batchs_file_goes_while_central_applies_the_next_batch(node_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    Cursor.write("push", latest_seq())  # what the post had before has reached central
    sha = _exam_with_file(app, data, 10_000)  # in the first batch of 20 records ...
    _more_exams(data, 50)  # ... and two more batches after it
    central = FakeCentral(wait_in_second_push=True)
    client = _client(app, central, monkeypatch, fast=True)

    _round(client)

    assert central.file_went_during_second_push is True
    pushes = [i for i, (kind, _) in enumerate(central.events) if kind == "push"]
    chunks = [i for i, (kind, _) in enumerate(central.events) if kind == "put"]
    assert len(pushes) == 3
    assert pushes[0] < chunks[0] < pushes[-1]  # after its row's batch, before the last batch
    assert len(central.held[sha]) == 10_000
    assert UploadedBlob.get_or_none(UploadedBlob.sha256 == sha) is not None
    assert client._report.blobs_up == 1


def test_on_a_slow_link_the_records_go_first_then_the_files(node_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    Cursor.write("push", latest_seq())
    sha = _exam_with_file(app, data, 10_000)
    _more_exams(data, 50)
    central = FakeCentral()
    client = _client(app, central, monkeypatch, fast=False)

    _round(client)

    kinds = [kind for kind, _ in central.events]
    assert kinds == ["push"] * 3 + ["put"] * 3  # 4 KiB chunks: the link was not measured fast
    assert len(central.held[sha]) == 10_000


def test_on_a_fast_link_several_files_go_up_at_once(node_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    shas = [_exam_with_file(app, data, 10_000) for _ in range(3)]
    Cursor.write("push", latest_seq())  # their rows reached central in an earlier round
    central = FakeCentral(together=threading.Barrier(3))
    client = _client(app, central, monkeypatch, fast=True)

    with client._file_uploads():
        client._upload_blobs()

    assert central.most_at_once == 3
    assert all(len(central.held[sha]) == 10_000 for sha in shas)


def test_a_cut_while_files_go_up_at_once_resumes_each_where_central_stopped(node_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    shas = sorted(_exam_with_file(app, data, 10_000) for _ in range(3))
    Cursor.write("push", latest_seq())
    central = FakeCentral(cut_at=(shas[1], 4096))  # under the second chunk of one of them
    client = _client(app, central, monkeypatch, fast=True)

    with pytest.raises(TransportError), client._file_uploads():
        client._upload_blobs()

    held = {sha: len(central.held.get(sha, b"")) for sha in shas}
    assert held[shas[1]] == 4096  # what came before the cut stays at central
    went = {sha for sha in shas if held[sha] == 10_000}
    recorded = {row.sha256 for row in UploadedBlob.select().where(UploadedBlob.sha256.in_(shas))}
    assert recorded == went  # only whole files count as sent
    before = len(central.events)

    with client._file_uploads():  # the next round
        client._upload_blobs()

    resumed = [where for kind, where in central.events[before:] if kind == "put"]
    for sha in shas:
        offsets = sorted(offset for s, offset in resumed if s == sha)
        if sha in went:
            assert offsets == []
        else:
            assert offsets[0] == held[sha]  # from where central's copy ended, nothing twice
        assert central.held[sha] == app.extensions["blobs"].read(sha)


def test_centrals_staging_counts_a_file_completed_meanwhile_as_gone(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Several files arrive at once: one listed in the staging area may be completed and moved
    before its size is read, and the chunk of another must still be taken."""
    store = BlobStore(tmp_path / "blobs")
    content = os.urandom(20)
    sha = sha256_hex(content)
    assert store.append(sha, 0, content[:10], 20, "post-1") == 10
    moved = store.staging_path(sha256_hex(b"another file"), "post-1")  # listed, then gone
    listed = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, pattern: [*listed(self, pattern), moved])
    assert store.staging_bytes() == 10
    assert store.append(sha, 10, content[10:], 20, "post-1") == 20
    assert store.cleanup_staging(max_age_s=0) == 0
    assert store.read(sha) == content
