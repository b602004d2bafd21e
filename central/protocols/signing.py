"""«Подписание протокола» at the centre: the CAs, consultants' credentials, signing a closed protocol.

The centre's CA lives in central's data directory (``ca/``) and is created on first
use; the GOST test CA (``ca-gost/``) when the administrator first chooses GOST. Their
certificates, and those of an external program's CA, are published together as a PEM
bundle in the centre's ``Organization.ca_certificate`` (the RSA one first, which is all
an older post reads), replicated to the posts of the region so that they can check
signatures offline. Consultants' keys stay at central (``signers/``, ``signers-gost/``),
each under its owner's passphrase.

Which signer a centre uses is its administrator's choice (:mod:`.signer_settings`);
:func:`protocol_signer` builds it.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from flask import current_app

from central.appeals import service as appeals
from central.signing import (
    CentreCA,
    SignerStore,
    SigningError,
    StoredSigner,
)
from central.signing.external import ExternalCertificate, ExternalCertificateStore, ExternalCommand
from central.signing.gost import GostCA
from central.signing.signers import (
    ExternalSigner,
    GostSigner,
    PadesSigner,
    ProtocolSigner,
    SignerChoice,
    gost_store,
)
from domain.errors import ForbiddenError, NotFoundError
from domain.models import Appeal, AppealStatus, Attachment, AttachmentKind, Organization, Protocol, Staff
from i18n import N_
from protocol_signatures.cms import split_pem_bundle
from protocol_signatures.pdf import SignedProtocol, check_signed_protocol, protocol_signature, signed_protocol
from sync.blobs import BlobStore
from sync.db import database

from . import signer_settings

__all__ = [
    "add_certificate",
    "centre_ca",
    "gost_ca",
    "protocol_signature",
    "protocol_signer",
    "publish_trust",
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
    publish_trust(centre, ca)
    return ca


def gost_ca(centre: Organization, *, create: bool = False) -> GostCA | None:
    """The centre's GOST test CA; made only when asked (the administrator chose GOST)."""
    directory = _data_dir() / "ca-gost"
    if not create and not GostCA.exists(directory):
        return None
    return GostCA.open(directory, centre.name, bits=_settings_bits(centre))


def _settings_bits(centre: Organization) -> int:
    settings = signer_settings.settings_for(centre.id)
    return settings.gost_bits if settings is not None else 256


def trust_bundle(centre: Organization, ca: CentreCA) -> str:
    """Every CA certificate that checks this centre's signatures, the RSA CA first."""
    pems = [ca.certificate_pem.decode("ascii")]
    gost = gost_ca(centre)
    if gost is not None:
        pems.append(gost.certificate_pem.decode("ascii"))
    settings = signer_settings.settings_for(centre.id)
    if settings is not None:
        pems += split_pem_bundle(settings.external_ca)
    unique = list(dict.fromkeys(pem.strip() + "\n" for pem in pems))
    return "".join(unique)


def publish_trust(centre: Organization, ca: CentreCA | None = None) -> str:
    """Put the centre's trust bundle in ``Organization.ca_certificate`` (it syncs to the posts)."""
    ca = ca or CentreCA.open(_data_dir() / "ca", centre.name)
    bundle = trust_bundle(centre, ca)
    if centre.ca_certificate != bundle:
        with database.atomic():
            centre = Organization.get_by_id(centre.id)
            centre.ca_certificate = bundle
            centre.save()
    return bundle


def protocol_signer(centre: Organization) -> ProtocolSigner:
    """The signer the centre's administrator chose (PAdES when nothing is chosen)."""
    ca = centre_ca(centre)
    settings = signer_settings.settings_for(centre.id)
    kind = settings.kind if settings is not None else signer_settings.PADES
    if kind == signer_settings.GOST:
        assert settings is not None
        return GostSigner(gost_store(_data_dir(), gost_ca(centre, create=True)), bits=settings.gost_bits)
    if kind == signer_settings.EXTERNAL:
        assert settings is not None
        pems = split_pem_bundle(settings.external_ca)
        issuers = [x509.load_pem_x509_certificate(pem.encode()) for pem in pems]
        return ExternalSigner(
            ExternalCommand(settings.command, settings.timeout),
            ExternalCertificateStore(_data_dir() / "signers-external", issuers),
        )
    return PadesSigner(ca, signer_store(ca))


def signer_store(ca: CentreCA) -> SignerStore:
    return SignerStore(_data_dir() / "signers", [ca.certificate])


def signable_appeal(staff: Staff, appeal_id: str) -> tuple[Appeal, Protocol]:
    """The closed appeal whose protocol ``staff`` wrote; NotFoundError if unseen or open,
    ForbiddenError if someone else's."""
    appeal = appeals.visible_appeal(staff, appeal_id)
    protocol = appeal.current_protocol()
    if appeal.status != AppealStatus.CLOSED or protocol is None or appeal.protocol_pdf() is None:
        raise NotFoundError(N_("Подписать можно только отправленный протокол закрытого обращения"))
    if protocol.consultant_id != staff.id:
        raise ForbiddenError(N_("Подписать протокол может только консультант, который его составил"))
    return appeal, protocol


def create_signer(staff: Staff, passphrase: str, confirmation: str) -> SignerChoice:
    """«Создать подпись»: a key and certificate from the centre's CA (RSA or GOST), under the passphrase."""
    signer = protocol_signer(staff.organization)
    if not isinstance(signer, PadesSigner | GostSigner):
        raise SigningError("Ключи этого центра создаёт внешняя программа подписи: добавьте свой сертификат.")
    return signer.create(staff.id, staff.full_name, staff.organization.name, passphrase, confirmation)


def add_certificate(staff: Staff, data: bytes) -> ExternalCertificate:
    """«Добавить сертификат»: the consultant's certificate whose key the external program holds."""
    signer = protocol_signer(staff.organization)
    if not isinstance(signer, ExternalSigner):
        raise SigningError("Сертификаты добавляют, только когда центр подписывает внешней программой.")
    return signer.certificates.add(staff.id, data)


def import_signer(staff: Staff, data: bytes, passphrase: str) -> StoredSigner:
    """«Импортировать подпись»: a PKCS#12 container, kept under the passphrase it came with."""
    if not data:
        raise SigningError("Выберите файл PKCS#12 (.p12, .pfx) с сертификатом и закрытым ключом.")
    if len(data) > MAX_PKCS12:
        raise SigningError("Файл слишком большой для контейнера PKCS#12: выберите файл .p12 или .pfx.")
    if signer_settings.kind_for(staff.organization_id) != signer_settings.PADES:
        raise SigningError("Импорт PKCS#12 — только для подписи PAdES: центр подписывает иначе.")
    ca = centre_ca(staff.organization)
    credential = ca.import_pkcs12(data, passphrase)
    # A container exported without a password is refused here: keys are never kept bare.
    return signer_store(ca).save(staff.id, credential, passphrase)


def signers(staff: Staff) -> list[SignerChoice]:
    """The consultant's stored credentials («Выберите подпись») for the centre's signer."""
    return list(protocol_signer(staff.organization).choices(staff.id))


def sign_appeal(staff: Staff, appeal: Appeal, choice: str, passphrase: str) -> Attachment:
    """«Подписать протокол»: sign the latest protocol PDF and store the signed copy for the post.

    A detached signature (GOST, external program) is stored beside it as an attachment
    of kind ``protocol_sig`` (``.p7s``, DER) and travels to the post with it."""
    source = appeal.protocol_pdf()
    if source is None:
        raise SigningError("PDF протокола не найден: сформируйте протокол заново.")
    signer = protocol_signer(staff.organization)
    blobs = _blobs()
    files = signer.sign(
        blobs.read(source.sha256),
        staff_id=staff.id,
        signer_name=staff.full_name,
        location=staff.organization.name,
        choice=choice,
        passphrase=passphrase,
    )
    # Bytes first, then the records that sync: a post never learns of a file central lacks.
    sha = blobs.put(files.pdf)
    signature_sha = blobs.put(files.signature) if files.signature is not None else None
    filename = f"protocol-{appeal.id[:8]}-signed.pdf"
    with database.atomic():
        pdf = Attachment.create(
            appeal=appeal,
            kind=AttachmentKind.SIGNED_PROTOCOL,
            filename=filename,
            content_type="application/pdf",
            size=len(files.pdf),
            sha256=sha,
            uploaded_by=staff,
        )
        if files.signature is not None and signature_sha is not None:
            Attachment.create(
                appeal=appeal,
                kind=AttachmentKind.PROTOCOL_SIGNATURE,
                filename=f"{filename}.p7s",
                content_type="application/pkcs7-signature",
                size=len(files.signature),
                sha256=signature_sha,
                uploaded_by=staff,
                created_at=pdf.created_at,
            )
    return pdf


def signed_status(appeal: Appeal) -> SignedProtocol | None:
    """The appeal's signed protocol as a post will see it (checked against the same CA)."""
    return check_signed_protocol(appeal, _blobs())
