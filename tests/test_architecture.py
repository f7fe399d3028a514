"""Architecture contracts: the layer order, no import cycle, physics pure, no module over 600 lines.

Layers, lowest first (DESIGN.md): base (exceptions, units, numerics) → physics → geo → io → validation → detect
→ locate → fuse → plan → store → pipeline → leads → demo → web → api → cli. A module may import from its own
layer and any
lower one, never a higher one — lazy imports inside functions included. The simulator (``sim``) and the
benchmarks (``bench``) sit beside the stack, above what they use: no layer below ``demo`` imports them, and sim
never imports bench.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "plumetrace"
PHYSICS_ALLOWED = {"numpy", "scipy", "numba", "math", "__future__", "dataclasses", "types", "plumetrace"}
MAX_LINES = 600

LAYERS = ["base", "physics", "geo", "io", "validation", "detect", "locate", "fuse", "plan", "store", "pipeline",
          "leads", "demo", "web", "api", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}
BASE = {"plumetrace", "plumetrace.exceptions", "plumetrace.units", "plumetrace.numerics"}
SIDE = {"sim", "bench"}  # beside the stack


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        if "migrations" in rel.parts:
            continue
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _layer(module: str) -> str:
    if module in BASE:
        return "base"
    part = module.split(".")[1]
    if part in RANK or part in SIDE:
        return part
    raise AssertionError(f"{module} is in no layer: add it to tests/test_architecture.py (and DESIGN's layer order)")


def _imports(path: Path, top_level_only: bool = False):
    """(imported module, line) of every plumetrace import; ``from a import b`` counts a.b when b is a module."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield (sub if sub in MODULES else node.module), node.lineno


def _graph() -> dict[str, set[str]]:
    return {m: {d for d, _ in _imports(p) if d.startswith("plumetrace") and d in MODULES and d != m}
            for m, p in MODULES.items()}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _layer(module)


def test_imports_follow_the_layer_order():
    bad = []
    for module, path in MODULES.items():
        mine = _layer(module)
        for dep, line in _imports(path):
            if not dep.startswith("plumetrace") or dep not in MODULES:
                continue
            theirs = _layer(dep)
            if mine in SIDE or theirs in SIDE:
                # sim and bench use the stack; only demo and the layers above it use them; sim never uses bench
                if theirs in SIDE and mine not in SIDE and RANK[mine] < RANK["demo"]:
                    bad.append(f"{module}:{line} imports {dep} (the {theirs} package is above the stack)")
                if mine == "sim" and theirs == "bench":
                    bad.append(f"{module}:{line} imports {dep} (sim must not depend on the benchmarks)")
                if mine in SIDE and theirs not in SIDE and RANK[theirs] >= RANK["demo"]:
                    bad.append(f"{module}:{line} imports {dep} ({mine} must not use {theirs})")
                continue
            if RANK[theirs] > RANK[mine]:
                bad.append(f"{module}:{line} imports {dep} ({mine} must not import {theirs})")
    assert not bad, "layer order broken:\n" + "\n".join(bad)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(root):
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    return out


def test_no_import_cycle_anywhere_in_the_package():
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_600_lines(module):
    n = len(MODULES[module].read_text().splitlines())
    assert n <= MAX_LINES, f"{module} has {n} lines (at most {MAX_LINES}): split it by job"


def test_physics_imports_only_numeric_libraries():
    for path in (PKG / "physics").glob("*.py"):
        for name, line in _imports(path, top_level_only=True):
            root = name.split(".")[0]
            assert root in PHYSICS_ALLOWED, f"{path.name}:{line} imports {name}"
            if root == "plumetrace":
                assert name.startswith("plumetrace.physics"), f"{path.name} imports {name} (physics must not import up)"


def test_physics_has_no_io():
    for path in (PKG / "physics").glob("*.py"):
        text = path.read_text()
        for word in ("open(", "print(", "read_csv", "logging.basicConfig"):
            assert word not in text, f"{path.name} uses {word}"


def test_no_module_imports_another_modules_private_names():
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("plumetrace"):
                package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
                same_package = node.module.rsplit(".", 1)[0] == package
                if not same_package and any(part.startswith("_") for part in node.module.split(".")):
                    bad.append(f"{module} imports the private module {node.module}")
                for alias in node.names:
                    private = alias.name.startswith("_") and alias.name != "__version__"
                    if private and not same_package:
                        bad.append(f"{module} imports {node.module}.{alias.name}")
    assert not bad, "\n".join(bad)
