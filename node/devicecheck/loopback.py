"""A loopback call through aiortc, run as a child process: `python -m node.devicecheck.loopback`.

Two RTCPeerConnections in one asyncio loop call each other: the first sends
the camera (or an FFmpeg test picture when there is none) and the microphone
(or a test tone); the second counts what arrives. After the connection is up
it measures for `--seconds` and prints one JSON object on stdout: frames sent
and received, frame rate, the resolution that arrived, audio frames, and the
CPU this process used. The node starts it in a child process (see
`run_loopback`) so that a crash or a hang in the media stack cannot take the
kiosk down; the parent kills it after a hard timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["LoopbackSpec", "LoopbackResult", "run_loopback", "TEST_VIDEO", "TEST_AUDIO"]

#: FFmpeg's test picture and tone (lavfi), used when the kiosk has no camera or microphone.
TEST_VIDEO = "testsrc"
TEST_AUDIO = "sine"
#: How long the two peers may take to connect and deliver the first picture.
CONNECT_BUDGET_S = 20.0
#: What the parent allows beyond that for starting Python, importing aiortc and closing.
START_BUDGET_S = 15.0


@dataclass(frozen=True)
class LoopbackSpec:
    """What to send and for how long."""

    seconds: float = 5.0
    width: int = 1280
    height: int = 720
    fps: int = 30
    camera: str | None = None  # a V4L2 device such as /dev/video0; None: the test picture
    microphone: str | None = None  # an ALSA device such as hw:0 or default; None: the test tone

    def argv(self) -> list[str]:
        args = ["--seconds", f"{self.seconds:g}", "--width", str(self.width), "--height", str(self.height)]
        args += ["--fps", str(self.fps)]
        if self.camera:
            args += ["--camera", self.camera]
        if self.microphone:
            args += ["--microphone", self.microphone]
        return args


@dataclass
class LoopbackResult:
    """What the call delivered; `error` is set when it could not be made at all."""

    seconds: float = 0.0  # the measured window
    video_source: str = ""
    audio_source: str = ""
    codec: str = ""
    frames_sent: int = 0
    frames_received: int = 0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    audio_frames_sent: int = 0
    audio_frames_received: int = 0
    connect_s: float = 0.0
    cpu_s: float = 0.0  # CPU used by the child in all (start, connect, measure, close)
    cpu_per_call_s: float = 0.0  # CPU seconds per second of the measured window
    error: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopbackResult:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the child ------------------------------------------------------------------------


async def _call(spec: LoopbackSpec, result: LoopbackResult) -> None:
    """Make the call and fill in `result` (imports aiortc here: only the child needs it)."""
    from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection
    from aiortc.contrib.media import MediaPlayer

    class Counted(MediaStreamTrack):
        """Passes a source's frames on, counting them (what the sender actually encoded)."""

        def __init__(self, source: MediaStreamTrack) -> None:
            super().__init__()
            self.kind = source.kind
            self.source = source
            self.count = 0

        async def recv(self) -> Any:
            frame = await self.source.recv()
            self.count += 1
            return frame

    players: list[MediaPlayer] = []

    def open_video() -> MediaPlayer:
        size = f"{spec.width}x{spec.height}"
        if spec.camera:
            try:
                options = {"video_size": size, "framerate": str(spec.fps)}
                player = MediaPlayer(spec.camera, format="v4l2", options=options)
                result.video_source = spec.camera
                return player
            except Exception as exc:  # a camera that will not open: measure the call anyway
                result.notes.append(f"camera {spec.camera}: {exc}")
        result.video_source = TEST_VIDEO
        return MediaPlayer(f"testsrc=size={size}:rate={spec.fps}", format="lavfi")

    def open_audio() -> MediaPlayer:
        if spec.microphone:
            try:
                player = MediaPlayer(spec.microphone, format="alsa")
                result.audio_source = spec.microphone
                return player
            except Exception as exc:
                result.notes.append(f"microphone {spec.microphone}: {exc}")
        result.audio_source = TEST_AUDIO
        return MediaPlayer("sine=frequency=440:sample_rate=48000", format="lavfi")

    video_player, audio_player = open_video(), open_audio()
    players += [video_player, audio_player]
    assert video_player.video is not None and audio_player.audio is not None
    video, audio = Counted(video_player.video), Counted(audio_player.audio)

    # No STUN: both ends are here, and an offline post must not wait for Google's server.
    caller = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    callee = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    received = {"video": 0, "audio": 0}
    first_picture = asyncio.Event()
    consumers: list[asyncio.Task[None]] = []

    async def consume(track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except Exception:  # MediaStreamError when the call ends
                return
            received[track.kind] += 1
            if track.kind == "video":
                result.width, result.height = frame.width, frame.height  # type: ignore[union-attr]
                first_picture.set()

    @callee.on("track")
    def _on_track(track: MediaStreamTrack) -> None:
        consumers.append(asyncio.ensure_future(consume(track)))

    caller.addTrack(video)
    caller.addTrack(audio)
    started = time.monotonic()
    try:
        await caller.setLocalDescription(await caller.createOffer())
        await callee.setRemoteDescription(caller.localDescription)
        await callee.setLocalDescription(await callee.createAnswer())
        await caller.setRemoteDescription(callee.localDescription)
        result.codec = _video_codec(callee.localDescription.sdp)
        try:
            await asyncio.wait_for(first_picture.wait(), CONNECT_BUDGET_S)
        except TimeoutError:
            ice = caller.iceConnectionState
            result.error = f"no picture arrived within {CONNECT_BUDGET_S:g} s (ICE: {ice})"
            return
        result.connect_s = round(time.monotonic() - started, 3)

        at, cpu = time.monotonic(), _cpu_seconds()
        frames, sent = received["video"], video.count
        await asyncio.sleep(spec.seconds)
        window = time.monotonic() - at
        result.seconds = round(window, 3)
        result.cpu_per_call_s = round((_cpu_seconds() - cpu) / window, 3)
        result.fps = round((received["video"] - frames) / window, 2)
        result.frames_received = received["video"]
        result.frames_sent = video.count
        result.audio_frames_sent = audio.count
        result.audio_frames_received = received["audio"]
        if video.count == sent:
            result.notes.append("the video source stopped sending")
    finally:
        for pc in (caller, callee):
            await pc.close()
        for task in consumers:
            task.cancel()
        for player in players:
            for track in (player.video, player.audio):
                if track is not None:
                    track.stop()


def _video_codec(sdp: str) -> str:
    """The first payload of the answer's video section: what the two peers agreed on."""
    in_video, first = False, ""
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_video = line.startswith("m=video")
            first = line.split()[3] if in_video and len(line.split()) > 3 else ""
        elif in_video and line.startswith(f"a=rtpmap:{first} "):
            return line.split(" ", 1)[1].split("/")[0]
    return ""


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.devicecheck.loopback", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--camera")
    parser.add_argument("--microphone")
    args = parser.parse_args(argv)
    spec = LoopbackSpec(args.seconds, args.width, args.height, args.fps, args.camera, args.microphone)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = LoopbackResult()
    try:
        asyncio.run(asyncio.wait_for(_call(spec, result), spec.seconds + CONNECT_BUDGET_S + 10))
    except Exception as exc:  # reported as the call's error, in the JSON the parent reads
        result.error = result.error or f"{type(exc).__name__}: {exc}"
    result.cpu_s = round(_cpu_seconds(), 3)
    sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
    sys.stdout.flush()
    # aiortc and PyAV may leave non-daemon threads behind: do not wait for them.
    os._exit(0 if not result.error else 2)


# -- the parent -----------------------------------------------------------------------


def run_loopback(spec: LoopbackSpec, *, timeout: float | None = None) -> LoopbackResult:
    """Run the call in a child process; a crash or a hang comes back as `error`, never raises."""
    limit = timeout if timeout is not None else spec.seconds + CONNECT_BUDGET_S + START_BUDGET_S
    command = [sys.executable, "-m", "node.devicecheck.loopback", *spec.argv()]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return LoopbackResult(error=f"the call did not finish within {limit:g} s and was stopped")
    except OSError as exc:
        return LoopbackResult(error=f"could not start the call: {exc}")
    lines = done.stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1]) if lines else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return LoopbackResult(error=f"the call ended without a result: {tail[0]}")
    return LoopbackResult.from_dict(data)


if __name__ == "__main__":
    sys.exit(_main())
