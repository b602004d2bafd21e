"""The gateway's way to the web workers: a streaming HTTP reverse proxy (ASGI).

An instance answers on one address, the one its posts were enrolled with: the
gateway listens there, keeps /socket.io/ for itself and hands every other request
(pages, the JSON API, the sync API, blobs) to the threaded web workers, over a unix
socket or a local port. Bodies stream both ways (a blob's chunks are not held in
memory), and the web workers learn who asked as from any proxy: the gateway
appends the client's address, scheme and host to ``X-Forwarded-For``/``-Proto``/
``-Host``, and a web worker behind it trusts one hop more than `PROXY_HOPS`
(``REALTIME_GATEWAY`` in `central.create_app`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx

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
_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")


class WebProxy:
    """Forwards HTTP requests to `target`: ``unix:/path/to/socket`` or ``http://host:port``."""

    def __init__(self, target: str, connections: int = 256) -> None:
        if target.startswith("unix:"):
            transport = httpx.AsyncHTTPTransport(uds=target.removeprefix("unix:"))
            self.base = httpx.URL("http://web-workers")
        else:
            transport = httpx.AsyncHTTPTransport()
            self.base = httpx.URL(target)
        self.target = target
        self.client = httpx.AsyncClient(
            transport=transport,
            # A sync round's request may take long; the workers' own timeout bounds it.
            timeout=httpx.Timeout(None, connect=10.0),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            follow_redirects=False,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":  # only Socket.IO's, which the gateway keeps
            await send({"type": "websocket.close", "code": 1008})
        else:
            await self._forward(scope, receive, send)

    async def aclose(self) -> None:
        await self.client.aclose()

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
        headers = forwarded_headers(scope)
        content: bytes | AsyncIterator[bytes] = b""
        if {b"content-length", b"transfer-encoding"} & {name.lower() for name, _v in scope["headers"]}:
            content = _body(receive)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            raw_path += b"?" + scope["query_string"]
        url = self.base.copy_with(raw_path=raw_path)
        outgoing = self.client.build_request(scope["method"], url, headers=headers, content=content)
        try:
            response = await self.client.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            log.warning("the web workers did not answer %s %s: %s", scope["method"], scope["path"], exc)
            await _plain(send, 502, b"central's web workers are not answering\n")
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP],
                }
            )
            async for chunk in response.aiter_raw():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


def forwarded_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The request's headers for the web workers: without hop-by-hop ones, with this hop's
    client address, scheme and host appended to the ``X-Forwarded-*`` the client sent."""
    kept: list[tuple[bytes, bytes]] = []
    forwarded: dict[bytes, list[bytes]] = {name: [] for name in _FORWARDED}
    host = b""
    for name, value in scope.get("headers", []):
        lower = name.lower()
        if lower in HOP_BY_HOP:
            continue
        if lower in forwarded:
            forwarded[lower].append(value)
            continue
        if lower == b"host":
            host = value
        kept.append((lower, value))
    client = scope.get("client")
    this_hop = {
        b"x-forwarded-for": (client[0] if client else "").encode(),
        b"x-forwarded-proto": str(scope.get("scheme", "http")).encode(),
        b"x-forwarded-host": host,
    }
    for name in _FORWARDED:
        kept.append((name, b", ".join([*forwarded[name], this_hop[name]])))
    return kept


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body", False):
            return


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
