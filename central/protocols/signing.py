"""«Подписание протокола» at the centre: the CA, consultants' credentials, signing a closed protocol.

The centre's CA lives in central's data directory (``ca/``) and is created on first
use; its certificate is published in the centre's ``Organization.ca_certificate``,
which replicates to the posts of the region so that they can check signatures offline.
Consultants' keys stay at central (``signers/``), each under its owner's passphrase.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app
from flask_babel import gettext as _

from central.appeals import service as appeals
from central.signing import (
    CentreCA,
    SignerStore,
    SigningError,
    StoredSigner,
    check_new_passphrase,
    sign_protocol,
)
from faplink.signatures import SignedProtocol, check_signed_protocol, signed_protocol
from sync.blobs import BlobStore
from sync.db import database
from sync.models import Appeal, AppealStatus, Attachment, AttachmentKind, Organization, Protocol, Staff

__all__ = [
    "centre_ca",
    "signer_store",
    "signable_appeal",
    "create_signer",
    "import_signer",
    "sign_appeal",
    "signed_status",
    "signed_protocol",
]

#: What a PKCS#12 file may weigh: a key, a certificate and a chain are a few kilobytes.
MAX_PKCS12 = 64 * 1024


def _data_dir() -> Path:
    return Path(current_app.config["DATA_DIR"])


def _blobs() -> BlobStore:
    blobs: BlobStore = current_app.extensions["blobs"]
    return blobs


def centre_ca(centre: Organization) -> CentreCA:
    """The centre's CA (made on first use), its certificate published for the posts."""
    ca = CentreCA.open(_data_dir() / "ca", centre.name)
    pem = ca.certificate_pem.decode("ascii")
    if centre.ca_certificate != pem:
        with database.atomic():
            centre = Organization.get_by_id(centre.id)
            centre.ca_certificate = pem
            centre.save()
    return ca


def signer_store(ca: CentreCA) -> SignerStore:
    return SignerStore(_data_dir() / "signers", [ca.certificate])


def signable_appeal(staff: Staff, appeal_id: str) -> tuple[Appeal, Protocol]:
    """The closed appeal whose protocol ``staff`` wrote; 404 if unseen or open, 403 if someone else's."""
    appeal = appeals.visible_appeal(staff, appeal_id)
    protocol = appeal.current_protocol()
    if appeal.status != AppealStatus.CLOSED or protocol is None or appeal.protocol_pdf() is None:
        abort(404, description=_("Подписать можно только отправленный протокол закрытого обращения"))
    if protocol.consultant_id != staff.id:
        abort(403, description=_("Подписать протокол может только консультант, который его составил"))
    return appeal, protocol


def create_signer(staff: Staff, passphrase: str, confirmation: str) -> StoredSigner:
    """«Создать подпись»: a key and certificate from the centre's CA, stored under the passphrase."""
    check_new_passphrase(passphrase, confirmation)
    ca = centre_ca(staff.organization)
    credential = ca.issue_signer(staff.full_name, staff.organization.name, None)
    return signer_store(ca).save(staff.id, credential, passphrase)


def import_signer(staff: Staff, data: bytes, passphrase: str) -> StoredSigner:
    """«Импортировать подпись»: a PKCS#12 container, kept under the passphrase it came with."""
    if not data:
        raise SigningError("Выберите файл PKCS#12 (.p12, .pfx) с сертификатом и закрытым ключом.")
    if len(data) > MAX_PKCS12:
        raise SigningError("Файл слишком большой для контейнера PKCS#12: выберите файл .p12 или .pfx.")
    ca = centre_ca(staff.organization)
    credential = ca.import_pkcs12(data, passphrase)
    # A container exported without a password is refused here: keys are never kept bare.
    return signer_store(ca).save(staff.id, credential, passphrase)


def signers(staff: Staff) -> list[StoredSigner]:
    """The consultant's stored credentials («Выберите подпись»)."""
    ca = centre_ca(staff.organization)
    return signer_store(ca).signers(staff.id)


def sign_appeal(staff: Staff, appeal: Appeal, serial: str, passphrase: str) -> Attachment:
    """«Подписать протокол»: sign the latest protocol PDF and store the signed copy for the post."""
    source = appeal.protocol_pdf()
    if source is None:
        raise SigningError("PDF протокола не найден: сформируйте протокол заново.")
    ca = centre_ca(staff.organization)
    credential = signer_store(ca).unlock(staff.id, serial, passphrase)
    blobs = _blobs()
    signed = sign_protocol(
        blobs.read(source.sha256),
        credential,
        signer_name=staff.full_name,
        location=staff.organization.name,
        ca_chain=[ca.certificate],
    )
    sha = blobs.put(signed)
    return Attachment.create(
        appeal=appeal,
        kind=AttachmentKind.SIGNED_PROTOCOL,
        filename=f"protocol-{appeal.id[:8]}-signed.pdf",
        content_type="application/pdf",
        size=len(signed),
        sha256=sha,
        uploaded_by=staff,
    )


def signed_status(appeal: Appeal) -> SignedProtocol | None:
    """The appeal's signed protocol as a post will see it (checked against the same CA)."""
    return check_signed_protocol(appeal, _blobs())
