"""cfn-lint, in-process, once over every template of the build (SYSTEM.md 12)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ceap_templates.validation.model import Build, Stack
from ceap_templates.validation.rule import Hit, Rule, hit


def _resource(match: Any) -> str:
    path = getattr(match, "path", None) or []
    if len(path) >= 2 and path[0] == "Resources":
        return str(path[1])
    if len(path) >= 2 and path[0] in ("Outputs", "Parameters"):
        return f"{path[0]}.{path[1]}"
    return "-"


def check_cfn_lint(build: Build) -> Iterator[Hit]:
    """One ``lint_files`` call for all templates; in-memory stacks are written to a scratch folder."""
    from ceap_templates.lint_build import lint_files

    stacks = list(build.stacks())
    if not stacks:
        return
    regions = sorted({str(e.manifest.get("region") or "us-east-1") for e in build.environments.values()})
    with tempfile.TemporaryDirectory(prefix="ceap-validate-") as scratch:
        by_file: dict[str, Stack] = {}
        for index, stack in enumerate(stacks):
            path = stack.file
            if path is None:
                # Generated or mutated builds have no file: cfn-lint reads files, so write one.
                path = Path(scratch) / f"{index:04d}-{stack.name}.template.json"
                path.write_text(json.dumps(stack.template, indent=2, sort_keys=True), "utf-8")
            by_file[str(path)] = stack
        for match in lint_files([Path(p) for p in by_file], regions):
            owner = by_file.get(str(match.filename))
            text = f"{match.rule.id} {match.message} (line {match.linenumber})"
            # cfn-lint names only the files it was given; anything else is still reported, never lost.
            yield hit(owner, _resource(match), text) if owner else Hit(str(match.filename), "-", text)


RULES = (
    Rule(
        "LINT001",
        "cfn-lint finds no error, warning or informational issue (ignores: lint_build.IGNORED_RULES, each justified)",
        "SYSTEM.md 12; TOOLING.md cfn-lint 1.58; https://github.com/aws-cloudformation/cfn-lint",
        check_cfn_lint,
        external=True,
    ),
)
