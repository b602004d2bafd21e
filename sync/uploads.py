"""Files going up to central during a round: several at once on a fast link, each resumable.

The round's thread offers files (only those whose rows central already holds) and records
what went up; the transfers run on worker threads, which touch no database. How many go at
once is asked again before each file starts (`width`): on a slow link none while records are
still being pushed (they go first there) and one after; on a fast link several, so that one
file's chunk is read, opened and signed here while another's is written at central.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["FileUpload", "UploadQueue"]


@dataclass(frozen=True)
class FileUpload:
    """One file to send: its digest, its size, and how much central said it holds (None: ask)."""

    sha256: str
    size: int
    offset: int | None = None


#: Sends one file; returns False if it stopped early because `halt` was set (not an error).
Transfer = Callable[[FileUpload, threading.Event], bool]


class UploadQueue:
    """Offered files, sent by up to `workers` threads, as many at once as `width()` allows."""

    def __init__(self, transfer: Transfer, width: Callable[[], int], workers: int) -> None:
        self._transfer = transfer
        self._width = width
        self._workers = workers
        self._cond = threading.Condition()
        self._waiting: deque[FileUpload] = deque()
        self._threads: list[threading.Thread] = []
        self._halt = threading.Event()
        self._closing = False
        self._error: BaseException | None = None
        self._sent: list[str] = []
        #: Files under way or waiting, so that nothing is offered twice in a round.
        self.offered: set[str] = set()
        self.in_flight = 0

    def offer(self, files: Iterable[FileUpload]) -> None:
        with self._cond:
            for upload in files:
                if upload.sha256 not in self.offered:
                    self.offered.add(upload.sha256)
                    self._waiting.append(upload)
            while len(self._threads) < min(self._workers, len(self._waiting) + self.in_flight):
                thread = threading.Thread(target=self._work, name="faplink-upload", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify_all()

    def wake(self) -> None:
        """`width()` may answer differently now (the push ended, the link was measured)."""
        with self._cond:
            self._cond.notify_all()

    def sent(self) -> list[str]:
        """Digests of the files that went up whole since the last call."""
        with self._cond:
            done, self._sent = self._sent, []
            return done

    def finish(self) -> list[str]:
        """Wait until every offered file went up; raises the first failure (once the others
        stopped after their current chunk). Returns the digests not yet told by `sent`."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            while self._error is None and (self._waiting or self.in_flight):
                self._cond.wait()
        self._join()
        if self._error is not None:
            raise self._error
        return self.sent()

    def stop(self) -> list[str]:
        """The round is ending early: transfers stop after their current chunk, nothing waiting
        starts. Returns what went up whole meanwhile."""
        self._halt.set()
        with self._cond:
            self._closing = True
            self._waiting.clear()
            self._cond.notify_all()
        self._join()
        return self.sent()

    def _join(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def _next(self) -> FileUpload | None:
        with self._cond:
            while True:
                if self._halt.is_set():
                    return None
                if self._waiting and self.in_flight < max(1 if self._closing else 0, self._width()):
                    self.in_flight += 1
                    return self._waiting.popleft()
                if self._closing and not self._waiting:
                    return None
                self._cond.wait()

    def _work(self) -> None:
        while (upload := self._next()) is not None:
            try:
                whole = self._transfer(upload, self._halt)
            except BaseException as exc:  # handed to the round's thread, which raises it
                with self._cond:
                    if self._error is None:
                        self._error = exc
                    self._halt.set()
            else:
                if whole:
                    with self._cond:
                        self._sent.append(upload.sha256)
            finally:
                with self._cond:
                    self.in_flight -= 1
                    self._cond.notify_all()
