"""Serialise templates and documents to deterministic bytes (sorted keys, 2-space indent)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from troposphere import Template


@dataclass(frozen=True)
class StackArtifact:
    """One rendered stack: its layout, name, path in the environment folder, document and text."""

    layout: str
    name: str
    path: str
    template: dict[str, Any]
    text: str


def to_json(document: Any) -> str:
    """Stable JSON text: same input, same bytes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def template_dict(template: Template) -> dict[str, Any]:
    """A troposphere template as plain data (validates every resource's properties)."""
    result: dict[str, Any] = json.loads(template.to_json(indent=None, sort_keys=True))
    return result
