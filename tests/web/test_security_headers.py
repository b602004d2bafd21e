"""Every page of both apps carries the security headers: a CSP with a per-response nonce,
no framing, no referrer to other sites, no MIME sniffing; the inline scripts carry the nonce."""

from __future__ import annotations

import re

from flask import Flask

from tests.helpers.web import login

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _pages(app: Flask) -> list[str]:
    """Every GET route without parameters (the pages a user opens from the menu)."""
    return sorted(
        {
            rule.rule
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and not rule.arguments and "static" not in rule.endpoint  # type: ignore[operator]
        }
    )


def _check(app: Flask, client, paths: list[str]) -> int:  # type: ignore[no-untyped-def]
    checked = 0
    nonces = set()
    for path in paths:
        response = client.get(path)
        if response.status_code >= 500:
            raise AssertionError(f"{path}: {response.status_code}")
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, path
        if response.mimetype == "text/html":
            nonce = re.search(r"'nonce-([^']+)'", csp)
            assert nonce and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], path
            nonces.add(nonce.group(1))
            body = response.get_data(as_text=True)
            for tag in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", body):
                assert f'nonce="{nonce.group(1)}"' in tag, (path, tag)
            assert not re.search(r"<[^>]+\son[a-z]+=\"", body), (path, "inline event handler")
        checked += 1
    return checked


def test_every_central_page_has_the_headers(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    login(client, "admin")
    assert _check(app, client, _pages(app)) > 20
    consultant = app.test_client()
    login(consultant, "ivanova")
    assert _check(app, consultant, ["/appeals", "/schedules/", "/profile/"]) == 3


def test_every_post_page_has_the_headers(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    login(client, "fap1")
    assert _check(app, client, _pages(app)) > 10


def test_each_response_has_its_own_nonce(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    first = client.get("/login").headers["Content-Security-Policy"]
    second = client.get("/login").headers["Content-Security-Policy"]
    assert first != second


def test_a_response_with_its_own_policy_keeps_it() -> None:
    """File previews set a stricter policy (no inline script at all): the default does not replace it."""
    from web.previews import PREVIEW_CSP
    from web.security import init_security

    app = Flask("preview")
    init_security(app)

    @app.get("/preview")
    def preview():  # type: ignore[no-untyped-def]
        return "<p>file</p>", 200, {"Content-Security-Policy": PREVIEW_CSP}

    response = app.test_client().get("/preview")
    assert response.headers["Content-Security-Policy"] == PREVIEW_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The preview is framed by the app's own dialog: same origin only, said both ways.
    assert "frame-ancestors 'self'" in PREVIEW_CSP and response.headers["X-Frame-Options"] == "SAMEORIGIN"
