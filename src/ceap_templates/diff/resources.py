"""Resource-by-resource diff of one stack: added, removed, modified, with their consequences."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.diff import normalise, state_machines
from ceap_templates.diff.model import PathChange, Replacement, ResourceChange
from ceap_templates.diff.paths import Path, changed, value_at
from ceap_templates.diff.replacement import create_only_changes, custom_name_conflict, fate, worst
from ceap_templates.diff.schemas import rules_for

#: Property keys that address deployed code by content (a new key is new code).
CODE_KEYS = frozenset({"S3Key", "S3ObjectVersion", "ZipFile", "ImageUri", "ScriptLocation", "--extra-py-files"})
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
CUSTOM_NAME_FAILS = "will fail: custom name"
CUSTOM_NAME_MAY_FAIL = "may fail: custom name (if CloudFormation replaces)"


def _overlaps(path: Path, tokens: tuple[str, ...]) -> bool:
    """A changed path under ``Properties`` is (inside) a create-only pointer or holds one."""
    if len(path) < 2 or path[0] != "Properties":
        return False
    inner = path[1:]
    size = min(len(inner), len(tokens))
    return all(t == "*" or t == p for p, t in zip(inner[:size], tokens[:size], strict=True))


def _modified(
    where: tuple[str, str, str], logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any], region: str
) -> ResourceChange | None:
    old_c, new_c = normalise.resource(dict(old)), normalise.resource(dict(new))
    paths = list(changed(old_c, new_c))
    if not paths:
        return None
    type_name = str(new.get("Type"))
    rules = rules_for(type_name, region)
    old_props, new_props = normalise.properties(old_c), normalise.properties(new_c)
    hits = create_only_changes(rules, old_props, new_props)
    notes: list[str] = []
    replacement: Replacement = worst([level for _, level in hits])
    if old.get("Type") != new.get("Type"):
        replacement = "always"
        notes.append(f"type changed from {old.get('Type')}")
    path_changes = tuple(
        PathChange(
            path,
            value_at(old, path),
            value_at(new, path),
            worst([level for tokens, level in hits if _overlaps(path, tokens)]),
        )
        for path in paths
    )
    resource_fate = fate(rules, new.get("UpdateReplacePolicy")) if replacement != "never" else "none"
    if replacement != "never" and custom_name_conflict(rules, old_props, new_props):
        notes.append(CUSTOM_NAME_FAILS if replacement == "always" else CUSTOM_NAME_MAY_FAIL)
    if any(isinstance(p, str) and p in CODE_KEYS for path in paths for p in path):
        notes.append("code changed")
    states: list[tuple[str, str]] = []
    if type_name == STATE_MACHINE and any(p[:2] == ("Properties", "Definition") for p in paths):
        states = state_machines.compare(value_at(old, ("Properties", "Definition")), new_props.get("Definition"))
    return ResourceChange(
        *where,
        logical_id,
        type_name,
        "modify",
        replacement=replacement,
        fate=resource_fate,
        paths=path_changes,
        notes=tuple(notes),
        states=tuple(states),
    )


def diff_stack(
    where: tuple[str, str, str],
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
    region: str,
    defaults: tuple[Mapping[str, Any], Mapping[str, Any]] = ({}, {}),
) -> Iterator[ResourceChange]:
    """Changes of one stack, by logical id; ``where`` is (environment, layout, stack).

    ``defaults`` are the old and new parameter defaults: when they differ, a ``Ref`` to a
    parameter is compared (and shown) with its default.
    """
    resolve = defaults[0] != defaults[1]
    for logical_id in sorted(old.keys() | new.keys()):
        before, after = old.get(logical_id), new.get(logical_id)
        if resolve and before is not None and after is not None:
            before, after = normalise.with_defaults(before, defaults[0]), normalise.with_defaults(after, defaults[1])
        if before is None and after is not None:
            yield ResourceChange(*where, logical_id, str(after.get("Type")), "add")
        elif after is None and before is not None:
            rules = rules_for(str(before.get("Type")), region)
            yield ResourceChange(
                *where, logical_id, str(before.get("Type")), "remove", fate=fate(rules, before.get("DeletionPolicy"))
            )
        elif before is not None and after is not None and before != after:
            change = _modified(where, logical_id, before, after, region)
            if change is not None:
                yield change
