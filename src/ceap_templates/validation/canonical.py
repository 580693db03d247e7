"""Placement-free form of template values, to compare one resource across layouts.

The same component gives the same resource in every layout; only *where* it sits differs: a value
from another stack is ``Fn::ImportValue`` in one layout and ``Ref``/``GetAtt`` in another, and
names derived from the stack name carry a different stack. :class:`Resolver` follows each import to
the producer's output value and replaces the own stack name by ``{Stack}``, so two resources are
equivalent exactly when their canonical forms are equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation.model import Stack

_TOKEN = re.compile(r"\$\{([^}!]+)\}")
STACK_TOKEN = "{Stack}"
PRODUCER_TOKEN = "{Producer}"


def is_stack_parameter(name: str) -> bool:
    """``{Producer}StackName`` parameters carry placement, not configuration (docs/design.md 5)."""
    return name.endswith("StackName")


class Resolver:
    """Canonical values for the stacks of one deploy plan (imports resolve among them).

    Parameters
    ----------
    stacks:
        Stack name -> stack; every export any of them imports should be among these.
    """

    def __init__(self, stacks: Mapping[str, Stack]) -> None:
        self.stacks = dict(stacks)
        self._exports: dict[str, tuple[Stack, str]] = {}
        for stack in self.stacks.values():
            for name, title in stack.exports.items():
                self._exports.setdefault(name, (stack, title))

    def export(self, name: str | None) -> tuple[Stack, Any] | None:
        """The producer stack and output value of an export name, if some stack exports it."""
        if name is None or name not in self._exports:
            return None
        stack, title = self._exports[name]
        return stack, stack.template["Outputs"][title].get("Value")

    def canonical(self, stack: Stack, node: Any) -> Any:
        """The placement-free form of ``node`` as written in ``stack``."""
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, value),) = node.items()
                special = self._intrinsic(stack, key, value)
                if special is not None:
                    return special
            return {k: self.canonical(stack, v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.canonical(stack, v) for v in node]
        if isinstance(node, str):
            if not stack.name:
                return node
            # Bucket names carry the stack name lowercase (S3 allows no capitals).
            return node.replace(stack.name, STACK_TOKEN).replace(stack.name.lower(), STACK_TOKEN.lower())
        return node

    def _intrinsic(self, stack: Stack, key: str, value: Any) -> Any:
        if key == "Ref" and isinstance(value, str):
            if value in stack.resources:
                return ("Ref", value)
            if value.startswith("AWS::"):
                return ("Pseudo", value)
            return ("StackName",) if is_stack_parameter(value) else ("Parameter", value)
        if key == "Fn::GetAtt":
            parts = value.split(".", 1) if isinstance(value, str) else list(value)
            if len(parts) == 2 and all(isinstance(p, str) for p in parts):
                return ("GetAtt", parts[0], parts[1])
        if key == "Fn::ImportValue":
            name = stack.resolve_text(value)
            found = self.export(name)
            if found is not None:
                producer, output_value = found
                return self.canonical(producer, output_value)
            return ("ImportValue", name)
        if key == "Fn::Sub":
            body, variables = (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else (value, {})
            if isinstance(body, str) and isinstance(variables, dict):
                text = _TOKEN.sub(
                    lambda m: "${" + PRODUCER_TOKEN + "}" if is_stack_parameter(m.group(1)) else m.group(0), body
                )
                ids = tuple(sorted({t.split(".", 1)[0] for t in _TOKEN.findall(body)} & set(stack.resources)))
                canonical_vars = {k: self.canonical(stack, v) for k, v in sorted(variables.items())}
                return ("Sub", self.canonical(stack, text), canonical_vars, ids)
        return None


def referenced_ids(canonical: Any) -> Iterator[str]:
    """Logical ids a canonical value refers to (Ref, GetAtt, Sub tokens)."""
    if isinstance(canonical, tuple):
        if canonical and canonical[0] in ("Ref", "GetAtt"):
            yield canonical[1]
        elif canonical and canonical[0] == "Sub":
            yield from canonical[3]
            yield from referenced_ids(canonical[2])
    elif isinstance(canonical, dict):
        for value in canonical.values():
            yield from referenced_ids(value)
    elif isinstance(canonical, list):
        for value in canonical:
            yield from referenced_ids(value)


def unresolved_imports(canonical: Any) -> Iterator[str | None]:
    """Export names of imports the resolver could not follow to an output."""
    if isinstance(canonical, tuple):
        if canonical and canonical[0] == "ImportValue":
            yield canonical[1]
        elif canonical and canonical[0] == "Sub":
            yield from unresolved_imports(canonical[2])
    elif isinstance(canonical, dict):
        for value in canonical.values():
            yield from unresolved_imports(value)
    elif isinstance(canonical, list):
        for value in canonical:
            yield from unresolved_imports(value)


def first_difference(left: Any, right: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first path at which two canonical values differ, with both values there."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                return f"{path}.{key}".lstrip("."), left.get(key, "<absent>"), right.get(key, "<absent>")
            found = first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if left == right else (path.lstrip(".") or "(whole)", left, right)


def show(value: Any, limit: int = 80) -> str:
    """A short, readable rendering of a (canonical) value for a finding message."""
    if isinstance(value, tuple) and value:
        if value[0] == "Ref":
            text = f"Ref {value[1]}"
        elif value[0] == "GetAtt":
            text = f"GetAtt {value[1]}.{value[2]}"
        elif value[0] == "Sub":
            text = f"Sub {value[1]!r}"
        else:
            text = " ".join(str(v) for v in value)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
