"""Which consultation mode a measured link is offered: the thresholds of node/link_monitor/measure.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from node.link_monitor.measure import (
    AUDIO,
    CHAT,
    DEFERRED,
    NEEDS,
    VIDEO,
    LinkQuality,
    load_latest,
    offered_mode,
    save_latest,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def link(
    rtt: float | None = 120,
    down: float | None = 2000,
    up: float | None = 1000,
    loss: float | None = 0.5,
    error: str | None = None,
) -> LinkQuality:
    return LinkQuality(rtt_ms=rtt, down_kbps=down, up_kbps=up, loss_pct=loss, measured_at=NOW, error=error)


@pytest.mark.parametrize(
    ("quality", "mode"),
    [
        (link(), VIDEO),
        (link(down=600, up=600, loss=5, rtt=800), VIDEO),  # the limits themselves still pass
        (link(up=599), AUDIO),  # the patient's picture goes up: video needs both ways
        (link(down=590), AUDIO),
        (link(loss=6), AUDIO),  # NACK/FEC no longer keep the picture
        (link(rtt=900), AUDIO),
        (link(down=64, up=64, rtt=1000, loss=10), AUDIO),
        (link(up=63), CHAT),
        (link(loss=12), CHAT),
        (link(rtt=1500), CHAT),
        (link(down=8, up=8, rtt=5000, loss=30), CHAT),
        (link(down=None, up=None, loss=None, error="HTTP 404"), CHAT),  # an older central: pings answer
        (link(down=7.9), DEFERRED),
        (link(up=2), DEFERRED),
        (link(loss=40), DEFERRED),
        (link(rtt=6000), DEFERRED),
        (link(rtt=None, down=None, up=None, loss=None, error="Центр не отвечает"), DEFERRED),
        (None, DEFERRED),
    ],
)
def test_the_best_mode_the_figures_allow_is_offered(quality: LinkQuality | None, mode: str) -> None:
    assert offered_mode(quality) == mode


def test_an_unknown_loss_is_not_held_against_the_link() -> None:
    assert offered_mode(link(loss=None)) == VIDEO


def test_an_unmeasured_throughput_allows_no_call() -> None:
    assert offered_mode(link(up=None)) == CHAT


def test_thresholds_fall_from_video_to_chat() -> None:
    video, audio, chat = NEEDS[VIDEO], NEEDS[AUDIO], NEEDS[CHAT]
    assert video.min_kbps > audio.min_kbps > chat.min_kbps > 0
    assert video.max_loss_pct < audio.max_loss_pct < chat.max_loss_pct
    assert video.max_rtt_ms <= audio.max_rtt_ms < chat.max_rtt_ms


def test_the_latest_measurement_is_kept_in_the_data_directory(tmp_path: Path) -> None:
    assert load_latest(tmp_path) is None
    measured = link(rtt=431.5, down=77.2, up=65.0, loss=None, error="потери: мало пакетов")
    save_latest(tmp_path, measured)
    assert load_latest(tmp_path) == measured
    assert measured.as_dict() == {
        "rtt_ms": 431.5,
        "down_kbps": 77.2,
        "up_kbps": 65.0,
        "loss_pct": None,
        "measured_at": "2026-03-02T09:30:00+00:00",
        "error": "потери: мало пакетов",
    }
    (tmp_path / "link-quality.json").write_text("{not json")
    assert load_latest(tmp_path) is None
