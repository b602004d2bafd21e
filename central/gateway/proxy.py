"""The gateway's way to the web workers: a streaming HTTP reverse proxy (ASGI).

An instance answers on one address, the one its posts were enrolled with: the
gateway listens there, keeps /socket.io/ for itself and hands every other request
(pages, the JSON API, the sync API, blobs) to the threaded web workers, over a unix
socket or a local port. Bodies stream both ways (a blob's chunks are not held in
memory), and the web workers learn who asked as from any proxy: the gateway
appends the client's address, scheme and host to ``X-Forwarded-For``/``-Proto``/
``-Host``, and a web worker behind it trusts one hop more than `PROXY_HOPS`
(``REALTIME_GATEWAY`` in `central.create_app`).

The hop to the workers is the gateway's own (`upstream`): kept-alive connections
that carry the request's head as the client sent it, less the hop-by-hop headers.
A short request goes out in one write with its body; a long one streams, and its
body is sent as it comes. When the workers cannot be reached the client gets a
502 saying so; a kept-alive connection the worker closed just as a request went
out is retried once on a new one, if the request was whole in hand and may be sent
twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .upstream import Upstream, UpstreamConnection, UpstreamError

__all__ = ["WebProxy", "HOP_BY_HOP"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: Headers of one connection, not of the request (RFC 9110 7.6.1); never passed on.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_LENGTH, _CHUNKED = b"length", b"chunked"
#: Methods a request of which may be sent again (RFC 9110 9.2.2).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")
_UNAVAILABLE = b"central's web workers are not answering\n"


class _ClientGone(Exception):
    """The client went away in the middle of sending its request's body."""


class WebProxy:
    """Forwards HTTP requests to `target`: ``unix:/path/to/socket`` or ``http://host:port``."""

    def __init__(self, target: str, connections: int = 256) -> None:
        self.target = target
        self.upstream = Upstream(target, connections)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._forward(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:  # a WebSocket not to /socket.io/, which the gateway keeps
            await send({"type": "websocket.close", "code": 1008})

    async def aclose(self) -> None:
        self.upstream.close()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        head, framing = request_head(scope, self.upstream.host)
        body, more = b"", False
        if framing:  # a small body comes whole in the first message: sent with the head, at once
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body, more = message.get("body", b""), message.get("more_body", False)
        chunked = framing == _CHUNKED and more
        if framing == _CHUNKED:
            head += (
                b"transfer-encoding: chunked\r\n\r\n" if more else b"content-length: %d\r\n\r\n" % len(body)
            )
        else:
            head += b"\r\n"
        start = head + (_chunk(body) if chunked and body else body)
        try:
            conn = await self.upstream.acquire()
        except UpstreamError as exc:
            await self._unavailable(scope, send, exc)
            return
        started = False
        try:
            try:
                status, headers = await self._exchange(conn, start, scope, receive, more, chunked)
            except UpstreamError:
                if more or not conn.reused or conn.got_bytes or scope["method"] not in _IDEMPOTENT:
                    raise
                # A kept-alive connection the worker closed as the request went out: once more,
                # on a new one, if the request is whole in hand and may be made twice (a worker
                # that died in the middle of a POST may have done part of it).
                conn.close()
                conn = await self.upstream.connect()
                status, headers = await self._exchange(conn, start, scope, receive, more, chunked)
            started = True
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP],
                }
            )
            async for chunk, last in conn.body():
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})
        except UpstreamError as exc:
            if not started:
                await self._unavailable(scope, send, exc)
            else:  # the worker went away in the middle of its answer: the client's connection is cut
                log.warning("the web workers broke off %s %s: %s", scope["method"], scope["path"], exc)
        except _ClientGone:
            pass
        finally:
            self.upstream.release(conn)  # kept only if its exchange went to the end

    async def _exchange(
        self,
        conn: UpstreamConnection,
        start: bytes,
        scope: Scope,
        receive: Receive,
        more: bool,
        chunked: bool,
    ) -> tuple[int, list[tuple[bytes, bytes]]]:
        """Send the request (its head and what came of its body, then the rest as it comes); the
        answer's status and headers."""
        conn.begin(start, head_only=scope["method"] == "HEAD")
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone()
            body, more = message.get("body", b""), message.get("more_body", False)
            if chunked:
                await conn.write((_chunk(body) if body else b"") + (b"" if more else b"0\r\n\r\n"))
            elif body:
                await conn.write(body)
        return await conn.response_head()

    async def _unavailable(self, scope: Scope, send: Send, exc: Exception) -> None:
        log.warning("the web workers did not answer %s %s: %s", scope["method"], scope["path"], exc)
        await _plain(send, 502, _UNAVAILABLE)


def request_head(scope: Scope, default_host: bytes) -> tuple[bytes, bytes]:
    """The request line and headers for the web workers, without the blank line that ends them;
    and how the client framed the body: by its length (kept in the head), chunked (to be said
    again, as a length if the body is short), or none."""
    target = scope.get("raw_path") or scope["path"].encode()
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    parts = [scope["method"].encode(), b" ", target, b" HTTP/1.1\r\n"]
    headers, framing = _headers(scope, default_host)
    for name, value in headers:
        if name != b"expect":
            parts += [name, b": ", value, b"\r\n"]
    return b"".join(parts), framing


def forwarded_headers(scope: Scope, default_host: bytes = b"") -> list[tuple[bytes, bytes]]:
    """The request's headers for the web workers: without hop-by-hop ones, with this hop's
    client address, scheme and host appended to the ``X-Forwarded-*`` the client sent."""
    return _headers(scope, default_host)[0]


def _headers(scope: Scope, default_host: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    kept: list[tuple[bytes, bytes]] = []
    forwarded: dict[bytes, list[bytes]] = {name: [] for name in _FORWARDED}
    host = b""
    framing = b""
    for name, value in scope.get("headers", []):
        lower = name.lower()
        if lower in HOP_BY_HOP:
            if lower == b"transfer-encoding":
                framing = _CHUNKED  # uvicorn lets no other coding through
            continue
        if lower in forwarded:
            forwarded[lower].append(value)
            continue
        if lower == b"host":
            host = value
        elif lower == b"content-length":
            framing = _LENGTH
        kept.append((lower, value))
    if not host and default_host:  # HTTP/1.0 without Host: the web workers want one
        kept.append((b"host", default_host))
    client = scope.get("client")
    this_hop = {
        b"x-forwarded-for": (client[0] if client else "").encode(),
        b"x-forwarded-proto": str(scope.get("scheme", "http")).encode(),
        b"x-forwarded-host": host,
    }
    for name in _FORWARDED:
        kept.append((name, b", ".join([*forwarded[name], this_hop[name]])))
    return kept, framing


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _plain(send: Send, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(text)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text, "more_body": False})
