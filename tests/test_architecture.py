"""Import contract: physics is pure (numpy, scipy, numba; pvlib lazily) and imports point downward."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "plumetrace"
PHYSICS_ALLOWED = {"numpy", "scipy", "numba", "math", "__future__", "dataclasses", "types", "plumetrace"}


def _top_level_imports(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:  # module level only: lazy imports inside functions are allowed
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node.module or ""


def test_physics_imports_only_numeric_libraries():
    for path in (PKG / "physics").glob("*.py"):
        for name in _top_level_imports(path):
            root = name.split(".")[0]
            assert root in PHYSICS_ALLOWED, f"{path.name} imports {name}"
            if root == "plumetrace":
                assert name.startswith("plumetrace.physics"), f"{path.name} imports {name} (physics must not import up)"


def test_physics_has_no_io():
    for path in (PKG / "physics").glob("*.py"):
        text = path.read_text()
        for word in ("open(", "print(", "read_csv", "logging.basicConfig"):
            assert word not in text, f"{path.name} uses {word}"
