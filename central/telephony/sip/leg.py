"""One leg of a click-to-call: a dialog with one phone over its own UDP socket.

A leg sends requests as client transactions that retransmit over UDP
(RFC 3261 §17.1: Timer A doubling from T1 for INVITE until a provisional
response, Timer E capped at T2 for other requests; Timer B/F give up after
64·T1), acknowledges non-2xx final responses itself, answers the phone's own
requests (BYE, OPTIONS) and keeps the dialog (tags, remote target, route set).
The 2xx ACK is left to the controller: in third-party call control it carries
the other phone's SDP.
"""

from __future__ import annotations

import errno
import logging
import secrets
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .message import (
    SipMessage,
    SipUri,
    build_message,
    digest_authorization,
    name_addr,
    new_branch,
    new_tag,
    parse_message,
    tag_of,
    uri_of,
)

__all__ = ["Leg", "ClientTransaction", "Timers", "Credentials", "Unresolvable", "USER_AGENT"]

log = logging.getLogger(__name__)

USER_AGENT = "faplink click-to-call"

#: Linux: report ICMP errors (port unreachable) on an unconnected UDP socket too.
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)


class Unresolvable(Exception):
    """The host of a leg's next hop has no address."""


@dataclass(frozen=True)
class Timers:
    """RFC 3261 timer values (seconds); T1 is the round-trip estimate."""

    t1: float = 0.5
    t2: float = 4.0

    @property
    def give_up(self) -> float:  # Timer B and Timer F
        return 64 * self.t1


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass
class ClientTransaction:
    """A request in flight: retransmitted until a response stops it or the timer gives up."""

    method: str
    branch: str
    cseq: int
    data: bytes
    destination: tuple[str, int]
    interval: float
    next_send: float | None
    deadline: float
    uri: str
    provisional: SipMessage | None = None
    final: SipMessage | None = None
    non2xx_ack: bytes | None = None

    @property
    def timed_out(self) -> bool:
        return self.final is None and time.monotonic() >= self.deadline

    @property
    def done(self) -> bool:
        return self.final is not None or self.timed_out


def _resolve(host: str, port: int) -> tuple[str, int]:
    try:
        info = socket.getaddrinfo(host.strip("[]"), port, socket.AF_INET, socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(host) from exc
    address = info[0][4]
    return str(address[0]), int(address[1])


def _local_ip_towards(address: tuple[str, int]) -> str:
    """The address of the interface the kernel would use to reach `address`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(address)
        return str(probe.getsockname()[0])


class Leg:
    """The controller's dialog with one phone (the consultant's or the patient's)."""

    def __init__(
        self,
        role: str,
        target: SipUri,
        local_uri: str,
        display: str,
        proxy: tuple[str, int] | None,
        credentials: Credentials | None,
        timers: Timers,
        extra_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.role = role  # "consultant" or "patient": for logs
        self.target = target  # the Request-URI of the INVITE
        self.local_uri = local_uri  # From: the centre's identity
        self.display = display
        self.proxy = proxy  # outbound proxy; None: straight to the target's host
        self.credentials = credentials
        self.timers = timers
        self.extra_headers = tuple(extra_headers)
        self.next_hop = _resolve(*(proxy or (target.host, target.port)))
        self.local_ip = _local_ip_towards(self.next_hop)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if sys.platform.startswith("linux"):
            self.sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        self.sock.bind((self.local_ip, 0))
        self.sock.setblocking(False)
        self.local_port = int(self.sock.getsockname()[1])
        self.call_id = f"{secrets.token_hex(10)}@{self.local_ip}"
        self.local_tag = new_tag()
        self.cseq = 0
        self.remote_tag = ""
        self.remote_target = str(target)
        self.route_set: list[str] = []
        self.invite: ClientTransaction | None = None
        self.ack: bytes | None = None  # the 2xx ACK, re-sent if the 200 OK comes again
        self.transactions: list[ClientTransaction] = []
        self.bye_received = False
        self.unreachable = False
        self.auth_tries = 0
        self._invite_sdp = b""
        self._authorization: tuple[str, str] | None = None

    # -- sending ---------------------------------------------------------------

    @property
    def contact(self) -> str:
        return f"<sip:faplink@{self.local_ip}:{self.local_port}>"

    def _via(self, branch: str) -> str:
        return f"SIP/2.0/UDP {self.local_ip}:{self.local_port};branch={branch};rport"

    def _send(self, data: bytes, destination: tuple[str, int]) -> None:
        try:
            self.sock.sendto(data, destination)
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
                self.unreachable = True
            else:
                raise
        log.debug("%s → %s:%s\n%s", self.role, *destination, data.decode("utf-8", "replace"))

    def _in_dialog_destination(self) -> tuple[str, int]:
        if self.proxy is not None:
            return self.next_hop
        if self.route_set:
            return _resolve(*_hostport(uri_of(self.route_set[0])))
        return _resolve(*_hostport(self.remote_target))

    def _start(
        self,
        method: str,
        uri: str,
        headers: list[tuple[str, str]],
        body: bytes,
        dest: tuple[str, int],
        branch: str | None = None,
    ) -> ClientTransaction:
        branch = branch or new_branch()
        data = build_message(f"{method} {uri} SIP/2.0", [("Via", self._via(branch)), *headers], body)
        now = time.monotonic()
        tx = ClientTransaction(
            method=method,
            branch=branch,
            cseq=self.cseq,
            data=data,
            destination=dest,
            interval=self.timers.t1,
            next_send=now + self.timers.t1,
            deadline=now + self.timers.give_up,
            uri=uri,
        )
        self.transactions.append(tx)
        self._send(data, dest)
        return tx

    def _dialog_headers(self, method: str, cseq: int) -> list[tuple[str, str]]:
        to = name_addr(str(self.target), tag=self.remote_tag)
        return [
            ("Max-Forwards", "70"),
            ("From", name_addr(self.local_uri, self.display, self.local_tag)),
            ("To", to),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]

    def send_invite(
        self, sdp: bytes = b"", authorization: tuple[str, str] | None = None
    ) -> ClientTransaction:
        """INVITE the phone; with no SDP the phone makes the offer in its 200 OK (RFC 3725 flow I)."""
        self.cseq += 1
        headers = self._dialog_headers("INVITE", self.cseq)
        headers += [("Contact", self.contact), *self.extra_headers, ("User-Agent", USER_AGENT)]
        headers.append(("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
        if authorization:
            headers.append(authorization)
        if sdp:
            headers.append(("Content-Type", "application/sdp"))
        self.invite = self._start("INVITE", str(self.target), headers, sdp, self.next_hop)
        self._invite_sdp = sdp
        return self.invite

    def retry_with_credentials(self) -> ClientTransaction | None:
        """Answer the INVITE's 401/407 with digest credentials; None if there is nothing to answer with."""
        assert self.invite is not None and self.invite.final is not None
        challenge_response = self.invite.final
        if self.credentials is None or self.auth_tries >= 2:
            return None
        proxy = challenge_response.status == 407
        challenge = challenge_response.header("Proxy-Authenticate" if proxy else "WWW-Authenticate") or ""
        stale = "stale=true" in challenge.replace(" ", "").lower()
        if self.auth_tries >= 1 and not stale:
            return None  # the same credentials were already refused
        value = digest_authorization(
            challenge,
            method="INVITE",
            uri=str(self.target),
            username=self.credentials.username,
            password=self.credentials.password,
        )
        if value is None:
            return None
        self.auth_tries += 1
        self._authorization = ("Proxy-Authorization" if proxy else "Authorization", value)
        return self.send_invite(self._invite_sdp, self._authorization)

    def cancel(self) -> ClientTransaction | None:
        """CANCEL the INVITE still ringing (only once a provisional response came, RFC 3261 §9.1)."""
        tx = self.invite
        if tx is None or tx.final is not None or tx.provisional is None:
            return None
        headers = [
            ("Max-Forwards", "70"),
            ("From", name_addr(self.local_uri, self.display, self.local_tag)),
            ("To", name_addr(str(self.target))),
            ("Call-ID", self.call_id),
            ("CSeq", f"{tx.cseq} CANCEL"),
            ("User-Agent", USER_AGENT),
        ]
        return self._start("CANCEL", tx.uri, headers, b"", tx.destination, branch=tx.branch)

    def send_ack(self, sdp: bytes = b"") -> None:
        """ACK the 2xx of the INVITE (a new transaction, no retransmission; RFC 3261 §13.2.2.4)."""
        assert self.invite is not None
        headers = self._dialog_headers("ACK", self.invite.cseq)
        headers += [*(("Route", r) for r in self.route_set), ("Contact", self.contact)]
        if sdp:
            headers.append(("Content-Type", "application/sdp"))
        data = build_message(
            f"ACK {self.remote_target} SIP/2.0", [("Via", self._via(new_branch())), *headers], sdp
        )
        self.ack = data
        self._send(data, self._in_dialog_destination())

    def send_bye(self) -> ClientTransaction:
        self.cseq += 1
        headers = self._dialog_headers("BYE", self.cseq)
        headers += [*(("Route", r) for r in self.route_set), ("User-Agent", USER_AGENT)]
        return self._start("BYE", self.remote_target, headers, b"", self._in_dialog_destination())

    # -- receiving -------------------------------------------------------------

    def read(self) -> None:
        """Take every datagram waiting on the socket."""
        while True:
            try:
                data, source = self.sock.recvfrom(65535)
            except BlockingIOError:
                return
            except ConnectionRefusedError:
                self.unreachable = True  # ICMP port unreachable: nothing listens there
                continue
            except OSError as exc:
                if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                    self.unreachable = True
                    continue
                raise
            try:
                message = parse_message(data)
            except ValueError:
                continue
            log.debug("%s ← %s:%s\n%s", self.role, *source, data.decode("utf-8", "replace"))
            if message.is_request:
                self._on_request(message, source)
            else:
                self._on_response(message)

    def _on_response(self, message: SipMessage) -> None:
        method = message.method
        tx = next((t for t in self.transactions if t.branch == message.branch and t.method == method), None)
        if tx is None:
            return
        if message.status < 200:
            if tx.final is None:
                tx.provisional = message
                if tx.method == "INVITE":
                    tx.next_send = None  # Timer A stops once the phone answers at all
            return
        if tx.final is not None:  # a retransmitted final response: our ACK was lost
            if tx.method == "INVITE":
                again = tx.non2xx_ack if message.status >= 300 else self.ack
                if again:
                    self._send(
                        again, tx.destination if message.status >= 300 else self._in_dialog_destination()
                    )
            return
        tx.final = message
        tx.next_send = None
        if tx.method != "INVITE":
            return
        if message.status >= 300:
            tx.non2xx_ack = self._non2xx_ack(tx, message)
            self._send(tx.non2xx_ack, tx.destination)
            return
        self.remote_tag = tag_of(message.header("To"))
        contact = message.header("Contact")
        if contact:
            self.remote_target = uri_of(contact)
        self.route_set = list(reversed(message.all("Record-Route")))

    def _non2xx_ack(self, tx: ClientTransaction, response: SipMessage) -> bytes:
        """The ACK of a failure response: same branch and Request-URI as the INVITE (RFC 3261 §17.1.1.3)."""
        headers = [
            ("Via", self._via(tx.branch)),
            ("Max-Forwards", "70"),
            ("From", name_addr(self.local_uri, self.display, self.local_tag)),
            ("To", response.header("To") or name_addr(str(self.target))),
            ("Call-ID", self.call_id),
            ("CSeq", f"{tx.cseq} ACK"),
        ]
        return build_message(f"ACK {tx.uri} SIP/2.0", headers)

    def _on_request(self, request: SipMessage, source: tuple[str, int]) -> None:
        method = request.method
        if method == "ACK":
            return
        if request.header("Call-ID") != self.call_id:
            self._respond(request, source, 481, "Call/Transaction Does Not Exist")
        elif method == "BYE":
            self.bye_received = True
            self._respond(request, source, 200, "OK")
        elif method == "OPTIONS":
            self._respond(request, source, 200, "OK")
        elif method in ("INVITE", "UPDATE"):
            # A re-offer would have to be relayed to the other phone: keep the session as it is.
            self._respond(request, source, 488, "Not Acceptable Here")
        else:
            self._respond(request, source, 405, "Method Not Allowed")

    def _respond(self, request: SipMessage, source: tuple[str, int], status: int, reason: str) -> None:
        headers = [("Via", via) for via in request.all("Via")]
        to = request.header("To") or ""
        if not tag_of(to):
            to = f"{to};tag={self.local_tag}"
        headers += [
            ("From", request.header("From") or ""),
            ("To", to),
            ("Call-ID", request.header("Call-ID") or ""),
            ("CSeq", request.header("CSeq") or ""),
            ("User-Agent", USER_AGENT),
        ]
        self._send(build_message(f"SIP/2.0 {status} {reason}", headers), source)

    # -- timers ----------------------------------------------------------------

    def retransmit(self, now: float) -> None:
        for tx in self.transactions:
            if tx.final is not None or tx.next_send is None or now < tx.next_send:
                continue
            if now >= tx.deadline:
                tx.next_send = None
                continue
            self._send(tx.data, tx.destination)
            tx.interval = tx.interval * 2 if tx.method == "INVITE" else min(tx.interval * 2, self.timers.t2)
            tx.next_send = now + tx.interval

    def next_timer(self) -> float | None:
        times = [t.next_send for t in self.transactions if t.final is None and t.next_send is not None]
        times += [t.deadline for t in self.transactions if t.final is None]
        return min(times) if times else None

    def close(self) -> None:
        self.sock.close()


def _hostport(uri: str) -> tuple[str, int]:
    parsed = SipUri.parse(uri)
    return parsed.host, parsed.port
