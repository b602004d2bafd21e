"""The gateway's HTTP/1.1 connections to the web workers: a small kept-alive pool.

Every request a post or a browser makes, other than Socket.IO's, crosses this hop, so
it is kept to what a reverse proxy needs and no more: the request's head is written
as the bytes the client sent (no cookie jar, no default headers, no URL requoting),
the answer is parsed by llhttp (`httptools`, the parser uvicorn serves with), and the
bodies stream both ways with flow control, so that a blob's chunks are never all in
memory. A connection is one `asyncio.Protocol`; the pool reuses the most recently
used one and lets a connection go before the web workers' own keep-alive would.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator
from typing import cast

import httptools

__all__ = ["Upstream", "UpstreamConnection", "UpstreamError", "IDLE_S", "CONNECT_TIMEOUT_S"]

#: A kept-alive connection is let go after this long unused, well before gunicorn's 30 s
#: (`central.serving.KEEPALIVE`), so that a request is never written to one it is closing.
IDLE_S = 15.0
CONNECT_TIMEOUT_S = 10.0
#: Bytes of an answer's body read ahead of the client before the web worker is paused.
_READ_AHEAD = 256 * 1024


class UpstreamError(Exception):
    """The web workers could not be reached, or broke the connection off."""


class UpstreamConnection(asyncio.Protocol):
    """One HTTP/1.1 connection to a web worker; one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.idle_since = time.monotonic()
        self._parser: httptools.HttpResponseParser | None = None
        self._head_only = False
        self._head: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._status = 0
        self._framed = False  # Content-Length or chunked: an EOF before the end is a fault
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._paused = False
        self._wakeup: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self.complete = False  # the whole answer was read
        self.keep_alive = False
        self.got_bytes = False
        self._error: Exception | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        if self._parser is None:  # nothing was asked: a worker has no word to say
            self._fail(UpstreamError("the web worker sent bytes nobody asked for"))
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"the web worker's answer is not HTTP: {exc}"))

    def eof_received(self) -> bool | None:
        if self._head is not None and self._head.done() and not self._framed and not self.complete:
            self.on_message_complete()  # an answer whose end is the connection's
            self.keep_alive = False
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.complete:
            self._fail(UpstreamError(f"the web worker closed the connection{f': {exc}' if exc else ''}"))
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # -- httptools' callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._headers = []
        self._framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        lower = name.lower()
        if lower == b"content-length" or lower == b"transfer-encoding":
            self._framed = True

    def on_headers_complete(self) -> None:
        assert self._parser is not None and self._head is not None
        self._status = self._parser.get_status_code()
        if self._status < 200:  # an interim answer (100 Continue): the real one follows
            return
        if not self._head.done():
            self._head.set_result((self._status, self._headers))
        if self._head_only:  # an answer to HEAD has no body, whatever its Content-Length says
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _READ_AHEAD and not self._paused and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
        self._wake()

    def on_message_complete(self) -> None:
        if self._status < 200 or self.complete:
            return
        assert self._parser is not None
        self.keep_alive = self._parser.should_keep_alive() and not self._head_only
        self.complete = True
        self._parser = None
        self._wake()

    # -- one exchange ---------------------------------------------------------------------

    def begin(self, head: bytes, *, head_only: bool) -> None:
        """Write a request's head (and its whole body, when it came along) and expect its answer."""
        assert self.transport is not None
        self._parser = httptools.HttpResponseParser(self)
        self._head_only = head_only
        self._head = asyncio.get_running_loop().create_future()
        self._chunks.clear()
        self._buffered = 0
        if self._paused and self.transport is not None:
            self.transport.resume_reading()
            self._paused = False
        self.complete = self.keep_alive = self.got_bytes = False
        self._error = None
        if self.closed:
            self._fail(UpstreamError("the web worker had closed the connection"))
            return
        self.transport.write(head)

    async def write(self, data: bytes) -> None:
        """Send more of the request's body, waiting while the web worker is slower than the client."""
        if self.closed or self.complete or self.transport is None:
            # The worker answered before it had the whole body, or went: its answer (or its
            # absence) tells the client; the connection, a request's body short, is not reused.
            self.keep_alive = False
            return
        self.transport.write(data)
        if self._writable is not None:
            await self._writable

    async def response_head(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        """The answer's status and headers (as the worker wrote them)."""
        assert self._head is not None
        return await self._head

    async def body(self) -> AsyncIterator[tuple[bytes, bool]]:
        """The answer's body as it arrives: (chunk, whether it is the last)."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._paused and self._buffered <= _READ_AHEAD // 2 and self.transport is not None:
                    self._paused = False
                    self.transport.resume_reading()
                last = self.complete and not self._chunks
                yield chunk, last
                if last:
                    return
                continue
            if self.complete:
                yield b"", True
                return
            if self._error is not None:
                raise self._error
            self._wakeup = asyncio.get_running_loop().create_future()
            await self._wakeup

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if self._error is None:
            self._error = error
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
        self._wake()
        if self.transport is not None:
            self.transport.close()


class Upstream:
    """A pool of kept-alive connections to `target`: ``unix:/path`` or ``http://host:port``."""

    def __init__(self, target: str, connections: int = 256) -> None:
        self.target = target
        if target.startswith("unix:"):
            self.path: str | None = target.removeprefix("unix:")
            self.address: tuple[str, int] | None = None
            self.host = b"web-workers"
        else:
            netloc = target.removeprefix("http://").rstrip("/")
            host, _, port = netloc.rpartition(":")
            self.path, self.address = None, ((host or netloc).strip("[]"), int(port or 80))
            self.host = netloc.encode()
        self._idle: list[UpstreamConnection] = []
        self._slots = asyncio.Semaphore(connections)

    async def acquire(self) -> UpstreamConnection:
        """A connection of its own for one exchange: a kept-alive one, or a new one."""
        await self._slots.acquire()
        try:
            now = time.monotonic()
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed and now - conn.idle_since < IDLE_S:
                    conn.reused = True
                    return conn
                conn.close()
            return await self.connect()
        except BaseException:
            self._slots.release()
            raise

    async def connect(self) -> UpstreamConnection:
        """A new connection (no slot of the pool's is taken or given back)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                if self.path is not None:
                    _t, conn = await loop.create_unix_connection(UpstreamConnection, self.path)
                else:
                    assert self.address is not None
                    _t, conn = await loop.create_connection(UpstreamConnection, *self.address)
        except (OSError, TimeoutError) as exc:
            raise UpstreamError(f"cannot connect to {self.target}: {exc or type(exc).__name__}") from exc
        return conn

    def release(self, conn: UpstreamConnection) -> None:
        """Give the connection back: kept for the next exchange if its answer was read whole."""
        self._slots.release()
        if conn.complete and conn.keep_alive and not conn.closed:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
