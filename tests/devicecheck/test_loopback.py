"""The loopback call: aiortc calling itself in a child process, on a machine without a camera.

This machine has no /dev/video* and no sound card, so the call carries FFmpeg's
test picture and tone; the figures are what really went through VP8 and Opus.
"""

from __future__ import annotations

import sys
import time

from node.devicecheck.devices import cameras
from node.devicecheck.loopback import LoopbackSpec, run_loopback


def test_a_loopback_call_without_a_camera_sends_the_test_picture_at_hd() -> None:
    assert cameras() == [], "this test is about a kiosk without a camera"
    result = run_loopback(LoopbackSpec(seconds=3))
    assert result.error == "", result
    assert result.video_source == "testsrc" and result.audio_source == "sine"
    assert (result.width, result.height) == (1280, 720)
    assert 0 < result.frames_received <= result.frames_sent
    # The test source runs at 30 frames a second: a plausible rate is above zero and not above that
    # (how far above zero is the machine's speed, and a busy one's is low: that is bench/'s to say).
    assert 0 < result.fps <= 33, result
    assert result.frames_received >= result.fps * 2  # at least the measured window's worth arrived
    assert result.audio_frames_received > 0  # Opus frames of the test tone
    assert result.codec == "VP8"
    assert result.cpu_s > 0 and result.cpu_per_call_s > 0
    assert result.seconds >= 2.9  # the window asked for (a busy machine's event loop may wake later)


def test_a_camera_that_will_not_open_still_gives_a_measured_call() -> None:
    result = run_loopback(LoopbackSpec(seconds=2, width=640, height=480, camera="/dev/video-absent"))
    assert result.error == ""
    assert result.video_source == "testsrc"
    assert any("/dev/video-absent" in note for note in result.notes)
    assert (result.width, result.height) == (640, 480) and result.frames_received > 0


def test_a_hung_call_is_stopped_by_the_parent_within_its_timeout() -> None:
    started = time.monotonic()
    result = run_loopback(LoopbackSpec(seconds=600), timeout=2)
    assert time.monotonic() - started < 120, "stopped at its timeout, not after its ten minutes"
    assert "did not finish within 2 s" in result.error
    assert result.frames_received == 0


def test_the_child_runs_as_its_own_python_process() -> None:
    # The node starts the same interpreter with -m; a broken interpreter path is reported, not raised.
    original = sys.executable
    try:
        sys.executable = "/nonexistent/python"
        result = run_loopback(LoopbackSpec(seconds=1))
    finally:
        sys.executable = original
    assert result.error.startswith("could not start the call")
