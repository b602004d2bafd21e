"""Security headers on every response of both apps: a Content-Security-Policy with a nonce
for our few inline scripts, no framing, no referrer to other sites, no MIME sniffing.

A page that sets its own (stricter) policy keeps it: file previews allow no script at all.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

__all__ = ["init_security", "csp_nonce", "policy"]


def csp_nonce() -> str:
    """This response's nonce: `<script nonce="{{ csp_nonce() }}">` runs, any other inline script not."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


def policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            # style="" attributes on a few elements (widths, colours of charts): styles cannot run code.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            "connect-src 'self'",
            "font-src 'self'",
            "frame-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy(csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    # The legacy header says what frame-ancestors says (previews are framed by the app itself).
    framed_here = "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if framed_here else "DENY")
    return response


def init_security(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_headers)
