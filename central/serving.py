"""How central is served: Werkzeug's threaded server, or gunicorn for production.

Werkzeug closes the connection after every response, so each sync request over a
300 ms satellite link pays a TCP handshake (and, behind TLS, more). Gunicorn's
threaded worker keeps connections alive and serves Socket.IO's WebSocket through
simple-websocket, in the threading mode faplink uses everywhere (no eventlet).

One gunicorn worker per central instance: Socket.IO needs sticky sessions, which
gunicorn's own balancing cannot give; run more instances with the Redis message
queue behind a proxy instead (README, «Scaling central»). The worker builds the
app itself, after the fork, so that the app's threads live in the process that
serves it.
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


def serve_gunicorn(make_app: Callable[[], Flask], host: str, port: int, threads: int = THREADS) -> None:
    """Serve the app `make_app` builds (in the worker) with one gunicorn gthread worker."""
    from gunicorn.app.base import BaseApplication

    class _Central(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": threads,
                "keepalive": KEEPALIVE,
                "timeout": 120,
                "graceful_timeout": 10,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": f"faplink-central:{port}",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return make_app()

    _Central().run()
