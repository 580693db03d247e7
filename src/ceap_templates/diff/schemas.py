"""What cfn-lint's bundled CloudFormation resource provider schemas say about updates.

The schemas are read from cfn-lint's package data without importing cfn-lint (its import alone
takes more than half a second, the whole diff budget): ``providers/{region}.json`` maps a type to
a schema hash, ``resources/{hash}.json`` is the provider schema with ``createOnlyProperties``
(changing one replaces the resource) and ``conditionalCreateOnlyProperties`` (it may). The list
of stateful types is cfn-lint's own ``AdditionalSpecs/StatefulResources.json`` (rule I3011).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ceap_templates.errors import CeapError

DEFAULT_REGION = "us-east-1"


class SchemaDataError(CeapError):
    """cfn-lint's schema data cannot be found (a broken installation)."""


@dataclass(frozen=True)
class TypeRules:
    """Update behaviour of one resource type, as JSON-pointer token paths under ``Properties``."""

    type_name: str
    create_only: tuple[tuple[str, ...], ...]
    conditional_create_only: tuple[tuple[str, ...], ...]
    #: The property holding a custom physical name ("Name type"), when the type has one.
    name_property: str | None
    stateful: bool


@cache
def _data_dir() -> Path:
    spec = importlib.util.find_spec("cfnlint")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise SchemaDataError("cfn-lint is not installed: its provider schemas classify replacements")
    return Path(locations[0]) / "data"


@cache
def _providers(region: str) -> dict[str, str]:
    folder = _data_dir() / "schemas" / "providers"
    path = folder / f"{region}.json"
    if not path.is_file():
        path = folder / f"{DEFAULT_REGION}.json"
    try:
        mapping: dict[str, str] = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise SchemaDataError(f"{path}: cannot read cfn-lint's provider list: {exc}") from None
    return mapping


@cache
def stateful_types() -> frozenset[str]:
    """cfn-lint's StatefulResources list (resources whose deletion loses data)."""
    path = _data_dir() / "AdditionalSpecs" / "StatefulResources.json"
    try:
        return frozenset(json.loads(path.read_text("utf-8"))["ResourceTypes"])
    except (OSError, KeyError, ValueError) as exc:
        raise SchemaDataError(f"{path}: cannot read cfn-lint's stateful resource list: {exc}") from None


def _tokens(pointer: str) -> tuple[str, ...] | None:
    """``/properties/A/B`` -> ``("A", "B")`` (JSON-pointer escapes decoded); other roots -> None."""
    parts = pointer.split("/")[1:]
    if len(parts) < 2 or parts[0] != "properties":
        return None
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in parts[1:])


def _name_property(type_name: str, create_only: tuple[tuple[str, ...], ...]) -> str | None:
    """The custom-name property: ``{Kind}Name`` or ``Name``, top level and create-only.

    CloudFormation's "Name type" page: when such a name is set, an update that requires
    replacement fails (the new resource cannot take the name the old one still holds).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html
    """
    kind = type_name.rsplit("::", 1)[-1]
    top = {path[0] for path in create_only if len(path) == 1}
    for candidate in (f"{kind}Name", "Name"):
        if candidate in top:
            return candidate
    return None


@cache
def rules_for(type_name: str, region: str = DEFAULT_REGION) -> TypeRules:
    """The update rules of ``type_name``; a type without a schema (custom) has none."""
    schema: dict[str, Any] = {}
    digest = _providers(region).get(type_name)
    if digest is not None:
        path = _data_dir() / "schemas" / "resources" / f"{digest}.json"
        try:
            schema = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise SchemaDataError(f"{path}: cannot read the schema of {type_name}: {exc}") from None

    def paths(key: str) -> tuple[tuple[str, ...], ...]:
        return tuple(t for t in (_tokens(p) for p in schema.get(key, ())) if t is not None)

    create_only = paths("createOnlyProperties")
    return TypeRules(
        type_name=type_name,
        create_only=create_only,
        conditional_create_only=paths("conditionalCreateOnlyProperties"),
        name_property=_name_property(type_name, create_only),
        stateful=type_name in stateful_types(),
    )
