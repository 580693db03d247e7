"""The two builds a diff compares: loaded with the validator's loader, checked to be comparable."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ceap_templates.errors import CeapError
from ceap_templates.validation.model import MANIFEST, Build, load_build


class DiffInputError(CeapError):
    """The inputs cannot be compared (CLI: one line, exit 2)."""


def _is_manifest(data: Any) -> bool:
    """The shape the loader relies on: an environment and layouts of stacks, all objects."""
    if not isinstance(data, dict) or not isinstance(data.get("environment"), str):
        return False
    layouts = data.get("layouts")
    if not isinstance(layouts, dict) or not layouts:
        return False
    for layout in layouts.values():
        if not isinstance(layout, dict) or not isinstance(layout.get("stacks", {}), dict):
            return False
        if not all(
            isinstance(e, dict) and isinstance(e.get("template"), str) for e in layout.get("stacks", {}).values()
        ):
            return False
        waves = layout.get("waves", [])
        if not isinstance(waves, list) or not all(isinstance(w, list) for w in waves):
            return False
    return isinstance(data.get("deploy", {}), dict)


def _check_manifests(folder: Path) -> None:
    """Refuse a ``manifest.json`` that some other tool wrote, before the loader reads it."""
    manifests = [folder / MANIFEST] if (folder / MANIFEST).is_file() else sorted(folder.glob(f"*/{MANIFEST}"))
    for path in manifests:
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue  # the loader reports it, naming the file
        if not _is_manifest(data):
            raise DiffInputError(f"{path}: not a ceap-templates manifest (needs environment and layouts)")


def load(folder: str | Path) -> Build:
    """A build folder (``build/`` or ``build/{env}``) whose every template parses."""
    _check_manifests(Path(folder))
    build = load_build(folder)
    for env in build.environments.values():
        layouts = env.manifest.get("layouts") if isinstance(env.manifest, dict) else None
        if not isinstance(layouts, dict) or not layouts or not env.manifest.get("environment"):
            where = env.folder or folder
            raise DiffInputError(
                f"{where}/manifest.json: not a ceap-templates manifest (needs environment and layouts)"
            )
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
