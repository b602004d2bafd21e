"""`faplink central fhir-token …` and `faplink central export-fhir`: the administrator's commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

from web.errors import USER_ERRORS

__all__ = ["fhir_token", "export_fhir"]

data_option = click.option(
    "--data", "data_dir", type=click.Path(path_type=Path), required=True, help="Central's data directory."
)
database_option = click.option("--database-url", help="postgresql://… (default: SQLite in --data).")


@contextmanager
def _errors() -> Iterator[None]:
    """Our errors as one clear line and exit code 1, never a stack trace."""
    try:
        yield
    except USER_ERRORS as exc:
        raise click.ClickException(exc.message) from exc


def _open(data_dir: Path, database_url: str | None) -> None:
    from central import create_app

    config: dict[str, object] = {"DATA_DIR": data_dir.resolve()}
    if database_url:
        config["DATABASE_URL"] = database_url
    create_app(config)


@click.group("fhir-token")
def fhir_token() -> None:
    """API tokens of the FHIR API for a region's МИС (read-only)."""


@fhir_token.command("issue")
@data_option
@database_option
@click.option("--region", required=True, help="Id of the region whose posts' patients the МИС may read.")
@click.option("--name", required=True, help="Which МИС the token is for.")
def issue_token(data_dir: Path, database_url: str | None, region: str, name: str) -> None:
    """Issue a token; it is printed once and stored only as a hash."""
    from .tokens import issue

    _open(data_dir, database_url)
    with _errors():
        row, token = issue(name, region, created_by="cli")
    click.echo(token)
    click.echo(
        f"Токен {row.id} для «{row.name}» выпущен; он показан один раз, сохраните его в МИС.", err=True
    )


@fhir_token.command("list")
@data_option
@database_option
def list_tokens(data_dir: Path, database_url: str | None) -> None:
    """The tokens, active and revoked, as JSON lines (never the tokens themselves)."""
    from .tokens import FhirToken

    _open(data_dir, database_url)
    for row in FhirToken.select().order_by(FhirToken.created_at):
        click.echo(
            json.dumps(
                {
                    "id": row.id,
                    "name": row.name,
                    "region": row.region_id,
                    "created_at": row.created_at.isoformat(),
                    "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
                    "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
                },
                ensure_ascii=False,
            )
        )


@fhir_token.command("revoke")
@data_option
@database_option
@click.argument("token_id")
def revoke_token(data_dir: Path, database_url: str | None, token_id: str) -> None:
    """Revoke a token by its id (from `list`): the МИС is refused from the next request."""
    from .tokens import revoke

    _open(data_dir, database_url)
    with _errors():
        row = revoke(token_id)
    click.echo(f"Токен {row.id} («{row.name}») отозван")


@click.command("export-fhir")
@data_option
@database_option
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="Changed since (UTC).")
@click.option("--region", help="Only this region's posts (default: every region).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option(
    "--base-url",
    default="",
    help="Central's FHIR base as the МИС reaches it (https://host/fhir/R4/): documents get Binary URLs.",
)
def export_fhir(
    data_dir: Path,
    database_url: str | None,
    since: datetime | None,
    region: str | None,
    out_dir: Path,
    base_url: str,
) -> None:
    """Write FHIR R4 resources as Bulk Data NDJSON: one <Type>.ndjson per resource type."""
    from domain.models import Region
    from runtime.progress import ProgressBar

    from .access import Reader
    from .export import export_ndjson

    _open(data_dir, database_url)
    if region and Region.get_or_none(Region.id == region) is None:
        raise click.ClickException(f"Регион {region} не найден")
    reader = Reader(region_id=region) if region else Reader(everything=True)
    bar = ProgressBar("Выгрузка FHIR")
    with _errors():
        base = base_url.rstrip("/") + "/" if base_url else ""
        result = export_ndjson(out_dir.resolve(), reader, since=since, progress=bar, base_url=base)
    bar.close()
    for name, count in result.counts.items():
        click.echo(f"{name}.ndjson: {count}")
