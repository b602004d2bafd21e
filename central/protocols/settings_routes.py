"""«Электронная подпись» in administration: how each centre's consultants sign protocols."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from central.signing import SigningError
from central.signing.external import PIN_VARIABLE, TIMEOUT_DEFAULT
from domain.models import Organization, OrgKind, Role
from web.auth import login_required

from . import bp, signer_settings, signing


def _centres() -> list[Organization]:
    return list(Organization.live().where(Organization.kind == OrgKind.CENTRE).order_by(Organization.name))


@bp.route("/admin/signing", methods=["GET", "POST"])
@login_required(Role.ADMIN)
def signing_settings() -> Any:
    """Each centre's signer: PAdES (RSA), GOST R 34.10-2012, or an external program."""
    centres = _centres()
    chosen = request.values.get("centre") or (centres[0].id if centres else "")
    centre = next((c for c in centres if c.id == chosen), None)
    if centres and centre is None:
        abort(404)
    error = None
    if request.method == "POST" and centre is not None:
        try:
            saved = signer_settings.save_settings(centre.id, request.form, g.staff.id)
            if saved.kind == signer_settings.GOST:
                # The posts get its certificate before the first signature.
                signing.gost_ca(centre, create=True)
            signing.publish_trust(centre)
            flash(_("Электронная подпись центра «%(name)s» сохранена", name=centre.name), "success")
            return redirect(url_for("protocols.signing_settings", centre=centre.id))
        except SigningError as exc:
            error = str(exc)
    current = signer_settings.settings_for(centre.id) if centre is not None else None
    return render_template(
        "central/protocols/signing_settings.html",
        title=_("Электронная подпись"),
        centres=centres,
        centre=centre,
        current=current,
        kinds=signer_settings.KINDS,
        kind_of={c.id: signer_settings.kind_for(c.id) for c in centres},
        gost_bits=signer_settings.GOST_BITS,
        pin_variable=PIN_VARIABLE,
        command_example=signer_settings.COMMAND_EXAMPLE,
        timeout_default=TIMEOUT_DEFAULT,
        form=request.form if error else {},
        error=error,
    ), (400 if error else 200)
