"""Phone calls shared through Redis by several processes of central, each a `Switchboard` here:
the process holding a call (its SIP dialog) and the others that follow and end it.

The telephony engine is a stand-in whose call moves on when the test says so; the
book is the real one, in the Redis on this machine.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from central.telephony.book import ActiveCall, RedisPhoneBook
from central.telephony.gateway import CallState, PhoneCall
from central.telephony.switchboard import HOLDER_LOST, Switchboard
from domain.models import CallOutcome
from tests.helpers.scaled import REDIS_URL
from tests.helpers.timing import DEADLINE_S, wait_until


class StandInGateway:
    """A telephony engine whose calls ring at once, connect when told, and end when hung up."""

    def __init__(self) -> None:
        self.connect = threading.Event()

    def call(
        self,
        consultant_phone: str,
        patient_phone: str,
        *,
        caller_id: str,
        timeout: float,
        on_end: Callable[[PhoneCall], None] | None = None,
        on_change: Callable[[PhoneCall], None] | None = None,
    ) -> PhoneCall:
        call = PhoneCall(consultant_phone, patient_phone, caller_id, on_change)

        def run() -> None:
            call.calling_consultant()
            while not call.hangup_requested.wait(0.05):
                if self.connect.is_set() and call.state is CallState.CALLING_CONSULTANT:
                    call.connected()
            call.finish(CallOutcome.COMPLETED)
            if on_end is not None:
                on_end(call)
            call.ended()

        threading.Thread(target=run, daemon=True).start()
        return call

    def hang_up(self, call: PhoneCall) -> None:
        call.hangup_requested.set()

    def status(self, call: PhoneCall) -> CallState:
        return call.state


class UnattendedBook(RedisPhoneBook):
    """A holder that takes its lease once and never renews it, as if it had stopped."""

    def serve(self, holder: str, held: Callable[[], list[str]], hang_up: Callable[[str], None]) -> None:
        self.redis.set(self._holder_key(holder), 1, ex=600)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own in the shared Redis, cleared afterwards."""
    prefix = f"faplink-test:{uuid.uuid4().hex[:8]}:phone-calls:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def _place(board: Switchboard, gateway: StandInGateway, logged: list[ActiveCall]) -> PhoneCall:
    return board.place(
        gateway,
        "+79161234567",
        "+79165550011",
        caller_id="+74822000000",
        timeout=15,
        appeal_id="appeal-1",
        staff_id="ivanova",
        on_end=lambda ended: logged.append(board.entry(ended, "appeal-1", "ivanova")),
    )


def test_another_process_follows_the_call_and_its_hang_up_reaches_the_holder(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    logged: list[ActiveCall] = []
    holder = Switchboard(RedisPhoneBook(client, prefix), logged.append)
    other = Switchboard(RedisPhoneBook(client, prefix), logged.append)
    gateway = StandInGateway()

    call = _place(holder, gateway, logged)

    def ringing() -> ActiveCall | None:
        entry = other.find(call.id)
        return entry if entry is not None and entry.call.state is CallState.CALLING_CONSULTANT else None

    seen = wait_until(ringing, "the other process to see the phone ring")
    assert (seen.appeal_id, seen.staff_id, seen.holder) == ("appeal-1", "ivanova", holder.name)
    gateway.connect.set()
    wait_until(lambda: other.for_appeal("appeal-1")[0].call.state is CallState.CONNECTED, "the talk")

    ended = other.hang_up(seen, wait=DEADLINE_S)
    assert (ended.call.state, ended.call.outcome, ended.call.error) == (CallState.ENDED, "completed", None)
    assert call.hangup_requested.is_set() and call.state is CallState.ENDED
    assert [entry.call.id for entry in logged] == [call.id]  # logged once, by the holder


def test_a_call_whose_holder_stopped_is_ended_once_and_the_holder_gives_it_up_if_it_comes_back(
    prefix: str,
) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    logged: list[ActiveCall] = []
    book = UnattendedBook(client, prefix)
    holder = Switchboard(book, logged.append)
    gateway = StandInGateway()
    call = _place(holder, gateway, logged)
    readers = [Switchboard(RedisPhoneBook(client, prefix), logged.append) for _ in range(2)]
    wait_until(lambda: readers[0].find(call.id) is not None, "the call in the book")

    client.delete(book._holder_key(holder.name))  # its lease ran out
    first, second = (reader.find(call.id) for reader in readers)
    assert first is not None and second is not None
    for seen in (first, second):
        assert seen.call.state is CallState.ENDED and seen.call.outcome == CallOutcome.FAILED
        assert seen.call.error is not None and seen.call.error.template == HOLDER_LOST
    assert [entry.call.id for entry in logged] == [call.id]  # the first reader logged it; once

    # The holder was only slow: its next change is refused, and it ends the dialog itself.
    gateway.connect.set()
    wait_until(lambda: call.state is CallState.ENDED, "the holder to hang up")
    stored = readers[1].find(call.id)
    assert stored is not None and stored.call.error is not None and stored.call.error.template == HOLDER_LOST
