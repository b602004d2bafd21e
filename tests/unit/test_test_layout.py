"""The suite's own layout: helpers come from tests/helpers, never from conftest.py or a test module."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parents[1]


def _imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every `from X import` and `import X` in a file under `root`."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [f"{module}.{alias.name}" for alias in node.names]
            found += [(node.lineno, module)] + [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def _wrong_imports(path: Path, root: Path = TESTS.parent) -> list[str]:
    wrong = []
    for line, module in _imported_modules(path, root):
        last = module.rsplit(".", 1)[-1]
        if module.startswith("tests.") and (last == "conftest" or last.startswith("test_")):
            wrong.append(f"{path.relative_to(root)}:{line} imports {module}")
    return sorted(set(wrong))


def test_no_module_imports_from_a_conftest_or_a_test_module() -> None:
    wrong = [hit for path in sorted(TESTS.rglob("*.py")) for hit in _wrong_imports(path)]
    assert wrong == [], "move the helper into tests/helpers:\n" + "\n".join(wrong)


def test_the_check_sees_both_kinds_of_wrong_import(tmp_path: Path) -> None:
    probe = tmp_path / "tests" / "unit" / "test_probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "from tests.conftest import login\n"
        "from .test_sync_apply import push\n"
        "from tests.helpers.web import login\n"
        "from .conftest import feldsher\n",
        encoding="utf-8",
    )
    assert _wrong_imports(probe, tmp_path) == [
        "tests/unit/test_probe.py:1 imports tests.conftest",
        "tests/unit/test_probe.py:2 imports tests.unit.test_sync_apply",
        "tests/unit/test_probe.py:4 imports tests.unit.conftest",
    ]
