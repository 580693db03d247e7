"""Consequences of a resource change: replacement (provider schemas) and the fate of its data.

A property is compared at every create-only JSON pointer of the type's schema (nested pointers
and ``*`` array wildcards included), on canonical values, so a change deep inside a create-only
object counts, and a change beside it does not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.diff.model import REPLACEMENT_ORDER, Fate, Replacement
from ceap_templates.diff.normalise import canonical
from ceap_templates.diff.paths import MISSING
from ceap_templates.diff.schemas import TypeRules

#: Policies that keep the data of a deleted or replaced resource.
#: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
_RETAIN = frozenset({"Retain", "RetainExceptOnCreate"})
_SNAPSHOT = "Snapshot"


def _values(node: Any, tokens: tuple[str, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """``(concrete path, value)`` for a pointer; ``*`` walks every item of a list or object."""
    if not tokens:
        yield (), node
        return
    head, rest = tokens[0], tokens[1:]
    if head == "*":
        items: list[tuple[str | int, Any]] = []
        if isinstance(node, list):
            items = list(enumerate(node))
        elif isinstance(node, dict):
            items = list(node.items())
        for key, item in items:
            for path, value in _values(item, rest):
                yield (key, *path), value
        return
    if isinstance(node, dict) and head in node:
        for path, value in _values(node[head], rest):
            yield (head, *path), value
        return
    yield (head, *rest), MISSING


def _differs(old: Mapping[str, Any], new: Mapping[str, Any], tokens: tuple[str, ...]) -> bool:
    before = {p: canonical(v) if v is not MISSING else "\0absent" for p, v in _values(old, tokens)}
    after = {p: canonical(v) if v is not MISSING else "\0absent" for p, v in _values(new, tokens)}
    return before != after


def create_only_changes(
    rules: TypeRules, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[tuple[tuple[str, ...], Replacement]]:
    """Each create-only pointer whose value changed, with "always" or "conditional"."""
    found: list[tuple[tuple[str, ...], Replacement]] = []
    for tokens in rules.create_only:
        if _differs(old, new, tokens):
            found.append((tokens, "always"))
    for tokens in rules.conditional_create_only:
        if _differs(old, new, tokens):
            found.append((tokens, "conditional"))
    return found


def worst(levels: list[Replacement]) -> Replacement:
    return max(levels, key=REPLACEMENT_ORDER.__getitem__, default="never")


def custom_name_conflict(rules: TypeRules, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Replacing a resource that keeps its custom name fails: the new one cannot take the name."""
    if rules.name_property is None or rules.name_property not in new:
        return False
    return bool(canonical(old.get(rules.name_property)) == canonical(new[rules.name_property]))


def fate(rules: TypeRules, policy: Any) -> Fate:
    """What a delete (DeletionPolicy) or a replacement (UpdateReplacePolicy) does to the data."""
    if not rules.stateful:
        return "none"
    if policy in _RETAIN:
        return "orphaned"
    if policy == _SNAPSHOT:
        return "snapshot"
    return "data loss"
