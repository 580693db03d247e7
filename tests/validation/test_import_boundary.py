"""The validator states the requirements itself: no import crosses between it and the generator.

An AST scan of every module (imports inside functions and ``TYPE_CHECKING`` blocks included):
nothing under ``ceap_templates/validation/`` imports from the rest of the package except the
shared error types, and nothing outside it imports the validation policy or legacy record. A
wrong value in the generator then cannot flow into the check that should catch it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "src" / "ceap_templates"
VALIDATION = PACKAGE / "validation"
#: What the validator may import from the rest of the package: error types, nothing that builds.
VALIDATION_MAY_IMPORT = {"ceap_templates.errors"}
#: What the generator may never import (the cli may run ``validate``, it states no requirement).
STATEMENTS_OF_REQUIREMENTS = {
    "ceap_templates.validation.policy",
    "ceap_templates.validation.legacy_system",
    "ceap_templates.validation.names",
}


def imported_modules(path: Path, text: str | None = None) -> set[str]:
    """Absolute module names ``path`` (or ``text`` placed at ``path``) imports.

    ``from x import y`` yields ``x`` and ``x.y``; relative imports resolve from ``path``'s package.
    """
    tree = ast.parse(path.read_text("utf-8") if text is None else text, str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _violations_of_validation(path: Path, text: str | None = None) -> list[str]:
    return sorted(
        m
        for m in imported_modules(path, text)
        if m.startswith("ceap_templates")
        and not m.startswith("ceap_templates.validation")
        and m != "ceap_templates"
        and not any(m == allowed or m.startswith(allowed + ".") for allowed in VALIDATION_MAY_IMPORT)
    )


@pytest.mark.parametrize("path", _sources(VALIDATION), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_validation_module__imports_no_builder_or_constant(path: Path) -> None:
    assert _violations_of_validation(path) == []


@pytest.mark.parametrize(
    "path",
    [p for p in _sources(PACKAGE) if VALIDATION not in p.parents],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_generator_module__imports_no_validation_policy(path: Path) -> None:
    assert sorted(imported_modules(path) & STATEMENTS_OF_REQUIREMENTS) == []


def test_scan_sees_the_imports_it_forbids() -> None:
    """The scan itself can fail: every import form of a forbidden module is seen."""
    as_if_at = VALIDATION / "rules" / "probe.py"  # parsed as if it sat there; never written
    forms = [
        "from ceap_templates.constants import MAX_RECEIVE_COUNT",
        "import ceap_templates.naming",
        "from ceap_templates import asl",
        "from ... import iam",
        "def f():\n    from ceap_templates.components.storage import CANDIDATES_ID\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ceap_templates.layouts import LEGACY\n",
    ]
    for form in forms:
        assert _violations_of_validation(as_if_at, form), form
    assert _violations_of_validation(as_if_at, "from ceap_templates.errors import CeapError") == []
    assert _violations_of_validation(as_if_at, "from ..policy import MAX_RECEIVE_COUNT") == []
    generator = PACKAGE / "components" / "probe.py"
    assert imported_modules(generator, "from ceap_templates.validation.policy import GLUE_RETRY")
    assert imported_modules(generator, "from ..validation import policy") & STATEMENTS_OF_REQUIREMENTS
