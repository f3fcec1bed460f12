"""The layering the README's Architecture section promises, read from the source's imports: the
domain imports neither Flask nor SQLAlchemy nor any other layer; services never import the
presentation layers (api, fhir, web); api and web never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "scheduler"

FORBIDDEN = {
    "domain": (
        "flask",
        "sqlalchemy",
        "scheduler.models",
        "scheduler.services",
        "scheduler.api",
        "scheduler.fhir",
        "scheduler.web",
        "scheduler.db",
    ),
    "services": ("scheduler.api", "scheduler.fhir", "scheduler.web"),
    "api": ("scheduler.web",),
    "web": ("scheduler.api",),
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in sorted(imports_of(path)):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert not found, "\n".join(found)


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from scheduler.api.serialize import flag\n    return flag\n")
    assert "scheduler.api.serialize" in imports_of(source)
