"""Central's fleet commands: `faplink central export-bundle` (also `faplink provision export-bundle`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from web.errors import USER_ERRORS

__all__ = ["export_bundle"]


@contextmanager
def _errors() -> Iterator[None]:
    """Our errors as one clear line and exit code 1, never a stack trace."""
    try:
        yield
    except USER_ERRORS as exc:
        raise click.ClickException(exc.message) from exc


@click.command("export-bundle")
@click.option(
    "--data", "data_dir", required=True, type=click.Path(path_type=Path), help="Central's data directory."
)
@click.option("--organization", required=True, help="Id of the post.")
@click.option("--central", "central_url", required=True, help="Central's address as the kiosk will reach it.")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--node-id", help="The kiosk's id (default: a new random one).")
def export_bundle(
    data_dir: Path, organization: str, central_url: str, out: Path, node_id: str | None
) -> None:
    """Export a signed enrolment bundle for a post with no link (a file for a USB stick)."""
    from .. import create_app
    from .bundles import export_bundle as export

    data_dir = data_dir.resolve()
    create_app({"DATA_DIR": data_dir})
    with _errors():
        exported = export(data_dir, organization, central_url, node_id=node_id, created_by="cli")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as target:
        target.write(exported.data)
    click.echo(
        f"Пакет для {exported.post_name}: {out} (киоск {exported.node_id}, записей {exported.records})"
    )
    click.echo(f"Отпечаток ключа центра: {exported.centre_fingerprint}")
    click.echo(
        "Пакет содержит ключ киоска и данные поста: передавайте флешку из рук в руки и сотрите файл после."
    )


