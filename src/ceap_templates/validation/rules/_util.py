"""Small helpers the rule modules share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ceap_templates.validation.model import Stack


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def target(node: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at (same template), else ``None``."""
    if isinstance(node, dict) and len(node) == 1:
        if "Ref" in node and isinstance(node["Ref"], str):
            return node["Ref"]
        if "Fn::GetAtt" in node:
            value = node["Fn::GetAtt"]
            parts = value.split(".", 1) if isinstance(value, str) else value
            if isinstance(parts, list) and parts and isinstance(parts[0], str):
                return parts[0]
    return None


def task_function(task: Mapping[str, Any], substitutions: Mapping[str, Any]) -> Any:
    """The ``FunctionName`` a Lambda Task invokes, its ``${placeholder}`` replaced by the machine's substitution."""
    name = str((task.get("Parameters") or {}).get("FunctionName", ""))
    return substitutions.get(name.removeprefix("${").removesuffix("}"), name)


def resolve_import(stack: Stack, node: Any, siblings: Mapping[str, Stack], depth: int = 0) -> tuple[Stack, Any]:
    """Follow ``Fn::ImportValue`` to the exporting sibling's output value (at most a few hops).

    Returns the stack the value lives in and the value: ``node`` itself when it imports nothing or
    no sibling exports the name.
    """
    if depth < 4 and isinstance(node, dict) and set(node) == {"Fn::ImportValue"}:
        name = stack.resolve_text(node["Fn::ImportValue"])
        for other in siblings.values():
            title = other.exports.get(name) if name else None
            if title is not None:
                return resolve_import(other, other.template["Outputs"][title].get("Value"), siblings, depth + 1)
    return stack, node


def target_of_type(stack: Stack, node: Any, type_: str) -> tuple[str, Mapping[str, Any]] | None:
    """``(logical id, resource)`` when ``node`` refers to a resource of ``type_`` in ``stack``."""
    logical_id = target(node)
    resource = stack.resources.get(logical_id) if logical_id else None
    if resource is not None and resource.get("Type") == type_:
        return str(logical_id), resource
    return None


def props(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    value = resource.get("Properties", {})
    return value if isinstance(value, dict) else {}
