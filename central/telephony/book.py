"""Where central keeps its phone calls: this process's memory, or Redis when several processes serve.

A phone call's SIP dialog lives in the process that dialled it (its sockets, its
thread): that process *holds* the call. The consultant's next request may reach
another web worker or another instance, so every process must see the call and
be able to end it. With `FAPLINK_MESSAGE_QUEUE` set, the calls live in the Redis
the instances already share: the holder writes each change of its calls there,
any process reads them, and a hang-up asked of a process that does not hold the
call goes to the holder over Redis pub/sub (and is left in Redis too, should the
holder be reconnecting). Each holder keeps a short lease on its name; a call
whose holder's lease has run out is over (the process died), and the first
process to notice says so (`switchboard`).

Once a call has ended it is never written back to a running state: a holder
whose write is refused learns that others have given its call up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from .gateway import CallSnapshot, CallState

if TYPE_CHECKING:
    from redis import Redis

__all__ = [
    "ActiveCall",
    "PhoneBook",
    "MemoryPhoneBook",
    "RedisPhoneBook",
    "phone_book_for",
    "HOLDER_LEASE",
]

log = logging.getLogger(__name__)

#: How many calls (running or just ended) a single process remembers for their pages.
REMEMBERED = 200
#: Calls per appeal that Redis remembers (the newest).
PER_APPEAL = 20
#: How long Redis keeps a call: a running one outlives the longest call (`SipTrunk.max_duration`)…
KEEP_RUNNING = timedelta(hours=3)
#: … an ended one, long enough for the appeal page to tell how it went (`service.RECENT`).
KEEP_ENDED = timedelta(hours=1)
#: Seconds a holder's lease lasts without renewal (renewed every third of it): a process that
#: died leaves its calls looking alive no longer than this.
HOLDER_LEASE = 15.0


@dataclass(frozen=True)
class ActiveCall:
    """A phone call about an appeal, placed by a consultant, held by one process of central."""

    call: CallSnapshot
    appeal_id: str
    staff_id: str
    holder: str  # the `Switchboard` whose process runs the call's SIP dialog

    @property
    def ended(self) -> bool:
        return self.call.state is CallState.ENDED

    def to_json(self) -> dict[str, Any]:
        return {
            **self.call.to_json(),
            "appeal_id": self.appeal_id,
            "staff_id": self.staff_id,
            "holder": self.holder,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActiveCall:
        return cls(CallSnapshot.from_json(data), data["appeal_id"], data["staff_id"], data["holder"])


class PhoneBook(Protocol):
    """The phone calls every process of central sees, and the way to the process holding each."""

    def put(self, entry: ActiveCall) -> bool:
        """Keep the call as it stands now; False (and nothing written) if it has already ended."""
        ...

    def get(self, call_id: str) -> ActiveCall | None: ...

    def for_appeal(self, appeal_id: str) -> list[ActiveCall]:
        """The appeal's calls still remembered, newest first."""
        ...

    def holder_alive(self, holder: str) -> bool: ...

    def ask_to_hang_up(self, entry: ActiveCall) -> None:
        """Ask the call's holder, another process, to hang up."""
        ...

    def serve(self, holder: str, held: Callable[[], list[str]], hang_up: Callable[[str], None]) -> None:
        """Keep `holder`'s lease and pass it the hang-ups asked of its calls (those in `held()`),
        and the calls others have given up, from now on, in the background."""
        ...


class MemoryPhoneBook:
    """One central process: every call is held here; the newest REMEMBERED are kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: OrderedDict[str, ActiveCall] = OrderedDict()

    def put(self, entry: ActiveCall) -> bool:
        with self._lock:
            stored = self._calls.get(entry.call.id)
            if stored is not None and stored.ended:
                return False
            self._calls[entry.call.id] = entry
            while len(self._calls) > REMEMBERED:
                oldest = next(iter(self._calls))
                if not self._calls[oldest].ended:
                    break
                del self._calls[oldest]
            return True

    def get(self, call_id: str) -> ActiveCall | None:
        with self._lock:
            return self._calls.get(call_id)

    def for_appeal(self, appeal_id: str) -> list[ActiveCall]:
        with self._lock:
            return [e for e in reversed(self._calls.values()) if e.appeal_id == appeal_id]

    def holder_alive(self, holder: str) -> bool:
        return True  # this process: the only holder there is

    def ask_to_hang_up(self, entry: ActiveCall) -> None:
        raise AssertionError("a single process holds every call it knows")

    def serve(self, holder: str, held: Callable[[], list[str]], hang_up: Callable[[str], None]) -> None:
        pass


#: Write a call unless it has already ended, and index it under its appeal (newest PER_APPEAL).
#: KEYS: the call, the appeal's calls; ARGV: the call's JSON, its TTL, its start, its id, the index's TTL.
_PUT = f"""
local stored = redis.call('GET', KEYS[1])
if stored and cjson.decode(stored)['state'] == '{CallState.ENDED.value}' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -{PER_APPEAL + 1})
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"""


class RedisPhoneBook:
    """Several central processes: one JSON entry per call, an index per appeal, a lease per holder."""

    def __init__(
        self, client: Redis, prefix: str = "faplink:phone-calls:", lease: float = HOLDER_LEASE
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.lease = lease
        self._put = client.register_script(_PUT)

    def _call_key(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}"

    def _appeal_key(self, appeal_id: str) -> str:
        return f"{self.prefix}appeal:{appeal_id}"

    def _holder_key(self, holder: str) -> str:
        return f"{self.prefix}holder:{holder}"

    def _hang_up_key(self, call_id: str) -> str:
        return f"{self.prefix}hang-up:{call_id}"

    def _channel(self, holder: str) -> str:
        return f"{self.prefix}to:{holder}"

    def put(self, entry: ActiveCall) -> bool:
        keep = KEEP_ENDED if entry.ended else KEEP_RUNNING
        written = self._put(
            keys=[self._call_key(entry.call.id), self._appeal_key(entry.appeal_id)],
            args=[
                json.dumps(entry.to_json()),
                int(keep.total_seconds()),
                entry.call.started_at.timestamp(),
                entry.call.id,
                int(KEEP_RUNNING.total_seconds()),
            ],
        )
        return bool(written)

    def get(self, call_id: str) -> ActiveCall | None:
        raw = self.redis.get(self._call_key(call_id))
        return ActiveCall.from_json(json.loads(raw)) if raw else None

    def for_appeal(self, appeal_id: str) -> list[ActiveCall]:
        newest: list[bytes] = self.redis.zrevrange(self._appeal_key(appeal_id), 0, -1)  # type: ignore[assignment]
        ids = [_text(i) for i in newest]
        if not ids:
            return []
        found = []
        for call_id, raw in zip(ids, self.redis.mget([self._call_key(i) for i in ids]), strict=True):
            if raw is None:  # forgotten (KEEP_ENDED) before the index
                self.redis.zrem(self._appeal_key(appeal_id), call_id)
            else:
                found.append(ActiveCall.from_json(json.loads(raw)))
        return found

    def holder_alive(self, holder: str) -> bool:
        return bool(self.redis.exists(self._holder_key(holder)))

    def ask_to_hang_up(self, entry: ActiveCall) -> None:
        pipe = self.redis.pipeline()
        pipe.set(self._hang_up_key(entry.call.id), 1, ex=int(KEEP_RUNNING.total_seconds()))
        pipe.publish(self._channel(entry.holder), entry.call.id)
        pipe.execute()

    def serve(self, holder: str, held: Callable[[], list[str]], hang_up: Callable[[str], None]) -> None:
        self.redis.set(self._holder_key(holder), 1, ex=_seconds(self.lease))
        threading.Thread(
            target=self._serve, args=(holder, held, hang_up), name="phone-call-holder", daemon=True
        ).start()

    def _serve(self, holder: str, held: Callable[[], list[str]], hang_up: Callable[[str], None]) -> None:
        from redis.exceptions import RedisError

        while True:
            try:
                self._listen(holder, held, hang_up)
            except RedisError as exc:
                log.warning("phone calls held here: Redis failed (%s); trying again", exc)
                time.sleep(1.0)
            except Exception:  # the holder must outlive a bug in one round
                log.exception("phone calls held here: the listener failed; trying again")
                time.sleep(1.0)

    def _listen(self, holder: str, held: Callable[[], list[str]], hang_up: Callable[[str], None]) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError

        pubsub = self.redis.pubsub()
        try:
            pubsub.subscribe(self._channel(holder))
            confirmed = pubsub.get_message(timeout=10.0)
            if confirmed is None or confirmed.get("type") != "subscribe":
                raise RedisConnectionError("Redis did not confirm the subscription within 10 s")
            # Subscribed: whatever is asked from now on arrives; look for what was asked before.
            self._renew(holder, held, hang_up)
            renew_at = time.monotonic() + self.lease / 3
            while True:
                message = pubsub.get_message(timeout=min(1.0, self.lease / 3))
                if message is not None and message.get("type") == "message":
                    hang_up(_text(message["data"]))
                if time.monotonic() >= renew_at:
                    self._renew(holder, held, hang_up)
                    renew_at = time.monotonic() + self.lease / 3
        finally:
            pubsub.close()

    def _renew(self, holder: str, held: Callable[[], list[str]], hang_up: Callable[[str], None]) -> None:
        """Extend the lease; if it had run out, or on (re)connecting, end the calls given up meanwhile."""
        key = self._holder_key(holder)
        kept = self.redis.set(key, 1, ex=_seconds(self.lease), xx=True)
        if not kept:
            log.warning("phone calls held here: the lease in Redis had run out")
            self.redis.set(key, 1, ex=_seconds(self.lease))
        for call_id in self._given_up(held()):
            hang_up(call_id)

    def _given_up(self, call_ids: Iterable[str]) -> list[str]:
        """Of these calls, the ones asked to hang up, or already ended by another process."""
        ids = list(call_ids)
        if not ids:
            return []
        asked = self.redis.mget([self._hang_up_key(i) for i in ids])
        stored = self.redis.mget([self._call_key(i) for i in ids])
        return [
            call_id
            for call_id, flag, raw in zip(ids, asked, stored, strict=True)
            if flag is not None or (raw is not None and json.loads(raw)["state"] == CallState.ENDED.value)
        ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _seconds(lease: float) -> int:
    return max(1, round(lease))


def phone_book_for(client: Redis | None, lease: float = HOLDER_LEASE) -> PhoneBook:
    """In the Redis the processes share, if they do; otherwise in this process's memory."""
    return RedisPhoneBook(client, lease=lease) if client is not None else MemoryPhoneBook()
