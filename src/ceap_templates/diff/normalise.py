"""Canonical forms: two values are the same behaviour exactly when their canonical forms are equal.

What CloudFormation and IAM treat as equal is folded away: key order (dict equality), scalar
spelling (``"10"`` vs ``10``, ``"true"`` vs ``true``: CloudFormation passes template scalars to
providers as strings), the order of IAM statements and of their actions, resources and principals
(a policy is a set of statements, each a set of grants), a single string vs a one-item list in
those places, and the order of ``DependsOn``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Statement keys whose value is a set of strings (or intrinsic functions).
_SET_KEYS = ("Action", "NotAction", "Resource", "NotResource")


def scalar(value: Any) -> Any:
    """``True`` -> ``"true"``, ``10`` / ``10.0`` -> ``"10"``; strings and ``None`` unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def sort_key(value: Any) -> str:
    """A total order on canonical values (their compact JSON)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _as_set(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    unique = {sort_key(v): v for v in (canonical(i) for i in items)}
    return [unique[k] for k in sorted(unique)]


def _principal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_set(v) for k, v in value.items()}
    return canonical(value)


def statement(value: Any) -> Any:
    """One IAM statement with its sets sorted (``Sid`` kept: it is part of the document)."""
    if not isinstance(value, dict):
        return canonical(value)
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key in _SET_KEYS:
            result[key] = _as_set(item)
        elif key in ("Principal", "NotPrincipal"):
            result[key] = _principal(item)
        else:
            result[key] = canonical(item)
    return result


def policy_document(value: dict[str, Any]) -> dict[str, Any]:
    """A policy document: its statements as a sorted list."""
    result = {k: canonical(v) for k, v in value.items() if k != "Statement"}
    statements = value["Statement"]
    items = statements if isinstance(statements, list) else [statements]
    result["Statement"] = sorted((statement(s) for s in items), key=sort_key)
    return result


def is_policy_document(value: Any) -> bool:
    return isinstance(value, dict) and "Statement" in value and isinstance(value["Statement"], list | dict)


def canonical(value: Any) -> Any:
    """The canonical form of any template value."""
    if isinstance(value, dict):
        if is_policy_document(value):
            return policy_document(value)
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return scalar(value)


def properties(resource: Any) -> dict[str, Any]:
    """A resource's ``Properties`` object, or an empty one when absent or not an object."""
    found = resource.get("Properties") if isinstance(resource, Mapping) else None
    return dict(found) if isinstance(found, dict) else {}


def with_defaults(node: Any, defaults: Mapping[str, Any]) -> Any:
    """``{"Ref": P}`` of a parameter with a default becomes ``{"Ref": P, "Default": value}``.

    The deploy uses the defaults (the manifest's parameter values), so a changed default changes
    every resource that refers to it; this makes that visible at the resource's own path.
    """
    if isinstance(node, dict):
        if len(node) == 1 and isinstance(node.get("Ref"), str) and node["Ref"] in defaults:
            return {"Ref": node["Ref"], "Default": defaults[node["Ref"]]}
        return {k: with_defaults(v, defaults) for k, v in node.items()}
    if isinstance(node, list):
        return [with_defaults(v, defaults) for v in node]
    return node


def resource(value: dict[str, Any]) -> dict[str, Any]:
    """A template resource in canonical form (``DependsOn`` as a sorted list)."""
    result = {k: canonical(v) for k, v in value.items() if k != "DependsOn"}
    if "DependsOn" in value:
        result["DependsOn"] = _as_set(value["DependsOn"])
    return result
