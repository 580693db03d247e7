"""Documentation names the legacy stacks only as legacy (seed 000 Property 6, Req. 6.4).

The rule, precisely: a Markdown line that names a stack which exists only in the legacy layout
(``CeapEtlWorkflow``, ``CeapFilterWorkflow``, ``CeapScoreWorkflow``, ``CeapStoreWorkflow``,
``CeapReactiveWorkflow``, ``CeapOrchestration``, with or without ``-{env}``) is allowed when

1. the document is a migration document (a path component contains "legacy" or "migrat"), or
2. the line itself says "legacy" or "migrat..." (case-insensitive), or
3. the line sits under a heading (at any enclosing level) that says "legacy" or "migrat...".

Anything else presents an old stack as current: the finding names the stack to use instead.
Fenced code blocks follow the same rule (their headings still apply; ``#`` inside them is not one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ceap_templates.errors import CeapError
from ceap_templates.validation.legacy_system import consolidated_role_for, legacy_only_roles

LEGACY_CONTEXT = re.compile(r"legacy|migrat", re.IGNORECASE)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class StaleReference:
    """A line naming a legacy stack outside a legacy/migration context."""

    path: str
    line: int
    stack: str
    replacement: str

    @property
    def message(self) -> str:
        return f"names legacy stack {self.stack} as current; use {self.replacement} or mark it legacy/migration"


@lru_cache(maxsize=1)
def legacy_stack_pattern() -> re.Pattern[str]:
    """Names of stacks that only the legacy layout has, optionally with an environment suffix."""
    roles = "|".join(re.escape(r) for r in legacy_only_roles())
    return re.compile(r"(?<![A-Za-z0-9])Ceap(?P<role>" + roles + r")(?P<env>-[A-Za-z0-9{}]+)?(?![A-Za-z0-9])")


def is_migration_document(path: str) -> bool:
    """Migration and legacy documents may name the old stacks freely."""
    return any(LEGACY_CONTEXT.search(part) for part in Path(path).parts)


def stale_references(path: str, text: str) -> list[StaleReference]:
    """Every legacy stack name in ``text`` that the module rule does not allow."""
    if is_migration_document(path):
        return []
    pattern = legacy_stack_pattern()
    headings: list[tuple[int, str]] = []
    in_fence = False
    found: list[StaleReference] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            headings = [(lvl, title) for lvl, title in headings if lvl < level]
            headings.append((level, heading.group(2)))
        allowed = bool(LEGACY_CONTEXT.search(line)) or any(LEGACY_CONTEXT.search(t) for _, t in headings)
        if allowed:
            continue
        for match in pattern.finditer(line):
            replacement = f"Ceap{consolidated_role_for(match.group('role'))}{match.group('env') or ''}"
            found.append(StaleReference(path, number, match.group(0), replacement))
    return found


class DocumentError(CeapError):
    """A ``--docs`` path that cannot be read."""


def read_documents(paths: Iterable[str | Path]) -> dict[str, str]:
    """Markdown files given directly or found under given folders (path -> text).

    Raises
    ------
    DocumentError
        A path that does not exist or cannot be read as UTF-8 text.
    """
    documents: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        files = sorted(path.rglob("*.md")) if path.is_dir() else [path]
        for file in files:
            try:
                documents[file.as_posix()] = file.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise DocumentError(f"{file}: cannot read document: {getattr(exc, 'strerror', None) or exc}") from None
    return documents
