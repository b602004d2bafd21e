"""A file goes to central after its row: a file attached while a round pushed waits for the next.

A feldsher's write starts a round at once, so a round may push an appeal and, while it does,
the feldsher attaches the ECG: central would refuse the ECG's bytes, whose row it does not hold
yet («Файл не относится к обращениям этого поста»), failing the round after sending a chunk.
"""

from __future__ import annotations

from typing import Any

from domain.models import Attachment, Exam, Patient, Role, Staff
from sync.changes import latest_seq
from sync.client import SyncClient
from sync.request_signing import NodeKey
from sync.session import CentralSession
from sync.state import Cursor


def test_a_file_whose_row_central_lacks_waits_for_the_next_round(node_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    post = data.posts[0][0]
    client = SyncClient(
        CentralSession("http://127.0.0.1:9", "test-post-1", NodeKey.generate()), app.extensions["blobs"]
    )
    asked: list[list[str]] = []

    def central(method: str, path: str, payload: Any = None, **_: Any) -> Any:
        assert (method, path) == ("POST", "/blobs/missing")
        asked.append(list(payload["sha256"]))
        return {"missing": [], "offsets": {}}

    monkeypatch.setattr(client, "_json", central)
    Cursor.write("push", latest_seq())  # everything so far has reached central
    feldsher = Staff.get((Staff.organization == post) & (Staff.role == Role.FELDSHER))
    exam = Exam.create(
        patient=Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"]), post=post, author=feldsher
    )
    ecg = b"%PDF-1.4\n" + b"\x00" * 1000
    sha = app.extensions["blobs"].put(ecg)
    Attachment.create(
        exam=exam,
        filename="ecg.pdf",
        content_type="application/pdf",
        size=len(ecg),
        sha256=sha,
        uploaded_by=feldsher,
    )

    with client._file_uploads():
        client._upload_blobs()  # the round's push ended before the file was attached
    assert asked == []
    Cursor.write("push", latest_seq())  # the next round pushed its row
    with client._file_uploads():
        client._upload_blobs()
    assert asked == [[sha]]
