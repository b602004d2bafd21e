"""An administrator issues a МИС its token from the command line, lists and revokes it."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from faplink.cli import main


def test_administrator_issues_lists_and_revokes_a_token(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    data_dir = str(app.config["DATA_DIR"])
    runner = CliRunner()

    issued = runner.invoke(
        main,
        [
            "central",
            "fhir-token",
            "issue",
            "--data",
            data_dir,
            "--region",
            data.region_id,
            "--name",
            "МИС «Барс»",
        ],
    )
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[0]
    assert token.startswith("fhir_")
    client = app.test_client()
    assert (
        client.get("/fhir/R4/Organization", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )

    listed = runner.invoke(main, ["central", "fhir-token", "list", "--data", data_dir])
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["name"], row["region"], row["revoked_at"]) == ("МИС «Барс»", data.region_id, None)
    assert row["last_used_at"] is not None
    assert token not in listed.stdout  # shown once, stored as a hash

    revoked = runner.invoke(main, ["central", "fhir-token", "revoke", "--data", data_dir, row["id"]])
    assert revoked.exit_code == 0, revoked.output
    assert (
        client.get("/fhir/R4/Organization", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )

    unknown = runner.invoke(
        main, ["central", "fhir-token", "issue", "--data", data_dir, "--region", "nowhere", "--name", "МИС"]
    )
    assert unknown.exit_code == 1
    assert "Регион nowhere не найден" in unknown.output


def test_administrator_issues_and_revokes_on_the_page(central_app) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.appeals import csrf, login_page

    app, data = central_app
    admin = app.test_client()
    token = login_page(admin, "admin")
    page = admin.get("/admin/fhir-tokens").get_data(as_text=True)
    assert "Доступ МИС (FHIR)" in page and "Тверская область" in page

    refused = admin.post(
        "/admin/fhir-tokens", data={"csrf_token": token, "name": " ", "region": data.region_id}
    )
    assert refused.status_code == 400
    assert "Укажите, для какой МИС выпускается токен" in refused.get_data(as_text=True)

    issued = admin.post(
        "/admin/fhir-tokens", data={"csrf_token": token, "name": "МИС «Барс»", "region": data.region_id}
    ).get_data(as_text=True)
    (value,) = re.findall(r'<code class="fhir-token">([^<]+)</code>', issued)
    mis = app.test_client()
    assert mis.get("/fhir/R4/Practitioner", headers={"Authorization": f"Bearer {value}"}).status_code == 200
    assert value not in admin.get("/admin/fhir-tokens").get_data(as_text=True)  # shown once

    (row_id,) = re.findall(r"/admin/fhir-tokens/([0-9a-f]+)/revoke", issued)
    page = admin.post(
        f"/admin/fhir-tokens/{row_id}/revoke", data={"csrf_token": csrf(issued)}, follow_redirects=True
    )
    assert "отозван" in page.get_data(as_text=True)
    assert mis.get("/fhir/R4/Practitioner", headers={"Authorization": f"Bearer {value}"}).status_code == 401

    consultant = app.test_client()
    login_page(consultant, "ivanova")
    assert consultant.get("/admin/fhir-tokens").status_code == 403
