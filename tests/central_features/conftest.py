"""Fixtures of central's feature tests: a chromium and central served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.helpers.browser import chromium
from tests.helpers.web import served_in_thread


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def central(central_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """central's app served in this process on a free port (a browser needs real HTTP)."""
    app, _ = central_app
    with served_in_thread(app) as port:
        yield f"http://127.0.0.1:{port}"
