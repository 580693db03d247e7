"""The Markdown of fixed changes equals the reviewed files under ``golden/``.

After an intended change of the rendering, regenerate them (``python -m tests.diff.regenerate``)
and review the diff of ``tests/diff/golden/`` like any other.
"""

from __future__ import annotations

import pytest

from .scenarios import GOLDEN, SCENARIOS, render


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_markdown_matches_golden(name: str) -> None:
    expected = (GOLDEN / f"{name}.md").read_text("utf-8")
    assert render(name) == expected, f"regenerate with `python -m tests.diff.regenerate` if intended ({name})"


def test_golden_key_facts() -> None:
    """The golden files say what a reviewer must see (checked independently of the renderer)."""
    schema = (GOLDEN / "table-key-schema-and-export.md").read_text("utf-8")
    first_row = schema.splitlines()[4]
    assert first_row.startswith("| **dev · consolidated · CeapDatabase-dev**")
    assert "data loss: CandidatesTableB438AE0C" in first_row and "deploy will fail: export" in first_row
    workflow = (GOLDEN / "workflow-code-iam-state-machine.md").read_text("utf-8")
    assert "state `Audit`: added (Pass)" in workflow and "code changed" in workflow
    assert "`ETLFunctionRole`: **broadened**" in workflow and "`WorkflowBucket`: **broadened**" in workflow
    assert "No infrastructure change" in (GOLDEN / "identical.md").read_text("utf-8")
