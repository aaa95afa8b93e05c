"""The layering is a contract: no import cycles, no upward imports (docs/architecture.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _cycle(graph) -> list[str] | None:
    """One import cycle among glmip's modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if not other.startswith("glmip"):
                continue
            if state.get(other) == 1:
                return path[path.index(other):] + [other]
            if other not in state and (found := visit(other)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph.modules):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_import_cycles():
    grimp = pytest.importorskip("grimp", reason="import-linter (the test extra) is not installed")
    graph = grimp.build_graph("glmip")  # TYPE_CHECKING imports count too
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    for package in ("glmip", "glmip.io", "glmip.commands"):
        for child in list(graph.find_modules_directly_imported_by(package)):
            if child.startswith(package + "."):
                graph.remove_import(importer=package, imported=child)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_layers_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter (the test extra) is not installed")
    run = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
