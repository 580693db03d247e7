"""``--base GIT_REF``: build a git ref with its own code and configuration, in a temporary worktree.

The ref is checked out detached in a temporary ``git worktree`` and built there by its own
``ceap_templates`` (``PYTHONPATH`` = the worktree's ``src``) with this interpreter's dependencies,
from its own ``config/`` and handler sources. The worktree is removed on every way out (success,
a ref that does not build, Ctrl-C).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ceap_templates.diff.loading import DiffInputError


def _git(args: Sequence[str], cwd: Path | str = ".") -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise DiffInputError(f"--base needs git: {exc}") from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def resolve(ref: str, cwd: Path | str = ".") -> tuple[Path, str]:
    """``(repository root, commit)`` of ``ref``, or one clear error."""
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise DiffInputError(f"--base {ref}: {Path(cwd).resolve()} is not inside a git repository")
    commit = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd)
    if commit.returncode != 0 or not commit.stdout.strip():
        raise DiffInputError(f"--base {ref}: no such git commit, branch or tag")
    return Path(top.stdout.strip()), commit.stdout.strip()


@contextmanager
def built_ref(ref: str, environments: Sequence[str] = (), cwd: Path | str = ".") -> Iterator[Path]:
    """The build folder of ``ref`` (valid inside the ``with`` block only)."""
    root, commit = resolve(ref, cwd)
    scratch = Path(tempfile.mkdtemp(prefix="ceap-diff-"))
    tree, out = scratch / "tree", scratch / "build"
    try:
        added = _git(["worktree", "add", "--detach", "--quiet", str(tree), commit], root)
        if added.returncode != 0:
            raise DiffInputError(f"--base {ref}: git worktree add failed: {_last_line(added.stderr)}")
        command = [sys.executable, "-m", "ceap_templates.cli", "build", "--out", str(out), "--quiet"]
        for env in environments:
            command += ["--env", env]
        python_path = os.pathsep.join(filter(None, [str(tree / "src"), os.environ.get("PYTHONPATH")]))
        try:
            built = subprocess.run(
                command, cwd=tree, env={**os.environ, "PYTHONPATH": python_path}, capture_output=True, text=True
            )
        except OSError as exc:
            raise DiffInputError(f"--base {ref}: cannot run the build: {exc}") from None
        if built.returncode != 0:
            raise DiffInputError(
                f"--base {ref} ({commit[:12]}) does not build: {_last_line(built.stderr).removeprefix('error: ')}"
            )
        yield out
    finally:
        _git(["worktree", "remove", "--force", str(tree)], root)
        shutil.rmtree(scratch, ignore_errors=True)
        _git(["worktree", "prune"], root)
