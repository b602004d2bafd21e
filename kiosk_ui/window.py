"""The kiosk window: pywebview (Qt) full-screen and frameless on the node's pages."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from kiosk_ui.node_process import NodeStartError, StartedNode, ensure_node, node_answers
from kiosk_ui.screens import error_screen, starting_screen

__all__ = ["Kiosk", "TITLE"]

log = logging.getLogger(__name__)

TITLE = "faplink · ФАП"
#: What the self-test reads off the page that ended up in the window.
_PROBE = (
    "JSON.stringify({title: document.title, heading: (document.querySelector('h1') || {}).textContent || ''})"
)


class KioskApi:
    """What the kiosk's own screens may ask of Python (window.pywebview.api)."""

    def __init__(self, kiosk: Kiosk) -> None:
        self._kiosk = kiosk

    def retry(self) -> None:
        threading.Thread(target=self._kiosk.boot, name="kiosk-boot", daemon=True).start()

    def quit(self) -> None:
        if self._kiosk.window is not None:
            self._kiosk.window.destroy()


class Kiosk:
    """Open the window, make sure the node runs, show its login page (or why it cannot)."""

    def __init__(
        self,
        url: str,
        data_dir: Path,
        port: int,
        *,
        fullscreen: bool = True,
        start_node: bool = True,
        self_test: float | None = None,
        node_wait: float = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.data_dir = data_dir
        self.port = port
        self.fullscreen = fullscreen
        self.start_node = start_node
        self.self_test = self_test
        self.node_wait = node_wait
        self.window: Any = None
        self.node: StartedNode | None = None
        self.exit_code = 0
        self.report: dict[str, Any] = {}

    def run(self) -> int:
        """Show the window until it is closed (or the self-test is done); the exit code."""
        import webview

        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # Chromium's sandbox refuses root; a kiosk normally runs as its own user.
            os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
        webview.settings["ALLOW_DOWNLOADS"] = True  # «Скачать протокол», files
        webview.settings["SHOW_DEFAULT_MENUS"] = False  # no context menu: nothing of a browser shows
        webview.settings["OPEN_EXTERNAL_LINKS_IN_BROWSER"] = False
        webview.settings["OPEN_DEVTOOLS_IN_DEBUG"] = False
        self.window = webview.create_window(
            TITLE,
            html=starting_screen(),
            js_api=KioskApi(self),
            fullscreen=self.fullscreen,
            frameless=self.fullscreen,
            easy_drag=False,
            text_select=True,
            width=1280,
            height=800,
        )
        try:
            webview.start(self._first_boot, gui="qt", private_mode=True)
        finally:
            if self.node is not None:
                log.info("stopping the node this kiosk started")
                self.node.stop()
        return self.exit_code

    def _first_boot(self) -> None:
        self.boot()
        if self.self_test is not None:
            self._report()

    def boot(self) -> None:
        """Start the node if it does not answer, then show its login page or the error screen."""
        try:
            if self.start_node:
                self.node = ensure_node(self.url, self.data_dir, self.port, wait=self.node_wait) or self.node
            elif not node_answers(self.url):
                raise NodeStartError("Рабочее место не отвечает", f"{self.url} не отвечает")
        except NodeStartError as exc:
            log.warning("node not available: %s %s", exc.reason, exc.detail)
            self.exit_code = 2
            self.window.load_html(error_screen(exc.reason, exc.detail))
            return
        self.exit_code = 0
        self.window.load_url(f"{self.url}/login")

    def _report(self) -> None:
        """Self-test: print what the window shows, as JSON, and close."""
        assert self.self_test is not None
        loaded = self.window.events.loaded.wait(self.self_test)
        page: dict[str, Any] = {}
        if loaded:
            try:
                # run_js runs the probe as it is; evaluate_js wraps it in eval(), which the
                # node's Content-Security-Policy (no 'unsafe-eval') rightly refuses.
                page = json.loads(self.window.run_js(_PROBE) or "{}")
            except Exception as exc:  # the self-test must always answer
                page = {"error": str(exc)}
        self.report = {"loaded": bool(loaded), "url": self.window.get_current_url(), **page}
        print(json.dumps(self.report, ensure_ascii=False), flush=True)
        if not loaded:
            self.exit_code = 3
        self.window.destroy()
