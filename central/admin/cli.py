"""`faplink central audit verify`: check every chain of «Журнал доступа»."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["audit"]


@click.group("audit")
def audit() -> None:
    """«Журнал доступа»: the access audit of personal data."""


@audit.command("verify")
@click.option(
    "--data", "data_dir", type=click.Path(path_type=Path), required=True, help="Central's data directory."
)
@click.option("--database-url", help="postgresql://… (default: SQLite in --data).")
def verify(data_dir: Path, database_url: str | None) -> None:
    """Check every writer's chain (each post's, central's): exit 0 when all hold, 1 naming the
    first broken row of each chain that does not; a post's restore from a backup shows as a fork."""
    from central import create_app
    from domain.models import restore_forks, verify_chains

    config: dict[str, object] = {"DATA_DIR": data_dir.resolve()}
    if database_url:
        config["DATABASE_URL"] = database_url
    create_app(config)
    checked, breaks = verify_chains()
    for found in breaks:
        click.echo(f"BROKEN {found}")
    for fork in restore_forks():  # a post restored from a backup: its chain goes on from there
        click.echo(f"fork: {fork}")
    if breaks:
        raise SystemExit(1)
    click.echo(f"intact: {checked} rows")
