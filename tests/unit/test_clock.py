"""The hybrid logical clock keeps order when wall clocks disagree."""

from __future__ import annotations

import pytest

from sync.clock import HybridClock, Stamp


def test_stamps_increase_even_if_the_wall_clock_goes_back() -> None:
    now = [10_000]
    clock = HybridClock("post-1", now_ms=lambda: now[0])
    first = clock.now()
    now[0] = 5_000  # the kiosk's clock was set back
    second = clock.now()
    assert second > first
    assert Stamp.decode(second).wall_ms == 10_000


def test_observing_a_peer_moves_the_clock_past_it() -> None:
    peer = HybridClock("central", now_ms=lambda: 50_000).now()
    slow = HybridClock("post-1", now_ms=lambda: 1_000)  # seven days behind, say
    slow.observe(peer)
    assert slow.now() > peer


def test_string_order_is_stamp_order() -> None:
    a = Stamp(999, 5, "z").encode()
    b = Stamp(1000, 0, "a").encode()
    assert a < b


def test_a_stamp_from_far_in_the_future_is_refused() -> None:
    clock = HybridClock("post-1", now_ms=lambda: 0)
    with pytest.raises(ValueError):
        clock.observe(Stamp(HybridClock.MAX_DRIFT_MS + 10, 0, "evil").encode())


def test_restart_continues_after_the_last_stamp() -> None:
    before = HybridClock("post-1", now_ms=lambda: 9_000).now()
    after = HybridClock("post-1", last=before, now_ms=lambda: 1_000).now()
    assert after > before
