"""The OpenAPI document each app serves at /api/v1/openapi.json, built by apispec.

Every `/api/v1` view documents itself in its docstring after a `---` line
(YAML, as apispec's Flask plugin reads it).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask

__all__ = ["build_openapi"]

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "stable machine-readable code"},
        "message": {"type": "string", "description": "what was wrong, in the user's language"},
        "field": {"type": "string", "description": "the input field at fault, if any"},
    },
}


def build_openapi(app: Flask, title: str, prefix: str = "/api/v1") -> dict[str, Any]:
    spec = APISpec(
        title=title,
        version=version("faplink"),  # the distribution's, as pyproject.toml gives it
        openapi_version="3.0.3",
        plugins=[FlaskPlugin()],
        info={"description": "faplink JSON API; the web pages use the same operations."},
        servers=[{"url": "/"}],
    )
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "session"})
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not rule.rule.startswith(prefix) or rule.rule.endswith("openapi.json"):
                continue
            view = app.view_functions[rule.endpoint]
            if view.__doc__ and "---" in view.__doc__:
                spec.path(view=view, app=app)
    return spec.to_dict()
