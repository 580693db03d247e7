"""The outcome of a diff: plain records that the renderers and ``--fail-on`` read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ceap_templates.diff.paths import Path

Action = Literal["add", "remove", "modify"]
Replacement = Literal["never", "conditional", "always"]
#: What happens to the data of a stateful resource that is deleted or replaced.
Fate = Literal["none", "data loss", "orphaned", "snapshot"]

REPLACEMENT_ORDER: dict[str, int] = {"never": 0, "conditional": 1, "always": 2}


@dataclass(frozen=True)
class PathChange:
    """One changed property path with its before/after values (raw, as in the templates)."""

    path: Path
    before: Any
    after: Any
    #: "always" / "conditional" when this path is (or holds) a create-only property.
    replacement: Replacement = "never"


@dataclass(frozen=True)
class ResourceChange:
    """A resource added, removed or modified in one stack of one layout of one environment."""

    environment: str
    layout: str
    stack: str
    logical_id: str
    type: str
    action: Action
    replacement: Replacement = "never"
    fate: Fate = "none"
    paths: tuple[PathChange, ...] = ()
    #: Human notes: "will fail: custom name", "code changed", "looks like a rename of X", ...
    notes: tuple[str, ...] = ()
    #: State-by-state changes of a state machine definition (name, what changed).
    states: tuple[tuple[str, str], ...] = ()

    @property
    def data_loss(self) -> bool:
        return self.fate == "data loss"

    @property
    def will_fail(self) -> bool:
        return any(n.startswith("will fail") for n in self.notes)


@dataclass(frozen=True)
class StackChange:
    """A stack of a layout that was added, removed or has changed resources."""

    environment: str
    layout: str
    stack: str
    status: Literal["added", "removed", "modified"]


@dataclass(frozen=True)
class ExportChange:
    environment: str
    stack: str
    name: str
    action: Action
    imported_by: tuple[str, ...]

    @property
    def will_fail(self) -> bool:
        """CloudFormation refuses to remove or change an export a stack imports ("export ... in use")."""
        return self.action != "add" and bool(self.imported_by)


@dataclass(frozen=True)
class SecurityChange:
    environment: str
    stack: str
    logical_id: str
    broadened: bool
    added: tuple[Any, ...]
    removed: tuple[Any, ...]


@dataclass(frozen=True)
class WaveChange:
    environment: str
    layout: str
    before: tuple[tuple[str, ...], ...]
    after: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Note:
    """A stack-API finding outside the contract's lists (imports added, weak references broken)."""

    environment: str
    layout: str
    stack: str
    kind: Literal["import added", "import unresolved", "weak reference broken"]
    text: str

    @property
    def will_fail(self) -> bool:
        return self.kind == "import unresolved"


@dataclass(frozen=True)
class Report:
    old: str
    new: str
    environments: tuple[str, ...]
    stacks_compared: int
    changes: tuple[ResourceChange, ...] = ()
    stacks: tuple[StackChange, ...] = ()
    exports: tuple[ExportChange, ...] = ()
    security: tuple[SecurityChange, ...] = ()
    waves: tuple[WaveChange, ...] = ()
    notes: tuple[Note, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.changes or self.exports or self.security or self.waves or self.notes)
