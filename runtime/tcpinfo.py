"""Linux TCP_INFO counters of a connected socket: what the kernel sent, and sent again.

Both sides of the link check read them (node: its uploads; central: the
downloads it serves), so the module lives here rather than in either app.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["TcpCounters", "tcp_counters"]

# Offsets in `struct tcp_info` (linux/tcp.h). data_segs_out needs Linux ≥ 4.6,
# dsack_dups ≥ 5.0 (older kernels: counted as none).
_UNACKED = 24
_TOTAL_RETRANS = 100
_BYTES_ACKED = 120
_DATA_SEGS_OUT = 156
_DSACK_DUPS = 216
_NEEDED = _DATA_SEGS_OUT + 4


@dataclass(frozen=True)
class TcpCounters:
    segments: int  # data segments sent, retransmissions included
    retransmitted: int  # segments sent again because the first copy was (taken as) lost
    spurious: int  # retransmissions the peer reported as duplicates (D-SACK): nothing was lost
    unacked: int = 0  # segments still waiting for the peer's acknowledgement
    acked_bytes: int = 0  # payload bytes the peer has acknowledged

    def __sub__(self, earlier: TcpCounters) -> TcpCounters:
        return TcpCounters(
            self.segments - earlier.segments,
            self.retransmitted - earlier.retransmitted,
            self.spurious - earlier.spurious,
            self.unacked,
            self.acked_bytes - earlier.acked_bytes,
        )

    def lost_pct(self, fewest: int = 20) -> float | None:
        """Share of segments really lost (retransmitted, less the spurious), in %; None under `fewest`."""
        if self.segments < fewest:
            return None
        return 100.0 * max(0, self.retransmitted - self.spurious) / self.segments

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    (retransmitted,) = struct.unpack_from("I", raw, _TOTAL_RETRANS)
    (segments,) = struct.unpack_from("I", raw, _DATA_SEGS_OUT)
    (acked,) = struct.unpack_from("Q", raw, _BYTES_ACKED)
    spurious = struct.unpack_from("I", raw, _DSACK_DUPS)[0] if len(raw) >= _DSACK_DUPS + 4 else 0
    return TcpCounters(segments, retransmitted, spurious, unacked=unacked, acked_bytes=acked)
