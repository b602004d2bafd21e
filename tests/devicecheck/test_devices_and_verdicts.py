"""What is plugged in, read the way the kiosk reads it, and what each finding tells the feldsher to do."""

from __future__ import annotations

from pathlib import Path

from node.devicecheck import checks
from node.devicecheck.devices import (
    Camera,
    cameras,
    parse_alsa_list,
    parse_asound_cards,
    parse_v4l2_formats,
)
from node.devicecheck.loopback import LoopbackResult

V4L2_CTL = """\
ioctl: VIDIOC_ENUM_FMT
	Type: Video Capture

	[0]: 'MJPG' (Motion-JPEG, compressed)
		Size: Discrete 1280x720
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.067s (15.000 fps)
		Size: Discrete 640x480
			Interval: Discrete 0.033s (30.000 fps)
	[1]: 'YUYV' (YUYV 4:2:2)
		Size: Discrete 1280x720
			Interval: Discrete 0.100s (10.000 fps)
		Size: Discrete 320x240
			Interval: Discrete 0.033s (30.000 fps)
"""

ARECORD = """\
**** List of CAPTURE Hardware Devices ****
card 0: PCH [HDA Intel PCH], device 0: ALC892 Analog [ALC892 Analog]
  Subdevices: 1/1
  Subdevice #0: subdevice #0
card 1: Headset [Logitech USB Headset], device 0: USB Audio [USB Audio]
  Subdevices: 1/1
"""

ASOUND = """\
 0 [PCH            ]: HDA-Intel - HDA Intel PCH
                      HDA Intel PCH at 0xf7f10000 irq 32
 1 [Headset        ]: USB-Audio - Logitech USB Headset
                      Logitech Logitech USB Headset at usb-0000:00:14.0-2, full speed
"""


def test_v4l2_sizes_take_the_best_rate_of_each_size() -> None:
    assert parse_v4l2_formats(V4L2_CTL) == [(1280, 720, 30.0), (640, 480, 30.0), (320, 240, 30.0)]
    camera = Camera("/dev/video0", "HD Webcam C270", parse_v4l2_formats(V4L2_CTL))
    assert camera.offers(1280, 720, 15) is True
    assert Camera("/dev/video0", "old", [(640, 480, 30.0)]).offers(1280, 720, 15) is False
    assert Camera("/dev/video0", "no v4l2-ctl").offers(1280, 720, 15) is None


def test_alsa_lists_name_the_devices_ffmpeg_opens() -> None:
    found = parse_alsa_list(ARECORD)
    assert [(d.alsa, d.name) for d in found] == [
        ("hw:0,0", "HDA Intel PCH: ALC892 Analog"),
        ("hw:1,0", "Logitech USB Headset: USB Audio"),
    ]
    cards = parse_asound_cards(ASOUND)
    assert cards == [(0, "HDA-Intel - HDA Intel PCH"), (1, "USB-Audio - Logitech USB Headset")]


def test_cameras_come_from_sysfs_without_their_metadata_nodes(tmp_path: Path) -> None:
    for node, name, index in (("video0", "HD Webcam C270", "0"), ("video1", "HD Webcam C270", "1")):
        (tmp_path / node).mkdir()
        (tmp_path / node / "name").write_text(name + "\n")
        (tmp_path / node / "index").write_text(index + "\n")
    found = cameras(tmp_path)
    assert [(c.device, c.name) for c in found] == [("/dev/video0", "HD Webcam C270")]
    assert cameras(tmp_path / "absent") == []


def test_no_camera_and_no_sound_say_what_to_do() -> None:
    camera = checks.camera_finding([])
    assert camera.status == "warn" and "Камера не найдена" in camera.text()
    assert "Подключите веб-камеру" in camera.text()
    microphone, speakers = checks.microphone_finding([]), checks.speakers_finding([])
    assert microphone.status == speakers.status == "warn"
    assert "Подключите гарнитуру" in microphone.text()


def test_a_camera_below_hd_fails_and_an_hd_one_passes() -> None:
    old = checks.camera_finding([Camera("/dev/video0", "VGA cam", [(640, 480, 30.0)])])
    assert old.status == "fail" and "нужно 1280×720" in old.text() and "HD-камеру" in old.text()
    hd = checks.camera_finding([Camera("/dev/video0", "C270", parse_v4l2_formats(V4L2_CTL))])
    assert hd.status == "ok" and hd.text() == "C270 (/dev/video0): до 1280×720"


def test_the_loopback_verdict_follows_frames_size_and_rate() -> None:
    good = LoopbackResult(seconds=3, frames_sent=90, frames_received=88, fps=29.3, width=1280, height=720)
    assert checks.loopback_finding(result=good).status == "ok"
    slow = LoopbackResult(seconds=3, frames_sent=30, frames_received=30, fps=9.8, width=1280, height=720)
    assert checks.loopback_finding(result=slow).status == "fail"
    assert "закройте другие программы" in checks.loopback_finding(result=slow).text()
    small = LoopbackResult(seconds=3, frames_sent=90, frames_received=90, fps=30, width=640, height=480)
    assert checks.loopback_finding(result=small).status == "fail"
    busy = LoopbackResult(seconds=3, frames_sent=90, frames_received=90, fps=30, width=1280, height=720)
    busy.notes.append("camera /dev/video0: [Errno 16] Device or resource busy")
    assert checks.loopback_finding(result=busy).status == "warn"
    crashed = checks.loopback_finding(result=LoopbackResult(error="the call ended without a result"))
    assert crashed.status == "fail" and "техподдержку" in crashed.text()


def test_browser_measurements_are_judged_at_the_node() -> None:
    assert checks.judge_preview({"width": 1280, "height": 720, "fps": 30.0, "label": "cam"}).status == "ok"
    low = checks.judge_preview({"width": 640, "height": 480, "fps": 30.0, "label": "cam"})
    assert low.status == "fail" and "1280×720" in low.text()
    assert checks.judge_preview({"error": "NotFoundError: Requested device not found"}).status == "fail"
    assert checks.judge_microphone({"peak": 0.001, "label": "mic"}).status == "fail"
    assert checks.judge_microphone({"peak": 0.4, "label": "mic"}).status == "ok"
    assert checks.judge_speaker({"heard": False}).status == "fail"
    assert checks.judge_speaker(None).status == "skip"


def test_clock_and_disk() -> None:
    assert checks.clock_finding(None).status == "skip"
    assert checks.clock_finding(300).status == "ok"
    late = checks.clock_finding(5 * 60 * 1000)
    assert late.status == "warn" and late.text().startswith("Часы киоска отстают на 300 с")
    assert checks.clock_finding(1500).text() == "Часы киоска отстают на 1,5 с"  # a decimal comma
    assert checks.disk_finding(Path("/")).figures["free_bytes"] > 0
