"""Linux TCP_INFO counters of a connected socket: what the kernel sent and had to send again.

Both sides of the link check read them (node: its uploads; central: the
downloads it serves), so the module lives here rather than in either app.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

__all__ = ["TcpCounters", "tcp_counters"]

# Offsets in `struct tcp_info` (linux/tcp.h); bytes_sent/bytes_retrans need Linux ≥ 4.19.
_UNACKED = 24
_BYTES_SENT = 200
_BYTES_RETRANS = 208
_NEEDED = _BYTES_RETRANS + 8


@dataclass(frozen=True)
class TcpCounters:
    bytes_sent: int  # payload bytes handed to the network, retransmissions included
    bytes_retrans: int  # of which sent again because the first copy was (taken as) lost
    unacked: int  # segments still waiting for the peer's acknowledgement

    def __sub__(self, earlier: TcpCounters) -> TcpCounters:
        return TcpCounters(
            self.bytes_sent - earlier.bytes_sent, self.bytes_retrans - earlier.bytes_retrans, self.unacked
        )


def tcp_counters(sock: socket.socket | None) -> TcpCounters | None:
    """The socket's counters, or None where TCP_INFO is not available (not Linux, too old, not TCP)."""
    option = getattr(socket, "TCP_INFO", None)
    if sock is None or option is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, option, 512)
    except (OSError, ValueError):
        return None
    if len(raw) < _NEEDED:
        return None
    (unacked,) = struct.unpack_from("I", raw, _UNACKED)
    sent, retrans = struct.unpack_from("QQ", raw, _BYTES_SENT)
    return TcpCounters(bytes_sent=sent, bytes_retrans=retrans, unacked=unacked)
