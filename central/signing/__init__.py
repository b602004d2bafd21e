"""Electronic signatures on consultation protocols («Подписание протокола»).

The centre runs its own certification authority (:class:`CentreCA`) that issues each
consultant a signing certificate, or accepts one imported as PKCS#12. A consultant
signs a closed appeal's protocol with :func:`sign_protocol`: a PAdES signature with a
visible stamp. A post checks it offline with :func:`verify_protocol`, trusting the
centre's CA certificate and nothing else.

The steps chain by type: ``CentreCA`` → :class:`SignerCredential` (→ PKCS#12 bytes at
rest) → signed PDF bytes → :class:`VerificationResult`. Every failure a user can cause
is a :class:`SigningError` with a Russian message. :class:`SignerStore` keeps each
consultant's credentials at rest, encrypted under their own passphrase.

A centre may sign otherwise (:mod:`.signers`, one interface for all three): with
GOST R 34.10-2012 keys from its GOST test CA (:mod:`.gost`, OpenSSL's GOST engine),
or through an external program such as КриптоПро's ``cryptcp`` (:mod:`.external`).
Both leave the PDF with a visible stamp (:mod:`.visible`) and a detached CAdES-BES
signature (``.p7s``) of it, which a post checks with :mod:`protocol_signatures.cms`.
"""

from .ca import CentreCA
from .credentials import SignerCredential
from .errors import SigningError
from .pades import DEFAULT_REASON, VerificationResult, sign_protocol, verify_protocol
from .store import MIN_PASSPHRASE, SignerStore, StoredSigner, check_new_passphrase

__all__ = [
    "DEFAULT_REASON",
    "MIN_PASSPHRASE",
    "CentreCA",
    "SignerCredential",
    "SignerStore",
    "SigningError",
    "StoredSigner",
    "VerificationResult",
    "check_new_passphrase",
    "sign_protocol",
    "verify_protocol",
]
