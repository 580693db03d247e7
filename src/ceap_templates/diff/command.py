"""The ``diff`` subcommand: arguments to report, report to stdout, ``--fail-on`` to the exit code."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from ceap_templates.diff import render_json, render_markdown
from ceap_templates.diff.engine import diff_builds
from ceap_templates.diff.git_base import built_ref
from ceap_templates.diff.loading import DiffInputError, environments, load, require
from ceap_templates.diff.model import Report

FAIL_ON = ("any", "replacement", "data-loss")
DEFAULT_NEW = "build"


def failing(report: Report, fail_on: str | None) -> bool:
    """``any``: anything reported; ``replacement``: a resource replaced (also conditionally); ``data-loss``."""
    if fail_on == "any":
        return not report.empty
    if fail_on == "replacement":
        return any(c.action == "modify" and c.replacement != "never" for c in report.changes)
    if fail_on == "data-loss":
        return any(c.data_loss for c in report.changes)
    return False


def _folders(args: argparse.Namespace) -> tuple[str | None, str]:
    paths: Sequence[str] = args.builds
    if args.base is not None:
        if len(paths) > 1:
            raise DiffInputError(f"--base {args.base} takes at most one build folder (NEW), got {len(paths)}")
        return None, paths[0] if paths else DEFAULT_NEW
    if len(paths) != 2:
        raise DiffInputError("give two build folders (OLD NEW) or --base GIT_REF [NEW]")
    return paths[0], paths[1]


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when ``--fail-on`` names a kind of change that is present."""
    old_folder, new_folder = _folders(args)
    wanted: list[str] = args.env or []
    new = load(new_folder)
    with ExitStack() as cleanup:
        if old_folder is None:
            # Build only what will be compared: the chosen environments (checked in NEW first).
            require(new, "NEW", wanted)
            old_path = cleanup.enter_context(built_ref(args.base, wanted))
            old_label = args.base
        else:
            old_path, old_label = Path(old_folder), old_folder
        old = load(old_path)
        names = environments(old, new, wanted)
        report = diff_builds(old, new, names, old_label, new_folder)
    text = render_json.render(report) if args.format == "json" else render_markdown.render(report)
    print(text, end="")
    return 1 if failing(report, args.fail_on) else 0
