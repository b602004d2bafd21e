"""How central is served: Werkzeug's threaded server, or gunicorn for production.

Werkzeug closes the connection after every response, so each sync request over a
300 ms satellite link pays a TCP handshake (and, behind TLS, more). Gunicorn's
threaded worker keeps connections alive and serves Socket.IO's WebSocket through
simple-websocket, in the threading mode faplink uses everywhere (no eventlet).

One gunicorn worker per central instance that serves Socket.IO itself: Socket.IO
needs sticky sessions, which gunicorn's own balancing cannot give. Behind the
realtime gateway (`central.gateway`), which holds the Socket.IO connections, an
instance's web workers serve plain HTTP and can be many (`faplink central web
--workers N`). A worker builds the app itself, after the fork, so that the app's
threads live in the process that serves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `faplink` loads this for every command: no Flask import on the way
    from flask import Flask

__all__ = ["SERVERS", "serve_gunicorn"]

SERVERS = ("werkzeug", "gunicorn")
#: Requests and Socket.IO connections served at once (each WebSocket holds a thread).
THREADS = 64
#: Seconds an idle kept-alive connection stays open: longer than a sync worker's pause
#: between requests of one round, shorter than a proxy's usual idle timeout.
KEEPALIVE = 30


def serve_gunicorn(
    make_app: Callable[[], Flask], bind: str, *, workers: int = 1, threads: int = THREADS
) -> None:
    """Serve the app `make_app` builds (in each worker) with gunicorn's gthread workers on `bind`
    (``host:port`` or ``unix:PATH``)."""
    from gunicorn.app.base import BaseApplication

    class _Central(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": bind,
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "keepalive": KEEPALIVE,
                "timeout": 120,
                "graceful_timeout": 10,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": f"faplink-central:{bind}",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return make_app()

    _Central().run()
