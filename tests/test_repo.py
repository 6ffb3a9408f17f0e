"""Project-level promises: the README's commands, one-way dependencies, sans-IO cores."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "dropcopy"

# DESIGN.md: codecs <- session machines <- aio / venue <- portal / cli (a package may import
# only the packages listed for it, besides itself and the standard library).
ALLOWED = {
    "sbe": set(),
    "ilink3": {"sbe"},
    "fix": {"sbe", "ilink3"},
    "fixp": {"sbe", "ilink3"},
    "fix42": {"sbe", "ilink3", "fix"},
    "journal": set(),
    "store": set(),
    "aio": {"sbe", "ilink3", "fix", "fixp", "fix42"},
    "venue": {"sbe", "ilink3", "fix", "fixp", "fix42", "journal", "aio", "store"},
    "portal": {"sbe", "ilink3", "fix", "fixp", "fix42", "journal", "aio", "venue", "store"},
    "cli": {"sbe", "ilink3", "fix", "fixp", "fix42", "journal", "aio", "venue", "store", "portal"},
}
# Dependency-free top-level modules anyone may import (they import nothing of dropcopy).
ANYONE = {"keyfile", "msgwconfig"}
SANS_IO = {"sbe", "ilink3", "fix", "fixp", "fix42"}
FORBIDDEN_IN_CORES = {
    "asyncio",
    "socket",
    "time",
    "selectors",
    "threading",
    "datetime.datetime.now",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"```(?:sh|bash)\n(.*?)```", readme, re.S)
    test_cmd = next(c.strip() for c in commands if "pytest" in c)
    assert test_cmd in ci


def test_dependencies_point_one_way() -> None:
    for pkg, allowed in ALLOWED.items():
        for path in (SRC / pkg).rglob("*.py"):
            for mod in _imports(path):
                if mod.startswith("dropcopy."):
                    target = mod.split(".")[1]
                    assert target == pkg or target in allowed or target in ANYONE, (
                        f"{path.relative_to(ROOT)} imports {mod}"
                    )


def test_top_level_modules_anyone_imports_import_nothing_of_dropcopy() -> None:
    for name in ANYONE:
        assert not {m for m in _imports(SRC / f"{name}.py") if m.startswith("dropcopy")}


def test_only_aio_imports_asyncio() -> None:
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "aio":
            continue
        assert "asyncio" not in {m.split(".")[0] for m in _imports(path)}, path.relative_to(ROOT)


def test_protocol_cores_are_sans_io() -> None:
    for pkg in SANS_IO:
        for path in (SRC / pkg).rglob("*.py"):
            bad = {m for m in _imports(path) if m.split(".")[0] in FORBIDDEN_IN_CORES}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_conformance_table_is_current() -> None:
    import importlib.util

    import pytest

    spec = importlib.util.spec_from_file_location(
        "conformance", ROOT / "scripts" / "conformance.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not mod.RULES.exists():
        pytest.skip("../shared/reference/seed-rules.md is not beside the checkout")
    assert (ROOT / "docs" / "conformance.md").read_text() == mod.render(), (
        "docs/conformance.md is stale: run .venv/bin/python scripts/conformance.py"
    )
