"""`faplink central signing …`: the centre's signing CAs from a terminal."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["signing"]


@click.group("signing")
def signing() -> None:
    """Electronic signatures of protocols («Электронная подпись»)."""


@signing.command("ca")
@click.option(
    "--data", "data_dir", type=click.Path(path_type=Path), required=True, help="Central's data directory."
)
@click.option("--centre", "centre_id", help="Id of the centre (needed when central serves several).")
@click.option("--all", "everything", is_flag=True, help="Every CA the posts trust (the published bundle).")
def signing_ca(data_dir: Path, centre_id: str | None, everything: bool) -> None:
    """Print the CA certificate (PEM) that verifies the centre's signatures.

    For a centre that signs PAdES it is the centre's RSA CA, for GOST the GOST test
    CA, for an external program the CA certificates the administrator entered.
    """
    from central import create_app
    from central.signing import SigningError
    from domain.models import Organization, OrgKind

    from . import signer_settings
    from . import signing as service

    app = create_app({"DATA_DIR": data_dir.resolve()})
    with app.app_context():
        centres = list(
            Organization.live().where(Organization.kind == OrgKind.CENTRE).order_by(Organization.name)
        )
        if centre_id:
            centres = [c for c in centres if c.id == centre_id]
            if not centres:
                raise click.ClickException(f"{centre_id} is not a centre known to central")
        if len(centres) != 1:
            known = ", ".join(f"{c.id} ({c.name})" for c in centres) or "none"
            raise click.ClickException(f"choose a centre with --centre: {known}")
        centre = centres[0]
        try:
            if everything:
                pem = service.publish_trust(centre)
            else:
                kind = signer_settings.kind_for(centre.id)
                if kind == signer_settings.GOST:
                    gost = service.gost_ca(centre, create=True)
                    assert gost is not None
                    pem = gost.certificate_pem.decode("ascii")
                elif kind == signer_settings.EXTERNAL:
                    settings = signer_settings.settings_for(centre.id)
                    pem = settings.external_ca if settings is not None else ""
                else:
                    pem = service.centre_ca(centre).certificate_pem.decode("ascii")
        except SigningError as error:
            raise click.ClickException(str(error)) from error
    click.echo(pem, nl=False)
