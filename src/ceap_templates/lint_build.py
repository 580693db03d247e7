"""cfn-lint, in-process, on every template of a build folder (one call for all files).

Run as ``python -m ceap_templates.lint_build build``; exit 1 on any error, warning or
informational finding that is not ignored below with its reason.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

#: Rules we do not apply, and why. Everything else, informational rules included, must be clean.
IGNORED_RULES: Mapping[str, str] = MappingProxyType(
    {
        # Step Functions service-integration ARNs (`arn:aws:states:::lambda:invoke`) are the
        # documented, partition-less resource names of Amazon States Language; they are not
        # account resources and there is no `${AWS::Partition}` form inside a Definition object.
        "I3042": "hard-coded partition in ASL integration ARNs",
    }
)


def template_files(build_dir: Path) -> list[Path]:
    files = sorted(build_dir.rglob("*.template.json"))
    if not files:
        raise SystemExit(f"{build_dir}: no *.template.json files (run `tox -e build` first)")
    return files


def lint_files(files: Sequence[Path], regions: Sequence[str] = ("us-east-1",)) -> list[Any]:
    """All cfn-lint matches for ``files`` (after :data:`IGNORED_RULES`)."""
    from cfnlint.api import ManualArgs, lint_by_config

    config = ManualArgs(
        templates=[str(f) for f in files],
        regions=list(regions),
        include_checks=["I"],
        ignore_checks=list(IGNORED_RULES),
        mandatory_checks=["E"],
    )
    return list(lint_by_config(config))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    build_dir = Path(args[0] if args else "build")
    files = template_files(build_dir)
    matches = lint_files(files)
    for match in matches:
        print(f"{match.rule.id} {match.filename}:{match.linenumber}: {match.message}")
    print(f"cfn-lint: {len(files)} templates, {len(matches)} findings")
    return 1 if matches else 0


if __name__ == "__main__":
    sys.exit(main())
