"""«При необходимости можно также добавить файлы в формате PDF, DOC, XLSX» to the protocol."""

from __future__ import annotations

import io
import zipfile

from domain.models import Appeal, AppealStatus, Attachment, AttachmentKind, Protocol
from sync.changes import collect_changes
from tests.helpers.appeals import in_work, protocol_form
from tests.helpers.data import rows

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def test_files_go_with_the_protocol_to_the_post(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = in_work(client, data)
    form = protocol_form(
        token,
        protocol_files=[(io.BytesIO(PDF), "ЭКГ 11.03.pdf"), (io.BytesIO(_xlsx()), "анализы.xlsx")],
    )
    sent = client.post(f"/appeals/{appeal.id}/protocol", data=form, content_type="multipart/form-data")
    assert sent.status_code == 302, sent.get_data(as_text=True)
    files = list(Attachment.select().where(Attachment.kind == AttachmentKind.PROTOCOL_FILE))
    assert {(f.filename, f.content_type) for f in files} == {
        ("ЭКГ 11.03.pdf", "application/pdf"),
        ("анализы.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    }

    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Файлы протокола" in page and "ЭКГ 11.03.pdf" in page and "анализы.xlsx" in page
    pdf = next(f for f in files if f.filename.endswith(".pdf"))
    download = client.get(f"/appeals/{appeal.id}/protocol-files/{pdf.id}")
    assert download.status_code == 200 and download.data == PDF
    assert "filename*=UTF-8''%D0%AD%D0%9A%D0%93" in download.headers["Content-Disposition"]

    pulled, _ = collect_changes(0, 100_000, scope_org=data.posts[0][0])
    assert {f.id for f in files} <= {row.id for row in pulled if isinstance(row, Attachment)}


def test_a_file_of_another_kind_refuses_the_protocol(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = in_work(client, data)
    for name, content, reason in (
        ("снимок.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "не подходит для протокола"),
        ("выписка.pdf", b"MZ\x90\x00" + b"\x00" * 64, "не поддерживается"),
    ):
        form = protocol_form(token, protocol_files=[(io.BytesIO(content), name)])
        refused = client.post(f"/appeals/{appeal.id}/protocol", data=form, content_type="multipart/form-data")
        assert refused.status_code == 400
        html = refused.get_data(as_text=True)
        assert f"Файл «{name}»" in html and reason in html
    assert rows(Protocol) == 0 and Appeal.get_by_id(appeal.id).status == AppealStatus.IN_WORK
    assert not Attachment.select().where(Attachment.kind == AttachmentKind.PROTOCOL_FILE).exists()
