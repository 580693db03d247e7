"""Edits of the real build for the diff tests: copy-on-write, one template at a time.

``ROOT/build`` is the committed build (CI proves it equals a fresh ``ceap-templates build``). An
edit deep-copies only the template it changes, so hypothesis can draw hundreds of changes cheaply.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from ceap_templates.diff.engine import diff_builds
from ceap_templates.diff.model import Report
from ceap_templates.validation.model import Build, Stack, load_build

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
#: Policies that keep a resource's data when CloudFormation deletes it, from the DeletionPolicy page:
#: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
KEEPS_DATA = ("Retain", "RetainExceptOnCreate", "Snapshot")
#: Stateful types of the build that the tests rename or remove (cfn-lint's StatefulResources list:
#: cfnlint/data/AdditionalSpecs/StatefulResources.json lists each of them).
STATEFUL = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::KMS::Key")

Key = tuple[str, str, str]  # environment, layout, stack


@cache
def real_build() -> Build:
    return load_build(BUILD)


def stacks(build: Build | None = None) -> list[Key]:
    build = build or real_build()
    return [
        (env.name, layout.name, name)
        for env in build.environments.values()
        for layout in env.layouts.values()
        for name in layout.stacks
    ]


def stack(key: Key, build: Build | None = None) -> Stack:
    env, layout, name = key
    return (build or real_build()).environments[env].layouts[layout].stacks[name]


def resources_of(*types: str) -> list[tuple[Key, str]]:
    """``(stack key, logical id)`` of every resource of ``types`` in the real build."""
    return [(key, lid) for key in stacks() for lid, _ in stack(key).of_type(*types)]


def edit(key: Key, change: Callable[[dict[str, Any]], None], build: Build | None = None) -> Build:
    """A build equal to ``build`` except that ``change`` edited a copy of one template."""
    build = build or real_build()
    env_name, layout_name, name = key
    env = build.environments[env_name]
    layout = env.layouts[layout_name]
    template = copy.deepcopy(dict(layout.stacks[name].template))
    change(template)
    new_stack = Stack(env_name, layout_name, name, layout.stacks[name].path, template, 0, "")
    new_layout = replace(layout, stacks={**layout.stacks, name: new_stack})
    new_env = replace(env, layouts={**env.layouts, layout_name: new_layout})
    return replace(build, environments={**build.environments, env_name: new_env})


def remove_stack(key: Key, build: Build | None = None) -> Build:
    """The build without one stack: gone from its layout, its waves and the deploy plan."""
    build = build or real_build()
    env_name, layout_name, name = key
    env = build.environments[env_name]
    layout = env.layouts[layout_name]
    waves = tuple(w for w in (tuple(s for s in wave if s != name) for wave in layout.waves) if w)
    new_layout = replace(layout, stacks={k: v for k, v in layout.stacks.items() if k != name}, waves=waves)
    manifest = copy.deepcopy(dict(env.manifest))
    deploy = manifest.get("deploy", {})
    deploy["waves"] = [w for w in ([s for s in wave if s != name] for wave in deploy.get("waves", [])) if w]
    new_env = replace(env, manifest=manifest, layouts={**env.layouts, layout_name: new_layout})
    return replace(build, environments={**build.environments, env_name: new_env})


def diff(old: Build, new: Build) -> Report:
    return diff_builds(old, new, sorted(old.environments), "old", "new")


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def mentions(node: Any, logical_id: str) -> bool:
    """``node`` refers to ``logical_id`` (Ref, GetAtt, DependsOn or a ${...} in a Sub)."""
    text = json.dumps(node)
    return any(
        token in text
        for token in (f'"Ref": "{logical_id}"', f'["{logical_id}", ', f'"{logical_id}"', "${" + logical_id)
    )


def rename_references(node: Any, old: str, new: str) -> Any:
    """``node`` with every reference to ``old`` pointing at ``new``."""
    if isinstance(node, dict):
        result: dict[str, Any] = {}
        for key, value in node.items():
            if key == "Ref" and value == old:
                result[key] = new
            elif key == "Fn::GetAtt" and isinstance(value, list) and value and value[0] == old:
                result[key] = [new, *value[1:]]
            elif key == "DependsOn":
                items = value if isinstance(value, list) else [value]
                renamed = [new if v == old else v for v in items]
                result[key] = renamed if isinstance(value, list) else renamed[0]
            else:
                result[key] = rename_references(value, old, new)
        return result
    if isinstance(node, list):
        return [rename_references(v, old, new) for v in node]
    if isinstance(node, str):
        return node.replace("${" + old + "}", "${" + new + "}").replace("${" + old + ".", "${" + new + ".")
    return node
