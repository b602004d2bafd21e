"""Central under gunicorn (production's server): kept-alive connections, WebSocket, a clean stop."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

import requests
import socketio

from tests.helpers.cluster import Cluster, connect_live


def test_gunicorn_keeps_connections_alive_serves_websockets_and_stops_cleanly(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, central_server="gunicorn")
    try:
        cluster.start_central()
        conn = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=10)
        sockets = set()
        for _ in range(3):
            conn.request("GET", "/sync/v1/ping")
            response = conn.getresponse()
            assert response.status == 200 and b'"ok":true' in response.read()
            assert response.getheader("Connection") != "close"
            assert conn.sock is not None
            sockets.add(conn.sock.getsockname())
        assert len(sockets) == 1, "three requests, one TCP connection"
        conn.close()

        # A consultant's live page: Socket.IO over WebSocket, events flowing.
        web = requests.Session()
        credentials = {"login": "ivanova", "password": "demo1234"}
        login = web.post(f"{cluster.central_url}/api/v1/session", json=credentials, timeout=10)
        assert login.status_code == 200
        client = socketio.Client(reconnection=False)
        connect_live(client, cluster.central_url, web)
        assert client.transport() == "websocket"
        client.disconnect()
    finally:
        cluster.stop_central()
    # SIGTERM to the process group: master and worker are gone, the port is free again.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", cluster.port))
