"""The apps over HTTP: a logged-in JSON API client, an app served in a thread, a page's CSRF token."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def served_in_thread(app: Flask) -> Iterator[int]:
    """`app` over real HTTP in this process (its database stays inspectable); yields the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


def login(client, login_name: str, password: str = "demo1234") -> str:  # type: ignore[no-untyped-def]
    """Log in through the JSON API; returns the CSRF token for later writes."""
    response = client.post("/api/v1/session", json={"login": login_name, "password": password})
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["csrf_token"])


def page_csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)
