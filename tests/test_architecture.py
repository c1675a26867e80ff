"""The dependency rules of DESIGN.md §2, checked with import-linter (contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dependency_rules_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_create_app_builds_no_app_at_import_time():
    import lti_tool

    assert not hasattr(lti_tool, "app")


def _imported_top_names(path: Path) -> set[str]:
    """Return what a module imports: `lti_tool.x` for our modules, the top-level name for anything else."""
    import ast

    package = ["lti_tool", *path.relative_to(ROOT / "lti_tool").parent.parts]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # `from lti_tool import kept_map` names a module of ours, not the package as a whole.
            names.update(f"{module}.{alias.name}" if module == "lti_tool" else module for alias in node.names)
    return {".".join(name.split(".")[:2]) if name.startswith("lti_tool.") else name.split(".")[0] for name in names}


#: The learning core and the two standard-library-only helpers it shares with the other layers (DESIGN.md §2:
#: learning → standard library only; docs/development.md says why the helpers live outside learning/).
PURE = {"lti_tool.learning", "lti_tool.kept_map", "lti_tool.bounded_json"}


def test_the_learning_core_and_its_helpers_import_the_standard_library_only():
    files = [
        *sorted((ROOT / "lti_tool" / "learning").rglob("*.py")),
        ROOT / "lti_tool" / "kept_map.py",
        ROOT / "lti_tool" / "bounded_json.py",
    ]
    outside = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in _imported_top_names(path)
        if name not in PURE and name not in sys.stdlib_module_names and name != "__future__"
    }
    assert not outside, sorted(outside)
