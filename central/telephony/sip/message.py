"""SIP messages (RFC 3261 §7) as the gateway reads and writes them: text in, text out.

Only what a click-to-call controller needs: a request or response line,
headers in order (compact forms expanded), a body; addresses and URIs with
their tags and parameters; and the digest answer to a 401/407 challenge.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

__all__ = [
    "SipMessage",
    "SipUri",
    "parse_message",
    "build_message",
    "name_addr",
    "tag_of",
    "uri_of",
    "digest_authorization",
    "new_branch",
    "new_tag",
]

#: RFC 3261 §7.3.3 compact header names.
COMPACT = {
    "v": "Via",
    "f": "From",
    "t": "To",
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
}

#: The magic cookie every RFC 3261 branch starts with.
BRANCH_COOKIE = "z9hG4bK"


def new_branch() -> str:
    return BRANCH_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


@dataclass
class SipMessage:
    """One SIP request or response, headers in the order they came."""

    first_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return not self.first_line.startswith("SIP/2.0 ")

    @property
    def method(self) -> str:
        """The request's method, or for a response the method its CSeq names."""
        if self.is_request:
            return self.first_line.split(" ", 1)[0].upper()
        return self.cseq[1]

    @property
    def status(self) -> int:
        return int(self.first_line.split(" ", 2)[1]) if not self.is_request else 0

    @property
    def reason(self) -> str:
        parts = self.first_line.split(" ", 2)
        return parts[2] if len(parts) > 2 and not self.is_request else ""

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = (self.header("CSeq") or "0 ").partition(" ")
        try:
            return int(number), method.strip().upper()
        except ValueError:
            return 0, method.strip().upper()

    @property
    def branch(self) -> str:
        """The branch of the topmost Via: which transaction a response belongs to."""
        match = re.search(r";\s*branch=([^;,\s]+)", self.header("Via") or "")
        return match.group(1) if match else ""

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _split_commas(value: str) -> list[str]:
    """Split a header value at the commas that separate entries (not inside <> or quotes)."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


#: Headers whose comma-separated entries are separate values (so Via and Record-Route order holds).
_MULTI = {"via", "route", "record-route", "contact"}


def parse_message(data: bytes) -> SipMessage:
    """Parse one datagram; raises ValueError if it is not SIP."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    first = lines[0].strip()
    if not first or not (first.startswith("SIP/2.0 ") or first.endswith(" SIP/2.0")):
        raise ValueError("not a SIP message")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon:
            continue
        name = name.strip()
        name = COMPACT.get(name.lower(), name) if len(name) == 1 else name
        value = value.strip()
        if name.lower() in _MULTI:
            headers.extend((name, part) for part in _split_commas(value))
        else:
            headers.append((name, value))
    message = SipMessage(first, headers, body)
    length = message.header("Content-Length")
    if length is not None and length.isdigit():
        message.body = body[: int(length)]
    return message


def build_message(first_line: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """Serialise a message; Content-Length is always written, last among the headers."""
    lines = [first_line, *(f"{name}: {value}" for name, value in headers if name != "Content-Length")]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


@dataclass(frozen=True)
class SipUri:
    """sip:user@host[:port]: where a leg is addressed and, without a proxy, sent."""

    user: str
    host: str
    port: int = 5060

    @classmethod
    def parse(cls, text: str) -> SipUri:
        match = re.fullmatch(
            r"sips?:(?:([^@;]+)@)?([^:;>]+|\[[0-9a-fA-F:]+\])(?::(\d+))?(?:;[^>]*)?", text.strip()
        )
        if not match:
            raise ValueError(f"not a SIP URI: {text}")
        user, host, port = match.groups()
        return cls(user or "", host, int(port) if port else 5060)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = "" if self.port == 5060 else f":{self.port}"
        return f"sip:{user}{self.host}{port}"


def name_addr(uri: str, display: str = "", tag: str = "") -> str:
    """A From/To/Contact value: "Display" <uri>;tag=…"""
    shown = display.replace("\\", "").replace('"', "")
    out = f'"{shown}" <{uri}>' if shown else f"<{uri}>"
    return f"{out};tag={tag}" if tag else out


def tag_of(value: str | None) -> str:
    match = re.search(r">?\s*;\s*tag=([^;\s,]+)", value or "")
    return match.group(1) if match else ""


def uri_of(value: str | None) -> str:
    """The URI inside a name-addr (or the addr-spec itself)."""
    text = (value or "").strip()
    match = re.search(r"<([^>]*)>", text)
    if match:
        return match.group(1)
    return text.split(";", 1)[0].strip()


def _challenge_params(challenge: str) -> dict[str, str]:
    scheme, _, rest = challenge.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    return {
        key.lower(): value if value is not None else bare
        for key, value, bare in (
            (m.group(1), m.group(2), m.group(3))
            for m in re.finditer(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))', rest)
        )
    }


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 — RFC 2617 digest is MD5


def digest_authorization(
    challenge: str, *, method: str, uri: str, username: str, password: str, nonce_count: int = 1
) -> str | None:
    """The Authorization value answering a Digest challenge (RFC 2617, MD5, qop=auth); None if unusable."""
    params = _challenge_params(challenge)
    realm, nonce = params.get("realm"), params.get("nonce")
    algorithm = params.get("algorithm", "MD5")
    if realm is None or not nonce or algorithm.upper() not in ("MD5", "MD5-SESS"):
        return None
    cnonce = secrets.token_hex(8)
    ha1 = _md5(f"{username}:{realm}:{password}")
    if algorithm.upper() == "MD5-SESS":
        ha1 = _md5(f"{ha1}:{nonce}:{cnonce}")
    ha2 = _md5(f"{method}:{uri}")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    fields = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f"algorithm={algorithm}",
    ]
    if "auth" in qops:
        nc = f"{nonce_count:08x}"
        response = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        response = _md5(f"{ha1}:{nonce}:{ha2}")
    fields.insert(4, f'response="{response}"')
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)
