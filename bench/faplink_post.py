"""Write a benchmark workload into a post's database, as its feldsher would.

    FAPLINK_DATA_KEY_FILE=KEY .venv/bin/python bench/faplink_post.py --node DIR --workload FILE [--files N]

The post is opened by the node's own app factory (its data key from
FAPLINK_DATA_KEY_FILE, its encrypted database and blob store), so that what is
written here is what the kiosk would have written; the node may be running
meanwhile (its sync worker then pushes it at the next round). Patients first (in
one transaction), then one appeal per file with its attachment and the blob in the
post's store. The node must have synced once (its directories — post, staff,
specialties — come from central). Prints JSON: how many rows were written and the
size of one record as faplink sends it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from domain.booking import book_appeal
from domain.models import Attachment, Patient, Staff
from sync.blobs import BlobStore
from sync.db import database
from sync.wire import encode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--node", type=Path, required=True)
    parser.add_argument("--workload", type=Path, required=True)
    parser.add_argument("--files", type=int, default=None, help="only the first N files")
    args = parser.parse_args()

    from node import create_app

    work = json.loads(args.workload.read_text())
    blob_dir = args.workload.parent / "blobs"
    files = work["files"] if args.files is None else work["files"][: args.files]

    started = time.monotonic()
    app = create_app({"DATA_DIR": args.node.resolve(), "SYNC_ENABLED": False})
    if "blobs" not in app.extensions:
        raise SystemExit("the post's data did not open: set FAPLINK_DATA_KEY_FILE to its key file")
    post = app.extensions["identity"].organization_id
    store: BlobStore = app.extensions["blobs"]
    feldsher = Staff.get((Staff.role == "feldsher") & (Staff.organization == post))
    doctor = Staff.select().where(Staff.role == "consultant").order_by(Staff.last_name).first()
    sample: dict[str, object] = {}
    with database.atomic():
        for n, p in enumerate(work["patients"]):
            patient = Patient.create(
                id=p["id"],
                last_name=p["last_name"],
                first_name=p["first_name"],
                middle_name=p.get("middle_name", ""),
                birth_date=date.fromisoformat(p["birth_date"]),
                sex=p["sex"],
                phone=p.get("phone"),
                snils=p.get("snils"),
                organization=post,
            )
            if n == 0:
                sample = patient.to_wire()
    with database.atomic():
        for f in files:
            appeal = book_appeal(
                consent_by="patient",  # the ИДС to the consultation
                patient=Patient.get_by_id(f["patient"]),
                author=feldsher,
                specialty=doctor.specialty,
                consultant=doctor,
                slot=None,
                form_of_care="urgent",
                question="ЭКГ во вложении: есть ли признаки ишемии?",
            )
            sha = store.put((blob_dir / f"{f['sha256']}.pdf").read_bytes(), expected=f["sha256"])
            Attachment.create(
                id=f["id"],
                appeal=appeal,
                filename=f["filename"],
                content_type=f["content_type"],
                size=f["size"],
                sha256=sha,
                uploaded_by=feldsher,
            )
    database.close()
    raw = json.dumps(sample, ensure_ascii=False, separators=(",", ":")).encode()
    fields = sample.get("fields", {})
    stamps = fields.get("field_stamps", "") if isinstance(fields, dict) else ""
    print(
        json.dumps(
            {
                "patients": len(work["patients"]),
                "appeals": len(files),
                "attachments": len(files),
                "seconds": round(time.monotonic() - started, 2),
                "wire_record_bytes": len(raw),
                "wire_field_stamps_bytes": len(str(stamps).encode()),
                "wire_record_gzip_bytes_alone": len(encode(sample)),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
