"""The session key of a data directory: made once, and the same for instances that start together."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

from web.settings import secret_key_for


def _key_of(data_dir: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    results.put(secret_key_for(Path(data_dir)))


def test_the_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    key = secret_key_for(tmp_path / "central")
    assert len(key) == 64
    assert secret_key_for(tmp_path / "central") == key
    path = tmp_path / "central" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_instances_starting_together_on_one_directory_agree_on_the_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for attempt in range(15):
        shared = tmp_path / f"shared-{attempt}"
        results = context.Queue()
        instances = [context.Process(target=_key_of, args=(str(shared), results)) for _ in range(6)]
        for process in instances:
            process.start()
        for process in instances:
            process.join(timeout=30)
        assert [p.exitcode for p in instances] == [0] * 6  # none died on the other's file
        keys = {results.get(timeout=5) for _ in instances}
        assert len(keys) == 1
        assert [p.name for p in shared.iterdir()] == ["secret_key"]  # no drafts left behind
        assert (shared / "secret_key").read_text() == keys.pop()
