"""One node process per data directory, and a killed one leaves no lock behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from node.running import NodeAlreadyRunning, hold_data_dir, running_pid
from tests.helpers.timing import wait_until

HOLDER = (
    "import sys, time; from pathlib import Path; from node.running import hold_data_dir; "
    "lock = hold_data_dir(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)"
)


def test_a_second_holder_is_refused_and_a_killed_one_frees_the_directory(tmp_path: Path) -> None:
    assert running_pid(tmp_path) is None
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert running_pid(tmp_path) == holder.pid
        with pytest.raises(NodeAlreadyRunning) as refused:
            hold_data_dir(tmp_path)
        assert f"процесс {holder.pid}" in str(refused.value)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    # The kernel drops the lock with the process.
    wait_until(lambda: running_pid(tmp_path) is None, "the dead holder's lock to go")
    lock = hold_data_dir(tmp_path)
    try:
        assert running_pid(tmp_path) == os.getpid()
    finally:
        lock.close()
