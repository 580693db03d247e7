"""The stack-refactoring route: batches of ``create-stack-refactor`` documents.

Refactoring moves a resource between stacks without touching it, and cannot change its
configuration (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-refactoring.html).
So a destination holds each moved resource **as the legacy stack defines it**; the update to the
consolidated templates (names qualified by the new stack) is a separate step after the last batch.
Within a destination, an import of an export that another moved resource provides becomes that
output's value (a stack cannot import its own export); an export still imported by a stack outside
the destination moves with its resource, under its literal legacy name. A source left without
resources keeps a placeholder (a stack needs one resource) until ``cleanup-legacy.sh`` deletes it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ceap_templates.layouts import CONSOLIDATED, LEGACY
from ceap_templates.validation.migration_check import counterparts
from ceap_templates.validation.model import Environment, Stack, find_key

#: AWS's limit of stacks in one stack refactor (sources and destinations together).
MAX_STACKS_PER_REFACTOR = 5
#: Largest ``TemplateBody`` CloudFormation accepts inline; larger ones go by ``TemplateURL``.
MAX_TEMPLATE_BODY_BYTES = 51_200
PLACEHOLDER_ID = "MigrationPlaceholder"
PLACEHOLDER = {"Type": "AWS::CloudFormation::WaitConditionHandle", "Properties": {}}


@dataclass(frozen=True)
class Move:
    source: str
    destination: str
    logical_id: str
    type: str


@dataclass
class Batch:
    """One ``create-stack-refactor``: the stacks' templates after it and the moves it makes."""

    number: int
    destination: str
    sources: tuple[str, ...]
    moves: list[Move]
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def stacks(self) -> tuple[str, ...]:
        return (self.destination, *self.sources)

    def mappings(self) -> list[dict[str, Any]]:
        return [
            {
                "Source": {"StackName": m.source, "LogicalResourceId": m.logical_id},
                "Destination": {"StackName": m.destination, "LogicalResourceId": m.logical_id},
            }
            for m in self.moves
        ]


def moves(env: Environment) -> tuple[list[Move], list[str]]:
    """Every legacy resource that moves to another stack, and those that cannot move (with why)."""
    legacy = {n: s.template for n, s in env.layouts[LEGACY].stacks.items()}
    new = {n: s.template for n, s in env.layouts[CONSOLIDATED].stacks.items()}
    found: list[Move] = []
    stay: list[str] = []
    for c in counterparts(legacy, new):
        if not c.ok or not c.new_stacks:
            stay.append(c.describe())
        elif c.new_stacks[0] != c.legacy_stack:
            found.append(Move(c.legacy_stack, c.new_stacks[0], c.logical_id, c.type))
    return found, stay


def _source_order(env: Environment, sources: set[str]) -> list[str]:
    """Legacy deploy order (producers first), so a batch's importers move with or after their producers."""
    order = [s for wave in env.layouts[LEGACY].waves for s in wave]
    # A stack that stays (the database) gives up its resources last: their importers have moved by then.
    staying = set(env.layouts[CONSOLIDATED].stacks)
    return sorted(sources, key=lambda s: (s in staying, order.index(s) if s in order else len(order), s))


def plan_batches(env: Environment, all_moves: list[Move]) -> list[Batch]:
    """Group the moves per destination, at most :data:`MAX_STACKS_PER_REFACTOR` stacks per batch."""
    batches: list[Batch] = []
    by_destination: dict[str, list[Move]] = {}
    for m in all_moves:
        by_destination.setdefault(m.destination, []).append(m)
    for destination in sorted(by_destination):
        ordered = _source_order(env, {m.source for m in by_destination[destination]})
        per_batch = MAX_STACKS_PER_REFACTOR - 1
        for start in range(0, len(ordered), per_batch):
            chunk = tuple(ordered[start : start + per_batch])
            chosen = [m for m in by_destination[destination] if m.source in chunk]
            batches.append(Batch(len(batches) + 1, destination, chunk, chosen))
    _fill_templates(env, batches)
    return batches


def _export_values(stack: Stack) -> dict[str, tuple[str, Any]]:
    """Export name -> (output title, value) of a legacy stack."""
    outputs = stack.template.get("Outputs", {})
    return {name: (title, outputs[title]["Value"]) for name, title in stack.exports.items()}


def _replace_imports(node: Any, stack: Stack, local: Mapping[str, Any]) -> Any:
    """``Fn::ImportValue`` of an export ``local`` provides -> that output's value."""
    if isinstance(node, dict):
        if set(node) == {"Fn::ImportValue"}:
            name = stack.resolve_text(node["Fn::ImportValue"])
            if name is not None and name in local:
                return copy.deepcopy(local[name])
        return {k: _replace_imports(v, stack, local) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_imports(v, stack, local) for v in node]
    return node


def _refers_to(node: Any, logical_ids: set[str]) -> bool:
    refs = {v for v in find_key(node, "Ref") if isinstance(v, str)}
    refs |= {(v if isinstance(v, str) else v[0]).split(".")[0] for v in find_key(node, "Fn::GetAtt")}
    return bool(refs & logical_ids)


def _fill_templates(env: Environment, batches: list[Batch]) -> None:
    """The template of every stack of every batch, as it stands after that batch."""
    legacy = env.layouts[LEGACY].stacks
    state: dict[str, dict[str, Any]] = {n: copy.deepcopy(dict(s.template)) for n, s in legacy.items()}
    located: dict[str, str] = {}  # logical id -> stack now holding it
    for stack in legacy.values():
        for logical_id in stack.resources:
            located[logical_id] = stack.name
    # Which legacy stacks import each export (their resources may have moved meanwhile).
    importers: dict[str, set[tuple[str, str]]] = {}
    for stack in legacy.values():
        for imp in stack.imports:
            if imp.name:
                importers.setdefault(imp.name, set()).add((stack.name, imp.resource))
    for batch in batches:
        dest = state.setdefault(batch.destination, {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}})
        dest.setdefault("Resources", {}).pop(PLACEHOLDER_ID, None)
        moved_ids = {m.logical_id for m in batch.moves}
        for source in batch.sources:
            src = state[source]
            stack = legacy[source]
            for name, value in stack.template.get("Parameters", {}).items():
                dest.setdefault("Parameters", {}).setdefault(name, copy.deepcopy(value))
            for m in (m for m in batch.moves if m.source == source):
                dest["Resources"][m.logical_id] = src["Resources"].pop(m.logical_id)
                located[m.logical_id] = batch.destination
            for name, (title, value) in _export_values(stack).items():
                if title in src.get("Outputs", {}) and _refers_to(value, moved_ids):
                    del src["Outputs"][title]
                    dest.setdefault("Outputs", {})[title] = {"Value": copy.deepcopy(value), "Export": {"Name": name}}
            if not src["Resources"]:
                src["Resources"][PLACEHOLDER_ID] = dict(PLACEHOLDER)
                src.pop("Outputs", None)
        # Imports inside the destination of exports it now defines become the values themselves.
        local = {
            o["Export"]["Name"]: o["Value"]
            for o in dest.get("Outputs", {}).values()
            if isinstance(o.get("Export", {}).get("Name"), str)
        }
        for logical_id, resource in list(dest["Resources"].items()):
            origin = legacy.get(_origin(logical_id, legacy) or "")
            if origin is not None:
                dest["Resources"][logical_id] = _replace_imports(resource, origin, local)
        # An export nobody outside the destination imports any longer is dropped with its output.
        for title, output in list(dest.get("Outputs", {}).items()):
            name = output.get("Export", {}).get("Name")
            outside = {s for s, r in importers.get(name, set()) if located.get(r, s) != batch.destination}
            if isinstance(name, str) and not outside:
                del dest["Outputs"][title]
        if not dest.get("Outputs"):
            dest.pop("Outputs", None)
        batch.templates = {name: copy.deepcopy(state[name]) for name in batch.stacks}


def _origin(logical_id: str, legacy: Mapping[str, Stack]) -> str | None:
    return next((n for n, s in legacy.items() if logical_id in s.resources), None)


def body(template: Mapping[str, Any]) -> str:
    """The template as sent to CloudFormation (compact, stable key order)."""
    return json.dumps(template, sort_keys=True, separators=(",", ":"))
