"""The node's side of the sync: one round is hello → push → pull → blobs up → blobs down.

Every step commits its cursor together with the data it covers, so a round
cut at any point resumes where it stopped and repeats nothing harmful.
"""

from __future__ import annotations

import base64
import enum
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from i18n import N_

from . import PROTOCOL_VERSION
from .apply import apply_records
from .blobs import CHUNK_SIZE, BlobStore
from .changes import collect_changes, express_lane, pending_counts
from .clock import utcnow
from .contract import POST_CLOCK_SKEW
from .db import database, replica
from .errors import (
    RevokedError,
    StaleRequestError,
    SyncError,
    TransportError,
    VersionError,
    error_for_code,
)
from .migrations import schema_version
from .model import SyncModel, next_seq
from .registry import replication
from .request_signing import NodeKey
from .session import CentralSession, Trust, no_link, parse_url, received_at
from .state import Cursor, PendingRecord, UploadedBlob
from .uploads import FileUpload, UploadQueue
from .wire import decode, encode, pack_chunk

#: Aim for requests of about this long: long enough to fill the link, short enough to lose little.
TARGET_REQUEST_S = 2.0
MIN_BATCH, MAX_BATCH, FIRST_BATCH = 20, 2000, 200
#: Bytes per second above which a blob chunk is gzipped at the fastest level: there,
#: level 6 (about 10 MB/s on a kiosk) would cost more time than the bytes it saves.
#: Above it too, chunks are FAST_CHUNK long and UPLOADS_AT_ONCE files go up at once.
FAST_LINK = 2_000_000
#: A chunk on a fast link: the most central takes in one (`server.MAX_CHUNK`). Each chunk
#: costs central a signature, a scope check and a flush to disk, and 256 KiB chunks made
#: central spend twice the CPU on a file; a cut there re-sends at most half a second's worth.
FAST_CHUNK = 4 * CHUNK_SIZE
#: Files sent at once on a fast link: one's chunk is read and signed here while another's is
#: written at central (a slow link is filled by one, and the first file would come later).
UPLOADS_AT_ONCE = 3

#: A round says hello at least this often, and also at the node's start, after a round that
#: failed, when the node's schema or software changed, when the kiosk's clock jumped, and
#: whenever there is something to push; otherwise a round with nothing to push is a pull alone
#: that says the node's versions (central refuses an outdated node there as at the hello) and
#: reads central's clock from the answer. Central sees the node's last contact either way.
HELLO_EVERY_S = 300.0
#: The kiosk's wall clock moved this far against its monotonic clock since the hello: it jumped.
CLOCK_JUMP_S = 30.0

__all__ = [
    "SyncClient",
    "SyncState",
    "SyncStatus",
    "RoundReport",
    "LastHello",
    "request_enrolment",
    "parse_url",
]

log = logging.getLogger(__name__)


class SyncState(enum.Enum):
    IDLE = "idle"
    SYNCING = "syncing"
    OFFLINE = "offline"
    ERROR = "error"
    UPDATE_REQUIRED = "update_required"
    REVOKED = "revoked"


@dataclass
class RoundReport:
    pushed: int = 0
    pulled: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)
    blobs_up: int = 0
    blobs_down: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0


@dataclass
class SyncStatus:
    """What the sync bar, the JSON API and `faplink node sync --status` show."""

    state: str = SyncState.IDLE.value
    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    queue_emergency: int = 0
    queue_records: int = 0
    queue_blobs_up: int = 0
    queue_blobs_down: int = 0
    pending_parents: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    clock_offset_ms: int | None = None
    rounds_completed: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LastHello:
    """What the last hello agreed with central, and when: later rounds may skip theirs while it holds."""

    at: float  # time.monotonic() when central answered
    wall_minus_monotonic: float  # time.time() - time.monotonic() then: a clock jump changes it
    schema: int
    software: str

    @classmethod
    def now(cls, schema: int, software: str) -> LastHello:
        mono = time.monotonic()
        return cls(mono, time.time() - mono, schema, software)

    def holds(
        self, schema: int, software: str, *, mono: float | None = None, wall: float | None = None
    ) -> bool:
        """Whether a round may do without a hello of its own (`mono`/`wall`: the clocks now)."""
        mono = time.monotonic() if mono is None else mono
        wall = time.time() if wall is None else wall
        return (
            0 <= mono - self.at < HELLO_EVERY_S
            and abs(wall - mono - self.wall_minus_monotonic) < CLOCK_JUMP_S
            and (schema, software) == (self.schema, self.software)
        )


class SyncClient:
    """Talks to central for one node; safe to call `run_round` from one thread at a time."""

    def __init__(
        self,
        central: CentralSession,
        blobs: BlobStore,
        *,
        status_file: Path | None = None,
        batch_size: int | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.central = central
        self.node_id = central.node_id
        self.blobs = blobs
        # The batch size this node's link allowed last time (it adapts every request).
        learned = Cursor.read("batch_size")
        self.batch_size = batch_size or (min(MAX_BATCH, max(MIN_BATCH, learned)) if learned else FIRST_BATCH)
        self.chunk_size = chunk_size
        self.status_file = status_file
        self.status = SyncStatus()
        self._lock = threading.Lock()
        # A wrong kiosk clock stays corrected across restarts, even offline.
        stored = Cursor.get_or_none(Cursor.name == "clock_offset")
        if stored is not None:
            central.clock_offset_ms = Cursor.read("clock_offset")
        central.on_clock(self._keep_clock_offset)
        #: What central's hello said it understands beyond the protocol version.
        self._central_features: frozenset[str] = frozenset()
        #: The last hello, while every round since has pulled well (None: the next round says hello).
        self._last_hello: LastHello | None = None
        #: This round's hello, said or skipped (the schema a skipped one's pull says).
        self._round_hello: LastHello | None = None
        #: Whether this round went without a hello (its pull then says the versions, reads the clock).
        self._hello_skipped = False
        #: Bytes per second the link carried with the last blob chunk (0: not measured yet).
        self._upload_rate = 0.0
        #: Records are still moving (the push and the pull): on a slow link no file goes meanwhile.
        self._records_moving = False
        self._uploads: UploadQueue | None = None
        #: Byte counts and progress are added to from the upload threads too.
        self._counting = threading.Lock()
        replica().clock.offset_ms = central.clock_offset_ms or 0
        self.status.clock_offset_ms = central.clock_offset_ms or None
        self.listeners: list[Callable[[SyncStatus], None]] = []

    @property
    def key(self) -> NodeKey:
        """The node's signing key (a rotated key takes over for every later request)."""
        return self.central.key

    @key.setter
    def key(self, key: NodeKey) -> None:
        self.central.key = key

    # -- transport -------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        raw: bytes | None = None,
        *,
        encoded: bytes | None = None,
        raw_gzipped: bool = False,
    ) -> requests.Response:
        """A signed request: `payload` (JSON, gzipped here), `encoded` (already gzipped JSON) or
        `raw` bytes (gzipped already if `raw_gzipped`)."""
        if payload is not None:
            encoded = encode(payload)
        body = encoded if encoded is not None else (raw if raw is not None else b"")
        full = f"/sync/v1{path}"
        headers: dict[str, str] = {}
        if encoded is not None:
            headers["Content-Type"] = "application/json"
            headers["Content-Encoding"] = "gzip"
        elif raw is not None:
            headers["Content-Type"] = "application/octet-stream"
            if raw_gzipped:
                headers["Content-Encoding"] = "gzip"
        response = self.central.send(method, full, body, headers=headers)
        self._count(sent=len(body), received=len(response.content))
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _error(self, response: requests.Response) -> SyncError:
        try:
            data = response.json()
            cls = error_for_code(data.get("error"))
            return cls(data.get("message") or response.reason)
        except ValueError:
            return TransportError(N_("Центр ответил ошибкой %(status)s"), status=response.status_code)

    def _json(self, method: str, path: str, payload: Any = None, *, encoded: bytes | None = None) -> Any:
        response = self._request(method, path, payload, encoded=encoded)
        return decode(response.content, gzipped=False)

    def _timed_json(self, method: str, path: str, encoded: bytes) -> tuple[Any, float]:
        """`_json` with an encoded body, and how long the request took (for the sender thread)."""
        started = time.monotonic()
        answer = self._json(method, path, encoded=encoded)
        return answer, time.monotonic() - started

    def _count(self, sent: int, received: int) -> None:
        with self._counting:
            self._report.bytes_sent += sent
            self._report.bytes_received += received
            self.status.bytes_done += sent + received

    def ping(self, timeout: float = 3.0) -> bool:
        """Whether central answers at all (unsigned, a few bytes): the link is back."""
        return self.central.ping(timeout)

    # -- one round -------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """No round runs meanwhile (a link measurement: on a slow link a round would take the
        bandwidth being measured); waits for a running round to end first."""
        with self._lock:
            yield

    def run_round(self) -> RoundReport:
        """One full exchange; raises SyncError (status updated) if it could not finish."""
        with self._lock:
            self._report = RoundReport()
            self.status.last_attempt = utcnow().isoformat()
            self.status.bytes_done = 0
            self.status.bytes_total = 0
            self._set_state(SyncState.SYNCING)
            try:
                self._hello()
                with self._file_uploads():
                    first_page = self._push()
                    self._pull(first_page)
                    self._upload_blobs()
                self._download_blobs()
            except SyncError as exc:
                if isinstance(exc, TransportError):
                    self.batch_size = max(MIN_BATCH, self.batch_size // 2)
                    self._keep_batch_size()
                self.status.last_error = exc.message
                self._set_state(_state_for(exc))
                raise
            self._keep_batch_size()
            self.status.last_success = utcnow().isoformat()
            self.status.rounds_completed += 1
            self.status.last_error = None
            self.status.refused = self._report.refused[-20:]
            self._set_state(SyncState.IDLE)
            return self._report

    def _keep_batch_size(self) -> None:
        try:
            Cursor.write("batch_size", self.batch_size)
        except Exception:  # a hint for the next start only: never the reason a round fails
            log.exception("could not store the batch size")

    def _hello(self) -> None:
        """Negotiate versions with a signed hello, and measure central's clock by its answer.

        The first time, and whenever central finds the signature's time off, the
        clock is measured first with an unsigned ping, so that a wrong kiosk clock
        cannot lock us out of signing; otherwise the hello alone does both (one
        round trip fewer).

        A round skips it while the last hello still holds (`HELLO_EVERY_S`), the last round
        ended well and there is nothing to push: a polling post's round is then one request.
        """
        last, self._last_hello = self._last_hello, None  # given back once this round has pulled
        schema, software = schema_version(), _software()
        self._hello_skipped = (
            last is not None
            and self.status.last_error is None
            and last.holds(schema, software)
            and not self._anything_to_push()
        )
        if self._hello_skipped:
            self._round_hello = last
            return
        if Cursor.get_or_none(Cursor.name == "clock_offset") is None:
            self._measure_clock()
        try:
            self._signed_hello(schema, software)
        except StaleRequestError:
            self._measure_clock()
            self._signed_hello(schema, software)
        self._round_hello = LastHello.now(schema, software)

    def _anything_to_push(self) -> bool:
        """Rows of ours central has not had, or stamps the push would renew (a clock that ran ahead)."""
        if replica().clock.ahead_by() > POST_CLOCK_SKEW.total_seconds() * 1000 / 2:
            return True
        after = Cursor.read("push")
        return any(
            model.select(model.id).where((model.seq > after) & (model.changed_by == self.node_id)).exists()
            for model in replication().models
        )

    def _measure_clock(self) -> None:
        self.central.measure_clock()

    def _signed_hello(self, schema: int, software: str) -> None:
        started = time.time()
        hello = {"protocol": PROTOCOL_VERSION, "schema": schema, "software": software}
        answer = self._json("POST", "/hello", hello)
        server_ms = answer.get("server_time_ms") if isinstance(answer, dict) else None
        features = answer.get("features") if isinstance(answer, dict) else None
        if isinstance(features, list):
            self._central_features = frozenset(f for f in features if isinstance(f, str))
        if isinstance(server_ms, int):
            self.central.clock_read(server_ms, started, time.time(), received_at(answer))

    def _keep_clock_offset(self, offset_ms: int) -> None:
        """Central's clock was measured: stamp with it from now on, and keep it across restarts."""
        self.status.clock_offset_ms = offset_ms
        replica().clock.offset_ms = offset_ms
        Cursor.write("clock_offset", offset_ms)

    def _push(self) -> dict[str, Any] | None:
        """Emergency appeals (with their patients) first, then everything in change order.

        While central applies one batch, the next is read and encoded here (one
        request in flight at a time); the cursor moves past a batch only once
        central has answered for it, and on a fast link that batch's files start
        going up meanwhile. The last batch asks for the first page of the pull
        too, which saves a round trip; returns that page if central sent one (a
        central that does not know the field ignores it).
        """
        self._restamp_ahead()
        after = Cursor.read("push")
        express = express_lane(after, self.node_id)
        sent: set[tuple[str, str, str]] = set()
        if express:
            self._sent(express, *self._timed_json("POST", "/push", self._batch_body(express)))
            self._offer_files(express)
            sent = {(r.__class__.__name__, r.id, r.hlc) for r in express}
        page: dict[str, Any] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="faplink-push") as sender:
            inflight: tuple[Future[tuple[Any, float]], list[SyncModel], int] | None = None
            after = Cursor.read("push")
            while True:
                rows, more = collect_changes(after, self.batch_size, only_by=self.node_id)
                fresh = [r for r in rows if (r.__class__.__name__, r.id, r.hlc) not in sent]
                body = self._batch_body(fresh, with_pull=not more) if fresh else None
                acked: list[SyncModel] = []
                if inflight is not None:
                    future, acked, last_seq = inflight
                    result, seconds = future.result()
                    self._sent(acked, result, seconds)
                    Cursor.write("push", last_seq)
                    page = result.get("pull") if isinstance(result.get("pull"), dict) else None
                    inflight = None
                if rows:
                    after = rows[-1].seq
                    if body is None:
                        Cursor.write("push", after)
                    else:
                        inflight = (sender.submit(self._timed_json, "POST", "/push", body), fresh, after)
                # Central holds these rows now: their files may go while it applies the next batch.
                self._offer_files(acked)
                if not rows:
                    return page

    def _restamp_ahead(self) -> int:
        """Give our changes stamped while the kiosk's clock ran ahead a stamp in central's time.

        Central refuses a stamp further ahead of its clock than the allowed skew (one post's
        clock must not drag the fleet's), so such changes would never go. Now that the hello
        has measured the clock, they are stamped anew (and sent again); returns how many.
        """
        clock = replica().clock
        if clock.ahead_by() <= POST_CLOCK_SKEW.total_seconds() * 1000 / 2:
            return 0
        sound = clock.rewind()
        count = 0
        with database.atomic():
            for model in replication().models:
                ahead = model.select().where((model.changed_by == self.node_id) & (model.hlc > sound))
                for row in ahead:
                    stamp = clock.now()
                    changes: dict[Any, Any] = {model.hlc: stamp, model.seq: next_seq()}
                    if model.PER_FIELD:
                        stamps = json.loads(row.field_stamps or "{}")
                        fixed = {k: (stamp if v > sound else v) for k, v in stamps.items()}
                        changes[model._meta.fields["field_stamps"]] = json.dumps(fixed, sort_keys=True)
                    model.update(changes).where(model.id == row.id).execute()
                    count += 1
        log.warning("re-stamped %s changes made while the kiosk's clock ran ahead", count)
        return count

    def _batch_body(self, rows: list[SyncModel], with_pull: bool = False) -> bytes:
        payload: dict[str, Any] = {"records": [row.to_wire() for row in rows]}
        if with_pull:
            payload["pull"] = {"cursor": Cursor.read("pull"), "limit": self.batch_size}
        return encode(payload)

    def _sent(self, rows: list[SyncModel], result: Any, seconds: float) -> None:
        """Central answered for a pushed batch."""
        self._adapt(seconds)
        self._report.pushed += len(rows)
        self._report.refused.extend(result.get("refused", []))
        log.debug(
            "pushed %s records in %.2f s: %s applied, %s refused",
            len(rows),
            seconds,
            result.get("applied"),
            len(result.get("refused", [])),
        )

    def _adapt(self, seconds: float) -> None:
        """Grow batches while requests are quick, shrink them when the link is slow."""
        if seconds < TARGET_REQUEST_S / 2:
            self.batch_size = min(MAX_BATCH, self.batch_size * 2)
        elif seconds > TARGET_REQUEST_S * 2:
            self.batch_size = max(MIN_BATCH, self.batch_size // 2)

    def _pull(self, page: dict[str, Any] | None = None) -> None:
        """Apply central's changes page by page, starting with `page` if the push brought one."""
        first = True
        while True:
            if page is None:
                cursor = Cursor.read("pull")
                path = f"/pull?cursor={cursor}&limit={self.batch_size}"
                if self._hello_skipped and self._round_hello is not None:
                    # What the hello would have said, for central to refuse as it would have.
                    path += f"&protocol={PROTOCOL_VERSION}&schema={self._round_hello.schema}"
                started, wall = time.monotonic(), time.time()
                page = self._json("GET", path)
                self._adapt(time.monotonic() - started)
                server_ms = page.get("server_time_ms") if isinstance(page, dict) else None
                if self._hello_skipped and first and type(server_ms) is int and not page.get("records"):
                    # As the hello would have; from a small answer only, whose round trip is short.
                    self.central.clock_read(server_ms, wall, time.time(), received_at(page))
            first = False
            records = page.get("records", [])
            with database.atomic():
                result = apply_records(records, peer="central", from_central=True)
                Cursor.write("pull", int(page["cursor"]))
            if result.refused:
                log.warning("central sent records we refused: %s", result.refused)
                self._report.refused.extend(result.refused)
            self._report.pulled += len(records)
            log.debug("pulled %s records up to change %s", len(records), page["cursor"])
            if not page.get("more"):
                # Central has answered this round, our versions said: the next may skip its hello.
                self._last_hello = self._round_hello
                return
            page = None

    @contextmanager
    def _file_uploads(self) -> Iterator[None]:
        """The round's upload threads; if the round fails, they stop after their current chunk."""
        self._uploads = UploadQueue(self._upload, self._uploads_at_once, UPLOADS_AT_ONCE)
        self._records_moving = True
        try:
            yield
        except BaseException:
            went = self._uploads.stop()
            try:
                self._uploaded(went)
            except Exception:  # central is asked again next round; the round's own error matters
                log.exception("could not note the files that went up")
            raise
        finally:
            self._uploads = None
            self._records_moving = False

    def _uploads_at_once(self) -> int:
        if self._upload_rate > FAST_LINK:
            return UPLOADS_AT_ONCE
        return 0 if self._records_moving else 1

    def _upload_blobs(self) -> None:
        """Send the blobs of our attachments that central lacks, smallest first, resumable.

        Only those whose rows central already holds: central refuses a file no row of the post
        names, and a file attached while this round pushed goes with the next round (the
        write that made it asks for one), after its row. The files of the batches this
        round pushed may be under way already (`_offer_files`)."""
        uploads = self._uploads
        assert uploads is not None, "files go up within a round (_file_uploads)"
        self._records_moving = False
        uploads.wake()
        blobs = replication().blobs
        sha256, size = blobs.sha256_field, blobs.size_field
        model = blobs.model
        pushed = (model.seq <= Cursor.read("push")) | (model.changed_by != self.node_id)
        mine: Any = (
            model.select(sha256, size)
            .where(
                (model.origin == self.node_id)
                & pushed
                & sha256.not_in(UploadedBlob.select(UploadedBlob.sha256))
            )
            .distinct()
            .order_by(size)
            .tuples()
        )
        self._send_files(list(mine))
        self._uploaded(uploads.finish())

    def _offer_files(self, rows: list[SyncModel]) -> None:
        """Queue the files of our attachments among `rows`, which central has acknowledged."""
        blobs = replication().blobs
        files = {
            getattr(row, blobs.sha256_field.name): getattr(row, blobs.size_field.name)
            for row in rows
            if isinstance(row, blobs.model) and row.origin == self.node_id
        }
        if not files or self._uploads is None:
            return
        held: Any = UploadedBlob.select(UploadedBlob.sha256).where(UploadedBlob.sha256.in_(list(files)))
        done = {sha for (sha,) in held.tuples()}
        self._send_files(
            sorted(((sha, n) for sha, n in files.items() if sha not in done), key=lambda f: (f[1], f[0]))
        )

    def _send_files(self, files: list[tuple[str, int]]) -> None:
        """Ask central which of these files (digest, size) it lacks and queue those; the rest
        central holds already."""
        uploads = self._uploads
        assert uploads is not None
        wanted = [(sha, n) for sha, n in files if sha not in uploads.offered and self.blobs.has(sha)]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            answer = self._json("POST", "/blobs/missing", {"sha256": [sha for sha, _ in chunk]})
            missing = set(answer["missing"])
            # How much of each central already holds (a central that does not say is asked per file).
            offsets = answer.get("offsets")
            uploads.offer(
                FileUpload(sha, n, offsets.get(sha, 0) if isinstance(offsets, dict) else None)
                for sha, n in chunk
                if sha in missing
            )
            self._uploaded([sha for sha, _ in chunk if sha not in missing], sent=False)
        self._uploaded(uploads.sent())

    def _uploaded(self, shas: list[str], *, sent: bool = True) -> None:
        """Central holds these files (`sent`: because this round sent them)."""
        for sha in shas:
            UploadedBlob.insert(sha256=sha).on_conflict_ignore().execute()
        if sent and shas:
            self._report.blobs_up += len(shas)

    def _upload(self, upload: FileUpload, halt: threading.Event) -> bool:
        """Send one file from where central's copy ends (on an upload thread); False if `halt`
        stopped it between two chunks."""
        sha, size, offset = upload.sha256, upload.size, upload.offset
        if offset is None:
            offset = int(self._json("GET", f"/blobs/{sha}/upload")["offset"])
        with self._counting:
            self.status.bytes_total += size - offset
        while offset < size:
            if halt.is_set():
                return False
            fast = self._upload_rate > FAST_LINK
            data = self.blobs.read_range(
                sha, offset, max(self.chunk_size, FAST_CHUNK) if fast else self.chunk_size
            )
            packed = None
            if "blob-gzip" in self._central_features:
                # A slow link is worth every byte gzip can save; a fast one is not worth its CPU.
                packed = pack_chunk(data, level=1 if fast else 6)
            started = time.monotonic()
            answer = decode(
                self._request(
                    "PUT",
                    f"/blobs/{sha}/upload?offset={offset}",
                    raw=packed or data,
                    raw_gzipped=packed is not None,
                ).content,
                gzipped=False,
            )
            # Files going up at once share the link: it carried this chunk that many times over.
            sharing = max(1, self._uploads.in_flight if self._uploads is not None else 1)
            self._upload_rate = len(packed or data) * sharing / max(time.monotonic() - started, 1e-6)
            if packed is not None:
                # Progress counts the file's bytes, which a packed chunk carries in fewer.
                with self._counting:
                    self.status.bytes_done += len(data) - len(packed)
            offset = int(answer["offset"])
        return True

    def _download_blobs(self) -> None:
        """Fetch blobs of attachments we hold no copy of, smallest first, resumable."""
        for sha, size in self.blobs_wanted():
            held = self.blobs.staged(sha)
            self.status.bytes_total += size - held
            while held < size:
                response = self._request("GET", f"/blobs/{sha}?offset={held}&length={self.chunk_size}")
                if not response.content:
                    raise TransportError(N_("Центр прислал пустой фрагмент файла"))
                held = self.blobs.append(sha, held, response.content, size)
            self._report.blobs_down += 1

    # -- status ----------------------------------------------------------------

    def blobs_wanted(self) -> list[tuple[str, int]]:
        """(sha, size) of attachments whose bytes are not here yet, smallest first."""
        blobs = replication().blobs
        rows = blobs.model.live().select(blobs.sha256_field, blobs.size_field).distinct().tuples()
        wanted = {sha: length for sha, length in rows if not self.blobs.has(sha)}
        return sorted(wanted.items(), key=lambda item: (item[1], item[0]))

    def refresh_queues(self) -> SyncStatus:
        after = Cursor.read("push")
        counts = pending_counts(after, self.node_id)
        self.status.queue_emergency = counts["emergency"]
        self.status.queue_records = counts["records"]
        self.status.queue_blobs_up = counts["blobs_up"]
        self.status.pending_parents = PendingRecord.select().count()
        self.status.queue_blobs_down = len(self.blobs_wanted())
        self._save_status()
        return self.status

    def _set_state(self, state: SyncState) -> None:
        if self.status.state != state.value:
            log.info("sync state %s -> %s", self.status.state, state.value)
        self.status.state = state.value
        try:
            self.refresh_queues()
        except Exception:  # status must never break the round itself
            log.exception("could not refresh sync queue sizes")
        for listener in self.listeners:
            listener(self.status)

    def _save_status(self) -> None:
        if self.status_file is None:
            return
        self.status_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.status_file.parent, prefix=".status")
        with os.fdopen(fd, "w") as out:
            json.dump(self.status.as_dict(), out, ensure_ascii=False)
        os.replace(tmp, self.status_file)


def _state_for(exc: SyncError) -> SyncState:
    if isinstance(exc, TransportError):
        return SyncState.OFFLINE
    if isinstance(exc, VersionError):
        return SyncState.UPDATE_REQUIRED
    if isinstance(exc, RevokedError):
        return SyncState.REVOKED
    return SyncState.ERROR


def _software() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("faplink")
    except PackageNotFoundError:
        return "dev"


def request_enrolment(
    central_url: str, token: str, key: NodeKey, node_id: str, *, timeout: float = 30.0, verify: Trust = True
) -> dict[str, Any]:
    """Register this node's key with central using a one-time token; returns central's answer
    (with central's clock, `server_time_ms`)."""
    from .server import enrolment_proof_message

    proof = base64.b64encode(key.sign(enrolment_proof_message(token, node_id))).decode()
    body = {"token": token, "node_id": node_id, "public_key": key.public_hex, "proof": proof}
    try:
        response = requests.post(
            f"{parse_url(central_url)}/sync/v1/enroll", json=body, timeout=timeout, verify=verify
        )
    except requests.RequestException as exc:
        raise no_link(exc) from exc
    try:
        data = response.json()
    except ValueError as exc:
        raise TransportError(N_("Центр ответил ошибкой %(status)s"), status=response.status_code) from exc
    if response.status_code >= 400:
        raise error_for_code(data.get("error"))(data.get("message") or response.reason)
    return dict(data)
