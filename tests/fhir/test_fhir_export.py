"""`faplink central export-fhir`: the region's МИС gets Bulk Data NDJSON that validates as R4.

One resource per line in <Type>.ndjson; `--since` keeps what changed since; the
number of queries does not grow with the number of records (they are read in batches).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from central.fhir.access import Reader
from central.fhir.export import EXPORT_ORDER, export_ndjson
from domain.models import Exam, Observation
from faplink.cli import main
from sync.clock import utcnow
from sync.db import database
from tests.helpers.fhir import read_ndjson, walk_one_appeal


def test_export_writes_ndjson_per_type_that_validates(central_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    case = walk_one_appeal(app, app.test_client(), data)
    out = tmp_path / "export"
    result = CliRunner().invoke(
        main,
        ["central", "export-fhir", "--data", str(app.config["DATA_DIR"]), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "Выгрузка FHIR" in result.output  # the progress bar (on stderr)
    assert "Observation.ndjson: 4" in result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.ndjson" for n in EXPORT_ORDER)

    found = read_ndjson(out)
    assert case.patient.id in {p["id"] for p in found["Patient"]}
    assert {p["id"] for p in found["Patient"]} == set(data.patients.values())
    assert [r["id"] for r in found["ServiceRequest"]] == [case.appeal.id]
    assert {c["code"]["coding"][0]["code"] for c in found["Condition"]} == {"I10", "I50.0", "E11.9"}
    assert len(found["DocumentReference"]) == 3 and len(found["Consent"]) == 1
    # Without a server address the files are referenced by their checksum, not a URL.
    assert "url" not in found["DocumentReference"][0]["content"][0]["attachment"]

    with_urls = tmp_path / "with-urls"
    argv = ["central", "export-fhir", "--data", str(app.config["DATA_DIR"]), "--out", str(with_urls)]
    result = CliRunner().invoke(main, [*argv, "--base-url", "https://tmk.example.ru/fhir/R4"])
    assert result.exit_code == 0, result.output
    (consent,) = read_ndjson(with_urls)["Consent"]
    assert consent["sourceAttachment"]["url"].startswith("https://tmk.example.ru/fhir/R4/Binary/")

    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    later = tmp_path / "later"
    result = CliRunner().invoke(
        main,
        [
            "central",
            "export-fhir",
            "--data",
            str(app.config["DATA_DIR"]),
            "--since",
            tomorrow,
            "--out",
            str(later),
        ],
    )
    assert result.exit_code == 0, result.output
    assert all(not rows for rows in read_ndjson(later).values())


def test_export_reads_in_batches_not_per_record(central_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    case = walk_one_appeal(app, app.test_client(), data)

    def queries_of_an_export(name: str) -> int:
        executed: list[str] = []
        real = database.obj.execute_sql

        def counting(sql: str, *args: Any, **kwargs: Any) -> Any:
            executed.append(sql)
            return real(sql, *args, **kwargs)

        database.obj.execute_sql = counting
        try:
            export_ndjson(tmp_path / name, Reader(everything=True), batch=100)
        finally:
            del database.obj.execute_sql
        return len(executed)

    before = queries_of_an_export("before")
    exam = Exam.get(Exam.appeal == case.appeal.id)
    for minute in range(60):
        Observation.create(exam=exam, loinc="8867-4", value=60 + minute % 40, unit="/min", manual=True)
    assert queries_of_an_export("after") == before
