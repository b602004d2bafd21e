"""An external signing program (e.g. КриптоПро's ``cryptcp``) for keys faplink never sees.

A centre whose consultants hold certified keys (a token, КриптоПро CSP's store) lets
the administrator set a command template; faplink fills in the placeholders and runs
it, with no shell, for each protocol. The contract (also in the README):

* placeholders: ``{input}`` the PDF to sign (a file named ``protocol.pdf``),
  ``{outdir}`` an empty directory for the result, ``{output}`` the path the signature
  is expected at (``{outdir}/protocol.pdf.sig``), ``{thumbprint}`` the SHA-1
  thumbprint of the consultant's certificate (40 hex digits, upper case), ``{pin}``
  the consultant's PIN or password (visible in the process list: prefer the
  ``FAPLINK_SIGNER_PIN`` environment variable, always set, or the program's own
  PIN prompt caching);
* the program writes a detached CMS signature (DER, or PEM/Base64 of it) to
  ``{output}``, or to the only file it creates in ``{outdir}`` (``cryptcp -dir``
  names it ``protocol.pdf.sig``);
* exit code 0 is success; any other is a failure whose last line of stderr (or
  stdout) the consultant sees, in a Russian sentence;
* it is killed (its whole process group) after the configured timeout;
* the signature must be SignedData over exactly the given bytes, signed with the
  chosen certificate; anything else is refused.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shlex
import signal
import string
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .described import Described
from .errors import SigningError

__all__ = [
    "PLACEHOLDERS",
    "ExternalCertificate",
    "ExternalCertificateStore",
    "ExternalCommand",
    "check_template",
    "to_der",
]

PLACEHOLDERS = ("input", "output", "outdir", "thumbprint", "pin")
PIN_VARIABLE = "FAPLINK_SIGNER_PIN"
THUMBPRINT_VARIABLE = "FAPLINK_SIGNER_THUMBPRINT"
TIMEOUT_MIN, TIMEOUT_MAX, TIMEOUT_DEFAULT = 5, 600, 60
_INPUT_NAME = "protocol.pdf"
_THUMBPRINT = re.compile(r"^[0-9A-F]{40}$")
_PEM = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----(.*?)-----END [A-Z0-9 ]+-----", re.S)


def check_template(template: str) -> list[str]:
    """The template split into arguments; :class:`SigningError` if it cannot be run."""
    try:
        arguments = shlex.split(template)
    except ValueError as error:
        raise SigningError(f"Команда подписи записана с ошибкой: {error} (проверьте кавычки).") from error
    if not arguments:
        raise SigningError(
            "Укажите команду подписи, например: "
            "cryptcp -signf -der -dir {outdir} -thumbprint {thumbprint} {input}"
        )
    used = set()
    for argument in arguments:
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(argument) if name is not None]
        except ValueError as error:
            raise SigningError(f"Команда подписи: непарная фигурная скобка в «{argument}».") from error
        unknown = [name for name in fields if name not in PLACEHOLDERS]
        if unknown:
            known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            raise SigningError(
                f"Команда подписи: неизвестная подстановка {{{unknown[0]}}}; допустимы {known}."
            )
        used.update(fields)
    if "input" not in used:
        raise SigningError("В команде подписи нет {input}: программа не узнает, какой файл подписать.")
    if "{" in arguments[0]:
        raise SigningError("Команда подписи должна начинаться с имени программы, а не с подстановки.")
    return arguments


def to_der(data: bytes) -> bytes:
    """The program's output as DER: PEM and bare Base64 are unwrapped; :class:`SigningError` otherwise."""
    candidates = [data]
    match = _PEM.search(data)
    if match:
        candidates.append(match.group(1))
    elif data[:1] != b"\x30":
        candidates.append(data)
    for index, candidate in enumerate(candidates):
        der = candidate
        if index > 0:
            try:
                der = base64.b64decode(b"".join(candidate.split()), validate=True)
            except (binascii.Error, ValueError):
                continue
        try:
            info = cms.ContentInfo.load(der, strict=True)
            if info["content_type"].native == "signed_data" and len(info["content"]["signer_infos"]) > 0:
                return der
        except (ValueError, TypeError, KeyError):
            continue
    raise SigningError(
        "Программа подписи создала файл, который не является подписью CMS (PKCS#7): "
        "проверьте ключи команды (нужна отсоединённая подпись, -der)."
    )


def _last_line(*outputs: bytes) -> str:
    for output in outputs:
        lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
        if lines:
            return lines[-1][:300]
    return ""


@dataclass(frozen=True)
class ExternalCommand:
    """The administrator's command template and how long it may run."""

    template: str
    timeout: float = TIMEOUT_DEFAULT

    def sign(self, document: bytes, *, thumbprint: str, pin: str = "") -> bytes:
        """Run the program on ``document``; return its detached signature as DER."""
        arguments = check_template(self.template)
        thumbprint = thumbprint.strip().upper()
        if not _THUMBPRINT.match(thumbprint):
            raise SigningError("Отпечаток сертификата — 40 шестнадцатеричных цифр (SHA-1).")
        with tempfile.TemporaryDirectory(prefix="faplink-sign-") as temporary:
            work = Path(temporary)
            source = work / _INPUT_NAME
            source.write_bytes(document)
            outdir = work / "out"
            outdir.mkdir()
            output = outdir / f"{_INPUT_NAME}.sig"
            values = {
                "input": str(source),
                "output": str(output),
                "outdir": str(outdir),
                "thumbprint": thumbprint,
                "pin": pin,
            }
            command = [argument.format_map(values) for argument in arguments]
            env = dict(os.environ)
            env[PIN_VARIABLE] = pin
            env[THUMBPRINT_VARIABLE] = thumbprint
            self._run(command, work, env)
            produced = output if output.is_file() else _only_file(outdir)
            if source.read_bytes() != document:
                raise SigningError("Программа подписи изменила подписываемый файл: подпись не принята.")
            return to_der(produced.read_bytes())

    def _run(self, command: list[str], workdir: Path, env: dict[str, str]) -> None:
        program = command[0]
        try:
            process = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, so a timeout kills its children too
            )
        except FileNotFoundError as error:
            raise SigningError(
                f"Программа подписи «{program}» не найдена на сервере центра: установите её "
                "или исправьте команду в «Электронной подписи»."
            ) from error
        except PermissionError as error:
            raise SigningError(
                f"Программу подписи «{program}» нельзя запустить: нет права на выполнение."
            ) from error
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise SigningError(
                f"Программа подписи не ответила за {self.timeout:.0f} с и остановлена: проверьте, "
                "подключён ли ключевой носитель, и повторите подписание."
            ) from None
        if process.returncode != 0:
            detail = _last_line(stderr, stdout)
            raise SigningError(
                f"Программа подписи завершилась с ошибкой (код {process.returncode})"
                + (f": {detail}" if detail else "")
                + ". Протокол не подписан."
            )


def _only_file(directory: Path) -> Path:
    files = [path for path in directory.iterdir() if path.is_file()]
    if len(files) != 1:
        raise SigningError(
            "Программа подписи завершилась успешно, но не создала файл подписи"
            if not files
            else "Программа подписи создала несколько файлов: непонятно, какой из них подпись."
        )
    return files[0]


# --- the consultants' certificates for the external program ------------------------------

_STAFF_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
MAX_CERTIFICATE = 16 * 1024


@dataclass(frozen=True)
class ExternalCertificate(Described):
    """A consultant's certificate whose key the external program holds (e.g. in КриптоПро CSP)."""

    thumbprint: str  # SHA-1 of the DER, as cryptcp -thumbprint takes it
    certificate: x509.Certificate
    trusted: bool  # issued by one of the CAs the administrator published

    @property
    def serial(self) -> str:
        digits = f"{self.certificate.serial_number:X}"
        return digits.zfill(len(digits) + len(digits) % 2)


def _load_certificate(data: bytes) -> x509.Certificate:
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data)
        try:
            return x509.load_der_x509_certificate(data)
        except ValueError:
            return x509.load_der_x509_certificate(base64.b64decode(b"".join(data.split()), validate=True))
    except (ValueError, binascii.Error) as error:
        raise SigningError(
            "Файл не является сертификатом X.509 (.cer, .crt): экспортируйте сертификат без закрытого ключа."
        ) from error


class ExternalCertificateStore:
    """The certificates consultants registered for the external program, one directory each."""

    def __init__(self, root: Path | str, trusted_issuers: list[x509.Certificate]) -> None:
        self.root = Path(root)
        self.issuer_names = [issuer.subject for issuer in trusted_issuers]

    def _dir(self, staff_id: str) -> Path:
        if not _STAFF_ID.match(staff_id):
            raise SigningError("Неизвестный сотрудник.")
        return self.root / staff_id

    def _entry(self, certificate: x509.Certificate) -> ExternalCertificate:
        thumbprint = certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 — КриптоПро's key id
        return ExternalCertificate(thumbprint, certificate, certificate.issuer in self.issuer_names)

    def certificates(self, staff_id: str) -> list[ExternalCertificate]:
        directory = self._dir(staff_id)
        found = []
        for path in sorted(directory.glob("*.crt")) if directory.is_dir() else []:
            try:
                found.append(self._entry(x509.load_pem_x509_certificate(path.read_bytes())))
            except ValueError:
                continue
        return sorted(found, key=lambda c: c.not_after, reverse=True)

    def add(self, staff_id: str, data: bytes) -> ExternalCertificate:
        """«Добавить сертификат»: keep a consultant's certificate (public part only)."""
        if not data:
            raise SigningError("Выберите файл сертификата (.cer, .crt).")
        if len(data) > MAX_CERTIFICATE:
            raise SigningError("Файл слишком большой для сертификата: выберите файл .cer или .crt.")
        entry = self._entry(_load_certificate(data))
        directory = self._dir(staff_id)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        (directory / f"{entry.thumbprint}.crt").write_bytes(
            entry.certificate.public_bytes(serialization.Encoding.PEM)
        )
        return entry

    def find(self, staff_id: str, thumbprint: str) -> ExternalCertificate:
        thumbprint = (thumbprint or "").strip().upper()
        chosen = next((c for c in self.certificates(staff_id) if c.thumbprint == thumbprint), None)
        if chosen is None:
            raise SigningError("Выберите подпись из списка.")
        return chosen
