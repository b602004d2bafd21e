"""Write a benchmark workload straight into a post's SQLite database, as a feldsher would.

    .venv/bin/python bench/faplink_post.py --node DIR --workload FILE [--files N]

Patients first (in one transaction), then one appeal per file with its
attachment and the blob in the post's store. The node must have synced once
(its directories — post, staff, specialties — come from central). Prints JSON:
how many rows were written and the size of one record as faplink sends it.
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
from sync.changes import latest_stamp
from sync.db import bind_replica, open_database
from sync.migrations import migrate
from sync.state import NODE_MIGRATIONS
from sync.wire import encode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--node", type=Path, required=True)
    parser.add_argument("--workload", type=Path, required=True)
    parser.add_argument("--files", type=int, default=None, help="only the first N files")
    args = parser.parse_args()

    identity = json.loads((args.node / "node.json").read_text())
    work = json.loads(args.workload.read_text())
    blob_dir = args.workload.parent / "blobs"
    files = work["files"] if args.files is None else work["files"][: args.files]

    started = time.monotonic()
    db = open_database(args.node / "node.db")
    migrate(db, NODE_MIGRATIONS)
    bind_replica(identity["node_id"], latest_stamp())
    post = identity["organization_id"]
    feldsher = Staff.get((Staff.role == "feldsher") & (Staff.organization == post))
    doctor = Staff.select().where(Staff.role == "consultant").order_by(Staff.last_name).first()
    store = BlobStore(args.node / "blobs")
    sample: dict[str, object] = {}
    with db.atomic():
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
    with db.atomic():
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
    db.close()
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
