"""cfn-lint, in-process, over every template of the build, spread over the cores (docs/design.md 12)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ceap_templates.validation.cfn_lint import lint_files
from ceap_templates.validation.model import Build, Stack
from ceap_templates.validation.rule import Hit, Rule, hit


def check_cfn_lint(build: Build) -> Iterator[Hit]:
    """One parallel cfn-lint run for all templates; in-memory stacks are written to a scratch folder."""
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
        for match in lint_files(list(by_file), regions):
            owner = by_file.get(match.filename)
            # cfn-lint names only the files it was given; anything else is still reported, never lost.
            yield hit(owner, match.resource, str(match)) if owner else Hit(match.filename, "-", str(match))


RULES = (
    Rule(
        "LINT001",
        "cfn-lint finds no error, warning or informational issue (ignores: validation.cfn_lint.IGNORED_RULES, "
        "each justified)",
        "docs/tools.md cfn-lint 1.58; https://github.com/aws-cloudformation/cfn-lint",
        check_cfn_lint,
        external=True,
        per_template=True,
    ),
)
