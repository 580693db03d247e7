"""The two builds a diff compares: loaded with the validator's loader, checked to be comparable."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ceap_templates.errors import CeapError
from ceap_templates.validation.model import Build, load_build


class DiffInputError(CeapError):
    """The inputs cannot be compared (CLI: one line, exit 2)."""


def load(folder: str | Path) -> Build:
    """A build folder (``build/`` or ``build/{env}``) whose every template parses."""
    build = load_build(folder)
    for env in build.environments.values():
        if env.load_problems:
            where, message = env.load_problems[0]
            more = f" (and {len(env.load_problems) - 1} more)" if len(env.load_problems) > 1 else ""
            raise DiffInputError(f"{folder}: not a complete build: {where}: {message}{more}")
    return build


def require(build: Build, label: str, wanted: Sequence[str]) -> None:
    """Each of ``wanted`` is an environment of ``build``."""
    for name in wanted:
        if name not in build.environments:
            names = ", ".join(sorted(build.environments))
            raise DiffInputError(f"--env {name}: not in {label} build {build.root} (it has: {names})")


def environments(old: Build, new: Build, wanted: Sequence[str] = ()) -> tuple[str, ...]:
    """The environments to compare: ``wanted`` (each in both builds) or all, the same in both."""
    old_names, new_names = set(old.environments), set(new.environments)
    if wanted:
        require(old, "OLD", wanted)
        require(new, "NEW", wanted)
        return tuple(dict.fromkeys(wanted))
    if old_names != new_names:
        raise DiffInputError(
            f"the builds hold different environments: OLD {old.root} has {', '.join(sorted(old_names))}, "
            f"NEW {new.root} has {', '.join(sorted(new_names))} (choose common ones with --env)"
        )
    return tuple(sorted(old_names))
