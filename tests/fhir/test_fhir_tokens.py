"""An administrator issues a МИС its token from the command line, lists and revokes it."""

from __future__ import annotations

import json

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
