"""Legacy resource -> consolidated counterpart: the check that must pass before legacy cleanup.

Seed 000 Property 5: the migration validation verifies that every resource of the old stacks
exists in the new ones before an old stack may be deleted. :func:`require_counterparts` is that
gate (``plan-migration`` and ``cleanup-legacy.sh`` call it); :func:`counterparts` reports each
resource's status for humans.

A counterpart is the resource with the **same logical ID and type** in exactly one new stack
(docs/legacy-system.md: logical IDs are preserved; a changed ID would make CloudFormation replace it). CDK
internals of deployed legacy templates are known and not counted as missing: ``AWS::CDK::Metadata``
has no counterpart by design, and ``Custom::LogRetention`` with its singleton provider
(``LogRetention...`` function, role and policy) is replaced by explicit ``AWS::Logs::LogGroup``
resources with retention.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceap_templates.errors import CeapError

Templates = Mapping[str, Mapping[str, Any]]

PRESENT = "present"
MISSING = "missing"
WRONG_TYPE = "wrong-type"
AMBIGUOUS = "ambiguous"
REPLACED = "replaced"
CDK_INTERNAL = "cdk-internal"
#: Statuses that allow cleanup.
ACCEPTED = frozenset({PRESENT, REPLACED, CDK_INTERNAL})

#: CDK bookkeeping with no counterpart by design.
CDK_INTERNAL_TYPES = frozenset({"AWS::CDK::Metadata"})
#: CDK resource types the new templates replace with another type.
REPLACED_TYPES: Mapping[str, str] = {"Custom::LogRetention": "AWS::Logs::LogGroup"}
#: CDK's log-retention singleton provider (function, role, policy) IDs start with this.
CDK_LOG_RETENTION_PREFIX = "LogRetention"
_PROVIDER_TYPES = frozenset({"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::IAM::Policy"})


@dataclass(frozen=True)
class Counterpart:
    """Status of one legacy resource."""

    legacy_stack: str
    logical_id: str
    type: str
    status: str
    new_stacks: tuple[str, ...] = ()
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ACCEPTED

    def describe(self) -> str:
        """One line for a person: what is wrong, or where the counterpart is."""
        where = f"{self.legacy_stack}/{self.logical_id} ({self.type})"
        if self.status == PRESENT:
            return f"{where}: counterpart in {self.new_stacks[0]}"
        if self.status == MISSING:
            return f"{where}: no resource with this logical ID in the new stacks"
        if self.status == WRONG_TYPE:
            return f"{where}: {self.new_stacks[0]} has this logical ID as {self.note}"
        if self.status == AMBIGUOUS:
            return f"{where}: defined by several new stacks ({', '.join(self.new_stacks)}); exactly one must hold it"
        return f"{where}: {self.status} ({self.note})"


class MigrationCheckError(CeapError):
    """Cleanup refused: some legacy resource has no counterpart (one line each)."""

    def __init__(self, missing: list[Counterpart]) -> None:
        self.missing = missing
        lines = [f"legacy cleanup refused: {len(missing)} legacy resource(s) without a counterpart"]
        lines += [c.describe() for c in missing]
        super().__init__("\n".join(lines))


def _resources(template: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    resources = template.get("Resources", {})
    # Anything but an object is no resource CloudFormation would create (cfn-lint reports it).
    return {k: v for k, v in resources.items() if isinstance(v, dict)} if isinstance(resources, dict) else {}


def counterparts(legacy: Templates, new: Templates, renamed: Mapping[str, str] | None = None) -> list[Counterpart]:
    """The status of every resource of the ``legacy`` stacks against the ``new`` stacks.

    Parameters
    ----------
    legacy, new:
        Stack name -> template (parsed JSON).
    renamed:
        Legacy logical ID -> new logical ID, for resources a migration plan deliberately renames
        (none in this project: docs/legacy-system.md keeps every ID).
    """
    renames = dict(renamed or {})
    index: dict[str, list[tuple[str, str]]] = {}
    for stack, template in new.items():
        for logical_id, resource in _resources(template).items():
            index.setdefault(logical_id, []).append((stack, str(resource.get("Type"))))
    new_types = {t for holders in index.values() for _, t in holders}
    result: list[Counterpart] = []
    for stack, template in legacy.items():
        for logical_id, resource in _resources(template).items():
            type_ = str(resource.get("Type"))
            result.append(
                _status(stack, logical_id, type_, index.get(renames.get(logical_id, logical_id), []), new_types)
            )
    return result


def _status(
    stack: str, logical_id: str, type_: str, holders: list[tuple[str, str]], new_types: set[str]
) -> Counterpart:
    if type_ in CDK_INTERNAL_TYPES:
        return Counterpart(stack, logical_id, type_, CDK_INTERNAL, note="CDK bookkeeping, no counterpart needed")
    if type_ in REPLACED_TYPES or (logical_id.startswith(CDK_LOG_RETENTION_PREFIX) and type_ in _PROVIDER_TYPES):
        replacement = REPLACED_TYPES.get("Custom::LogRetention", "")
        if replacement in new_types:
            return Counterpart(stack, logical_id, type_, REPLACED, note=f"replaced by explicit {replacement} resources")
        return Counterpart(stack, logical_id, type_, MISSING, note=f"no {replacement} replaces it")
    if not holders:
        return Counterpart(stack, logical_id, type_, MISSING)
    stacks = tuple(s for s, _ in holders)
    if len(holders) > 1:
        return Counterpart(stack, logical_id, type_, AMBIGUOUS, stacks)
    ((_, holder_type),) = holders
    if holder_type != type_:
        return Counterpart(stack, logical_id, type_, WRONG_TYPE, stacks, note=holder_type)
    return Counterpart(stack, logical_id, type_, PRESENT, stacks)


def missing_counterparts(
    legacy: Templates, new: Templates, renamed: Mapping[str, str] | None = None
) -> list[Counterpart]:
    """Only the resources that block cleanup."""
    return [c for c in counterparts(legacy, new, renamed) if not c.ok]


def require_counterparts(
    legacy: Templates, new: Templates, renamed: Mapping[str, str] | None = None
) -> list[Counterpart]:
    """All counterparts, or :class:`MigrationCheckError` while any legacy resource lacks one.

    Raises
    ------
    MigrationCheckError
        Listing every blocking resource.
    """
    found = counterparts(legacy, new, renamed)
    blocking = [c for c in found if not c.ok]
    if blocking:
        raise MigrationCheckError(blocking)
    return found


class MigrationInputError(CeapError):
    """Templates handed to the migration check cannot be read."""


def read_templates(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Templates saved as ``{StackName}.template.json`` or ``{StackName}.json`` (e.g. backups of the
    deployed legacy stacks), by stack name.

    Raises
    ------
    MigrationInputError
        A file that is not a JSON template.
    """
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(folder).glob("*.json")):
        name = path.name.removesuffix(".json").removesuffix(".template")
        try:
            template = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise MigrationInputError(f"{path}: not a JSON template: {exc}") from None
        if not isinstance(template, dict):
            raise MigrationInputError(f"{path}: not a JSON template: top level is not an object")
        found[name] = template
    return found
