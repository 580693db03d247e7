"""Write builds to disk: all of an environment or nothing (no partial output on failure)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ceap_templates.environment_build import EnvironmentBuild


def write_builds(out: Path, builds: Iterable[EnvironmentBuild]) -> list[Path]:
    """Replace ``out/{env}/`` for each build; files of other environments are left alone.

    Everything is rendered in memory first, then written to a temporary folder beside ``out``
    and swapped in by rename, so an error never leaves a half-written environment behind.
    """
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    staging = Path(tempfile.mkdtemp(prefix=".ceap-build-", dir=out))
    try:
        for build in builds:
            folder = staging / build.env.name
            for relative, text in sorted(build.files.items()):
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        for folder in sorted(staging.iterdir()):
            final = out / folder.name
            old = staging / f".old-{folder.name}"
            if final.exists():
                final.rename(old)
            folder.rename(final)
            written.append(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
