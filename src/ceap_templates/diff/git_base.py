"""``--base GIT_REF``: build a git ref with its own code and configuration, in a temporary worktree.

The ref is checked out detached in a temporary ``git worktree`` and built there by its own
``ceap_templates`` (the worktree's ``src`` first on ``sys.path``) with this interpreter's dependencies,
from its own ``config/`` and handler sources. The worktree is removed on every way out (success,
a ref that does not build, Ctrl-C).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ceap_templates.diff.loading import DiffInputError

#: Runs the ref's own CLI: its ``src`` first on the path (ahead of any installed copy), checked.
_RUN_BUILD = """
import sys
src = sys.argv[1]
sys.path.insert(0, src)
import ceap_templates.cli as cli
if not cli.__file__.startswith(src):
    sys.exit(f"error: the ref's ceap_templates was not imported (got {cli.__file__})")
sys.exit(cli.main(sys.argv[2:]))
"""


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
        arguments = ["build", "--out", str(out), "--quiet"]
        for env in environments:
            arguments += ["--env", env]
        command = [sys.executable, "-c", _RUN_BUILD, str(tree / "src"), *arguments]
        try:
            built = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise DiffInputError(f"--base {ref}: cannot run the build: {exc}") from None
        if built.returncode != 0:
            raise DiffInputError(
                f"--base {ref} ({commit[:12]}) does not build: {_last_line(built.stderr).removeprefix('error: ')}"
            )
        yield out
    finally:
        removed = _git(["worktree", "remove", "--force", str(tree)], root)
        shutil.rmtree(scratch, ignore_errors=True)
        if removed.returncode != 0 and (root / ".git").exists():
            # The entry outlived its folder (e.g. a half-made worktree): drop entries whose folder is gone.
            _git(["worktree", "prune"], root)
