"""Compare two loaded builds: every environment, layout and stack, then the stack API and security."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ceap_templates.diff import security, stack_api
from ceap_templates.diff.model import Report, ResourceChange, SecurityChange, StackChange
from ceap_templates.diff.normalise import canonical, properties, sort_key
from ceap_templates.diff.resources import CUSTOM_NAME_FAILS, diff_stack
from ceap_templates.diff.schemas import DEFAULT_REGION, rules_for
from ceap_templates.validation.model import Build, Environment, Layout

_EMPTY = Layout("", {}, (), ())


def _defaults(layout: Layout, stack: str) -> Mapping[str, Any]:
    found = layout.stacks.get(stack)
    return found.parameter_defaults if found is not None else {}


def _resources(layout: Layout, stack: str) -> Mapping[str, Mapping[str, Any]]:
    found = layout.stacks.get(stack)
    return found.resources if found is not None else {}


def _annotate_moves(changes: list[ResourceChange], old: Environment, new: Environment) -> list[ResourceChange]:
    """A removed and an added resource of one layout with the same type and properties: a rename or move.

    CloudFormation creates the new resource before it deletes the old one, so a custom name that
    both carry collides: in one stack that always fails, across stacks it depends on the order.
    """
    removed = [c for c in changes if c.action == "remove"]
    result: list[ResourceChange] = []
    for change in changes:
        if change.action != "add":
            result.append(change)
            continue
        added = new.layouts[change.layout].stacks[change.stack].resources[change.logical_id]
        rules = rules_for(change.type, str(new.manifest.get("region", DEFAULT_REGION)))
        notes = list(change.notes)
        for gone in removed:
            if (gone.environment, gone.layout, gone.type) != (change.environment, change.layout, change.type):
                continue
            before = old.layouts[gone.layout].stacks[gone.stack].resources[gone.logical_id]
            old_props, new_props = properties(before), properties(added)
            same_properties = canonical(old_props) == canonical(new_props)
            name = rules.name_property
            same_name = (
                name is not None and name in new_props and canonical(old_props.get(name)) == canonical(new_props[name])
            )
            origin = gone.logical_id if gone.stack == change.stack else f"{gone.stack}/{gone.logical_id}"
            if same_properties or same_name:
                notes.append(f"looks like a rename or move of {origin}")
            if same_name:
                same_stack = gone.stack == change.stack
                notes.append(CUSTOM_NAME_FAILS if same_stack else "may fail: custom name (order of stacks)")
        result.append(replace(change, notes=tuple(notes)))
    return result


def _security(changes: list[ResourceChange], old: Environment, new: Environment) -> list[SecurityChange]:
    merged: dict[str, SecurityChange] = {}
    for change in changes:
        before = _resources(old.layouts.get(change.layout, _EMPTY), change.stack).get(change.logical_id)
        after = _resources(new.layouts.get(change.layout, _EMPTY), change.stack).get(change.logical_id)
        outcome = security.compare(before, after)
        if outcome is None:
            continue
        broadened, added, removed = outcome
        if after is None and not broadened:
            continue  # a deleted role or policy only takes access away: the resource change says it
        entry = SecurityChange(
            change.environment, change.stack, change.logical_id, broadened, tuple(added), tuple(removed)
        )
        # The database stack is in both layouts: one entry per stack, not per layout.
        merged.setdefault(sort_key([entry.stack, entry.logical_id, broadened, added, removed]), entry)
    return [merged[k] for k in sorted(merged)]


def diff_environment(old: Environment, new: Environment) -> Report:
    region = str(new.manifest.get("region", DEFAULT_REGION))
    changes: list[ResourceChange] = []
    stacks: list[StackChange] = []
    compared = 0
    for layout in dict.fromkeys((*old.layouts, *new.layouts)):
        before, after = old.layouts.get(layout, _EMPTY), new.layouts.get(layout, _EMPTY)
        for stack in sorted(before.stacks.keys() | after.stacks.keys()):
            compared += 1
            where = (new.name, layout, stack)
            defaults = (_defaults(before, stack), _defaults(after, stack))
            found = list(diff_stack(where, _resources(before, stack), _resources(after, stack), region, defaults))
            changes += found
            if stack not in before.stacks:
                stacks.append(StackChange(*where, "added"))
            elif stack not in after.stacks:
                stacks.append(StackChange(*where, "removed"))
            elif found:
                stacks.append(StackChange(*where, "modified"))
    changes = _annotate_moves(changes, old, new)
    notes = [*stack_api.imports(old, new), *stack_api.weak_references(old, new)]
    return Report(
        old="",
        new="",
        environments=(new.name,),
        stacks_compared=compared,
        changes=tuple(changes),
        stacks=tuple(stacks),
        exports=tuple(stack_api.exports(old, new)),
        security=tuple(_security(changes, old, new)),
        waves=tuple(stack_api.waves(old, new)),
        notes=tuple(notes),
    )


def diff_builds(old: Build, new: Build, environments: Sequence[str], old_label: str, new_label: str) -> Report:
    """The report for ``environments`` (each present in both builds)."""
    parts = [diff_environment(old.environments[e], new.environments[e]) for e in environments]
    return Report(
        old=old_label,
        new=new_label,
        environments=tuple(environments),
        stacks_compared=sum(p.stacks_compared for p in parts),
        changes=tuple(c for p in parts for c in p.changes),
        stacks=tuple(s for p in parts for s in p.stacks),
        exports=tuple(x for p in parts for x in p.exports),
        security=tuple(s for p in parts for s in p.security),
        waves=tuple(w for p in parts for w in p.waves),
        notes=tuple(n for p in parts for n in p.notes),
    )
