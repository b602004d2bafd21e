"""Free ports for the servers a test starts, none handed out twice (a share per xdist worker)."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

#: Ports handed out in this session: a port two servers were given would be refused to one.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port for a server a test starts (see `free_port_block`)."""
    return free_port_block(1)


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports, below the kernel's ephemeral range.

    A port the kernel hands out for bind(0) (or one next to it) may be taken by any
    outgoing connection before the server that is meant to bind it starts; ports below
    the ephemeral range are only ever taken by listeners. None is handed out twice.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    # Parallel workers (pytest-xdist) each draw from their own share of the range, so that
    # two of them never hand out the same port between the check and the server's bind.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = (low - 20000) // max(workers, 1)
    first = 20000 + share * (int(worker) if worker.isdigit() else 0)
    for _ in range(500):
        base = random.randrange(first, first + share - count)
        block = set(range(base, base + count))
        if block & _HANDED_OUT:
            continue
        socks = [socket.socket() for _ in range(count)]
        try:
            for offset, sock in enumerate(socks):
                sock.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        _HANDED_OUT.update(block)
        return base
    raise RuntimeError("no block of free ports found")
