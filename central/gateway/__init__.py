"""Central's realtime gateway: the long-lived Socket.IO connections, served asynchronously.

A post's live link and a consultant's open page each hold a connection for hours.
In a threaded server each one pins a thread, and an instance stalls at its thread
count (64 posts). The gateway is one asyncio process per instance (uvicorn) that
holds them all (`realtime`), fed by the Redis message queue the Flask app writes to,
and that passes every other request to the threaded web workers (`proxy`), so that
posts and browsers keep using the one address they know. `faplink central run
--workers N` starts both under one supervisor (`supervisor`); `faplink central
gateway` and `faplink central web` start each alone (one systemd unit per process,
`central/deploy/`).
"""

from __future__ import annotations

import logging
import resource
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

__all__ = ["serve_gateway", "server_config", "KEEPALIVE_S"]

log = logging.getLogger(__name__)

#: Seconds an idle kept-alive HTTP connection stays open (as gunicorn's, `central.serving`).
KEEPALIVE_S = 30


def serve_gateway(config: dict[str, Any], host: str, port: int, web: str) -> None:
    """Serve central's Socket.IO on host:port and hand every other request to the web workers at `web`."""
    import uvicorn

    from central import create_app

    from .proxy import WebProxy
    from .realtime import RealtimeGateway

    app = create_app({**config, "REALTIME_GATEWAY": True})
    gateway = RealtimeGateway(app, app.config["MESSAGE_QUEUE"])
    proxy = WebProxy(web)
    _raise_open_files_limit()
    server = uvicorn.Server(server_config(gateway.asgi_app(proxy), host, port))
    log.info("central's realtime gateway on %s:%s, web workers at %s", host, port, web)
    try:
        server.run()
    finally:
        gateway.close()


def server_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """How uvicorn serves the gateway's ASGI `app` on host:port."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        # libuv's loop and llhttp's parser: every proxied request crosses both.
        loop="uvloop",
        http="httptools",
        ws="wsproto",
        lifespan="on",
        proxy_headers=False,  # the web workers trust X-Forwarded-* by PROXY_HOPS, not uvicorn
        server_header=False,  # the web workers' own headers pass through
        date_header=False,
        log_config=None,  # faplink's logging (personal data masked) stays in charge
        access_log=False,
        timeout_keep_alive=KEEPALIVE_S,
        timeout_graceful_shutdown=10,
    )


def _raise_open_files_limit() -> None:
    """Every connection is a file descriptor: allow as many as the system lets this process have."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
