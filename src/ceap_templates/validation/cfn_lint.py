"""cfn-lint, in-process, spread over the machine's cores (one worker process per core).

cfn-lint checks one template at a time and costs about a second per template, so a build's
templates are split into balanced chunks that worker processes lint side by side. The workers
come from a fork server that imported cfn-lint once; with one core (or one file) the linting
stays in this process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
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
#: ``CEAP_VALIDATE_WORKERS=1`` keeps cfn-lint in this process (debugging, constrained CI).
WORKERS_VARIABLE = "CEAP_VALIDATE_WORKERS"


@dataclass(frozen=True)
class LintMatch:
    """One cfn-lint finding, in a form that crosses process boundaries."""

    filename: str
    rule: str
    message: str
    line: int
    path: tuple[str, ...]

    @property
    def resource(self) -> str:
        """The logical id (or ``Outputs.X`` / ``Parameters.X``) the match is about, else ``-``."""
        if len(self.path) >= 2 and self.path[0] == "Resources":
            return self.path[1]
        if len(self.path) >= 2 and self.path[0] in ("Outputs", "Parameters"):
            return f"{self.path[0]}.{self.path[1]}"
        return "-"

    def __str__(self) -> str:
        return f"{self.rule} {self.message} (line {self.line})"


def lint_serial(files: Sequence[str], regions: Sequence[str]) -> list[LintMatch]:
    """cfn-lint on ``files`` in this process (after :data:`IGNORED_RULES`)."""
    from cfnlint.api import ManualArgs, lint_by_config

    config = ManualArgs(
        templates=list(files),
        regions=list(regions),
        include_checks=["I"],
        ignore_checks=list(IGNORED_RULES),
        mandatory_checks=["E"],
    )
    return [
        LintMatch(
            str(m.filename),
            str(m.rule.id),
            str(m.message),
            int(m.linenumber),
            tuple(str(p) for p in (getattr(m, "path", None) or [])),
        )
        for m in lint_by_config(config)
    ]


def worker_count(files: int) -> int:
    configured = os.environ.get(WORKERS_VARIABLE, "")
    cores = int(configured) if configured.isdigit() and int(configured) > 0 else (os.cpu_count() or 1)
    return max(1, min(cores, files))


def chunks(files: Sequence[str], count: int) -> list[list[str]]:
    """``count`` chunks of about equal bytes (largest file first into the lightest chunk)."""
    sized = sorted(files, key=lambda f: (-Path(f).stat().st_size, f))
    result: list[list[str]] = [[] for _ in range(count)]
    weights = [0] * count
    for name in sized:
        lightest = weights.index(min(weights))
        result[lightest].append(name)
        weights[lightest] += Path(name).stat().st_size
    return [c for c in result if c]


def _lint_chunk(arguments: tuple[list[str], list[str]]) -> list[LintMatch]:
    return lint_serial(*arguments)


def lint_files(files: Sequence[str | Path], regions: Sequence[str] = ("us-east-1",)) -> list[LintMatch]:
    """All cfn-lint matches for ``files``, linted in parallel when there are cores to spare."""
    names = [str(f) for f in files]
    count = worker_count(len(names))
    if count <= 1:
        return lint_serial(names, regions)
    import multiprocessing

    # A fork server forks each worker from a clean process that already imported cfn-lint:
    # no second import per worker, and no fork of this (possibly threaded) process.
    context: Any = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["cfnlint.api", __name__])
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        parts = pool.map(_lint_chunk, [(c, list(regions)) for c in chunks(names, count)])
        return sorted((m for part in parts for m in part), key=lambda m: (m.filename, m.line, m.rule, m.message))
