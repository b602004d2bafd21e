"""Chromium for call tests: fake camera and microphone, media without a user's click.

Probed on this machine (Debian chromium 156, headless, --no-sandbox): two
contexts of one browser connect over host candidates (the machine's own
addresses) with no ICE server and no extra WebRTC flag; `CHROMIUM_ARGS` already
carries the fake media devices and the fake permission prompt. Only autoplay is
added, so that the far side's media plays even before the page saw a click.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from tests.helpers.browser import CHROMIUM_ARGS, chromium_path, with_action_timeout

CALL_ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]

#: What a page's call receives and sends, from RTCPeerConnection.getStats() (null when no call).
STATS_JS = """async () => {
  const pc = window.faplinkCall && window.faplinkCall.pc;
  if (!pc) { return null; }
  const out = {framesDecoded: 0, audioPackets: 0, videoTracks: 0, state: pc.connectionState};
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") { out.framesDecoded = r.framesDecoded || 0; }
    if (r.type === "inbound-rtp" && r.kind === "audio") { out.audioPackets = r.packetsReceived || 0; }
  });
  out.videoTracks = pc.getReceivers().filter((x) => x.track && x.track.kind === "video").length
    + pc.getSenders().filter((x) => x.track && x.track.kind === "video").length;
  return out;
}"""


@contextmanager
def call_browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CALL_ARGS)
        with_action_timeout(browser)
        try:
            yield browser
        finally:
            browser.close()


def call_stats(page: Page) -> dict[str, Any] | None:
    return page.evaluate(STATS_JS)  # type: ignore[no-any-return]
