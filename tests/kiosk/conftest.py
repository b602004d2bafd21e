"""Helpers for the kiosk's tests: a logged-in feldsher on post 1's node (no central running)."""

from __future__ import annotations

import pytest

from tests.helpers.web import login


@pytest.fixture
def feldsher(node_app):  # type: ignore[no-untyped-def]
    """(client, csrf token, demo data) for fap1 at post 1, offline."""
    app, data = node_app
    client = app.test_client()
    token = login(client, "fap1")
    return client, token, data
