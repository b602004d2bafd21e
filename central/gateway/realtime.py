"""The realtime gateway's Socket.IO server: thousands of connections on one asyncio loop.

python-socketio's `AsyncServer` holds the posts' links ("/node") and the consultants'
pages ("/") without a thread each. What a connection may do is decided by the same
handlers Flask-SocketIO runs (`central.live.endpoints.ENDPOINTS`): each event runs
in a worker thread, inside a request context made from the connection's handshake
(its cookie, its signed headers), in the app this process built. What the handlers
and the web workers emit goes through the Redis message queue, where this server
listens (`AsyncRedisManager`) and delivers it to its clients, and to other
instances' gateways alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import socketio
from flask import Flask, request
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

from ..extensions import MESSAGE_CHANNEL
from ..live.endpoints import ENDPOINTS, Handler

__all__ = ["RealtimeGateway", "GatewayConnection", "THREADS"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Handlers run at once (each is a few database and Redis round trips, never a wait).
THREADS = 16
#: A handler's wait for the loop (to join a room): the loop only has to be free.
_LOOP_WAIT_S = 30.0


class GatewayConnection:
    """A connection as the handlers see it, from the worker thread they run in."""

    def __init__(
        self, gateway: RealtimeGateway, sid: str, namespace: str, headers: Mapping[str, str]
    ) -> None:
        self.gateway = gateway
        self.sid = sid
        self.namespace = namespace
        self.headers = headers

    def join(self, room: str) -> None:
        sio = self.gateway.sio
        self.gateway.on_loop(lambda: sio.enter_room(self.sid, room, namespace=self.namespace))

    def rooms(self) -> list[str]:
        async def read() -> list[str]:
            return list(self.gateway.sio.rooms(self.sid, namespace=self.namespace))

        return self.gateway.on_loop(read)


def handshake_environ(environ: Mapping[str, Any]) -> dict[str, Any]:
    """A WSGI environ of the connection's handshake (its path and headers) for Flask's request context."""
    scope = environ.get("asgi.scope") or {}
    headers = Headers()
    for name, value in scope.get("headers", []):
        headers.add(name.decode("latin-1"), value.decode("latin-1"))
    client = scope.get("client") or ("", 0)
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    builder = EnvironBuilder(
        path=str(environ.get("PATH_INFO") or "/socket.io/"),
        headers=headers,
        base_url=f"{scheme}://{headers.get('Host', 'localhost')}",
        environ_base={"REMOTE_ADDR": client[0] or ""},
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


class RealtimeGateway:
    """Serves central's Socket.IO endpoints for `app` from the message queue at `url`."""

    def __init__(self, app: Flask, url: str, threads: int = THREADS) -> None:
        self.app = app
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=socketio.AsyncRedisManager(url, channel=MESSAGE_CHANNEL),
            cors_allowed_origins=[],  # as Flask-SocketIO's (central.extensions.socketio_options)
        )
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="faplink-gateway")
        self._environs: dict[str, dict[str, Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        namespaces = {namespace for namespace, _event in ENDPOINTS}
        for (namespace, event), handler in ENDPOINTS.items():
            if event not in ("connect", "disconnect"):
                self.sio.on(event, self._event(handler, namespace), namespace=namespace)
        for namespace in namespaces:
            self.sio.on("connect", self._connect(namespace), namespace=namespace)
            self.sio.on("disconnect", self._disconnect(namespace), namespace=namespace)

    def asgi_app(self, other: Any) -> socketio.ASGIApp:
        """/socket.io/ served here, every other path by `other` (the web workers' proxy)."""
        return socketio.ASGIApp(self.sio, other_asgi_app=other)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def on_loop(self, make: Callable[[], Awaitable[T]]) -> T:
        """From a handler's thread: run a coroutine on the gateway's loop and wait for it."""
        assert self._loop is not None, "the gateway serves no connection yet"
        future = asyncio.run_coroutine_threadsafe(_awaited(make), self._loop)
        return future.result(_LOOP_WAIT_S)

    # -- running the handlers ---------------------------------------------------------

    async def _in_thread(self, handler: Handler, sid: str, namespace: str, payload: Any) -> Any:
        self._loop = asyncio.get_running_loop()
        return await self._loop.run_in_executor(self._pool, self._run, handler, sid, namespace, payload)

    def _run(self, handler: Handler, sid: str, namespace: str, payload: Any) -> Any:
        environ = self._environs.get(sid)
        if environ is None:  # the connection is gone already
            return None
        with self.app.request_context(environ):
            return handler(GatewayConnection(self, sid, namespace, request.headers), payload)  # type: ignore[arg-type]

    def _connect(self, namespace: str) -> Callable[..., Awaitable[bool]]:
        handler = ENDPOINTS.get((namespace, "connect"))

        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
            self._environs[sid] = handshake_environ(environ)
            if handler is None:
                return True
            try:
                await self._in_thread(handler, sid, namespace, auth)
            except ConnectionRefusedError:
                self._environs.pop(sid, None)
                raise
            except Exception:
                self._environs.pop(sid, None)
                log.exception("a %s connection failed", namespace)
                return False
            return True

        return connect

    def _disconnect(self, namespace: str) -> Callable[..., Awaitable[None]]:
        handler = ENDPOINTS.get((namespace, "disconnect"))

        async def disconnect(sid: str, reason: Any = None) -> None:
            try:
                if handler is not None:
                    await self._in_thread(handler, sid, namespace, reason)
            except Exception:
                log.exception("a %s disconnection failed", namespace)
            finally:
                self._environs.pop(sid, None)

        return disconnect

    def _event(self, handler: Handler, namespace: str) -> Callable[..., Awaitable[Any]]:
        async def event(sid: str, *args: Any) -> Any:
            try:
                return await self._in_thread(handler, sid, namespace, args[0] if args else None)
            except Exception:
                log.exception("a %s event failed", namespace)
                return None

        return event


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()
