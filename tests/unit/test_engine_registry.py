"""The sync engine knows nothing of the clinical domain: the domain registers what it replicates."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from domain import REPLICATION
from domain.models import Appeal
from sync.registry import RegistryError, Replication, register, replication

ROOT = Path(__file__).resolve().parents[2]


def test_the_engine_imports_nothing_of_the_domain() -> None:
    imported = set()
    for path in (ROOT / "sync").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add((path.name, node.module.split(".")[0]))
            elif isinstance(node, ast.Import):
                imported.update((path.name, alias.name.split(".")[0]) for alias in node.names)
    assert not {(name, top) for name, top in imported if top in ("domain", "central", "node", "faplink")}


@pytest.mark.parametrize(
    "call",
    [
        "from sync.apply import apply_records; apply_records([], peer='central', from_central=True)",
        "from sync.changes import collect_changes; collect_changes(0, 10)",
    ],
)
def test_an_engine_without_a_registered_domain_refuses_to_run(call: str) -> None:
    ran = subprocess.run([sys.executable, "-c", call], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0
    assert "RegistryError: no replicated models are registered" in ran.stderr
    assert "import domain" in ran.stderr


def test_the_domain_registers_its_models_once() -> None:
    assert replication() is REPLICATION
    assert replication().by_table["appeal"] is Appeal
    register(REPLICATION)  # the same one again: nothing changes
    other = Replication(
        models=REPLICATION.models,
        contracts={},
        blobs=REPLICATION.blobs,
        migrations=(),
        refusals=(),
    )
    with pytest.raises(RegistryError, match="another replication"):
        register(other)
    assert replication() is REPLICATION
