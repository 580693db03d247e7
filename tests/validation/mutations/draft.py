"""Mutations of a real build: each breaks one thing that exactly one rule must report.

A mutation picks its target with hypothesis (environment, stack, resource, export...), edits a
copy-on-write :class:`Draft` of one environment and names the rule meant to catch it. Resource
edits are made *per component*: the same logical id is edited in the consolidated and the legacy
layout alike (a defect comes from a component, which every layout places), so the layout-parity
rule MIG002 stays quiet unless the mutation targets the parity itself. After the edit the draft
re-derives the manifest fields a build would write (hashes, imports, exports...), so only the
mutation under test differs from a consistent build.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

from ceap_templates.validation.legacy_system import CONSOLIDATED, LEGACY, WORKFLOWS
from ceap_templates.validation.model import Build, Environment, Layout, Stack, build_from_environments, stack_from_text
from ceap_templates.validation.rules.manifest import derived_entry

from ..expected import template_json as to_json

Key = tuple[str, str]  # (layout, stack name)
#: A component site: ("platform", logical id) for consolidated+legacy, or (workflow stack, logical id).
Site = tuple[str, str]
PLATFORM = "platform"


@dataclass
class Draft:
    """Copy-on-write edits of one environment of a build."""

    env: Environment
    templates: dict[Key, dict[str, Any]] = field(default_factory=dict)
    manifest_copy: dict[str, Any] | None = None
    documents: dict[str, str] | None = None

    def template(self, layout: str, stack: str) -> dict[str, Any]:
        key = (layout, stack)
        if key not in self.templates:
            self.templates[key] = copy.deepcopy(dict(self.env.layouts[layout].stacks[stack].template))
        return self.templates[key]

    def manifest(self) -> dict[str, Any]:
        if self.manifest_copy is None:
            self.manifest_copy = copy.deepcopy(dict(self.env.manifest))
        return self.manifest_copy

    def holders(self, site: Site) -> list[Key]:
        """Every (layout, stack) defining the site's resource."""
        group, logical_id = site
        if group == PLATFORM:
            return [
                (layout, stack.name)
                for layout in (CONSOLIDATED, LEGACY)
                if layout in self.env.layouts
                for stack in self.env.layouts[layout].resource_index.get(logical_id, ())
            ]
        return [(WORKFLOWS, group)]

    def resources(self, site: Site) -> Iterator[tuple[Key, dict[str, Any]]]:
        """The editable resource at each holder of ``site``."""
        for key in self.holders(site):
            yield key, self.template(*key)["Resources"][site[1]]

    def finish(self, reseal: bool = True) -> Build:
        """A one-environment build with the edits; manifest re-derived unless ``reseal`` is false."""
        layouts = {}
        manifest = self.manifest() if (self.templates or self.manifest_copy) else dict(self.env.manifest)
        for name, layout in self.env.layouts.items():
            stacks = dict(layout.stacks)
            for (layout_name, stack_name), template in self.templates.items():
                if layout_name != name:
                    continue
                old = stacks[stack_name]
                new = stack_from_text(old.env, name, stack_name, old.path, to_json(template).encode("utf-8"))
                stacks[stack_name] = new
                if reseal:
                    manifest["layouts"][name]["stacks"][stack_name].update(derived_entry(new))
            entry = manifest["layouts"][name]
            waves = tuple(tuple(w) for w in entry.get("waves", []))
            layouts[name] = Layout(name, stacks, waves, tuple(entry.get("weakReferences", [])))
        documents = dict(self.env.documents) if self.documents is None else self.documents
        env = replace(self.env, manifest=manifest, layouts=layouts, documents=documents, folder=None, load_problems=())
        return build_from_environments([env])


# ---- template helpers -----------------------------------------------------------------------
def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def rename_resource(template: dict[str, Any], old: str, new: str) -> None:
    """Rename a logical id and every reference to it in the same template."""
    resources = template["Resources"]
    resources[new] = resources.pop(old)
    token = re.compile(r"\$\{" + re.escape(old) + r"([.}])")
    for node in list(walk(template)):
        for key, value in list(node.items()):
            if key == "Ref" and value == old:
                node[key] = new
            elif key == "Fn::GetAtt" and isinstance(value, list) and value and value[0] == old:
                value[0] = new
            elif key == "Fn::GetAtt" and isinstance(value, str) and value.startswith(old + "."):
                node[key] = new + value[len(old) :]
            elif key == "Fn::Sub":
                if isinstance(value, str):
                    node[key] = token.sub("${" + new + r"\1", value)
                elif isinstance(value, list) and isinstance(value[0], str):
                    value[0] = token.sub("${" + new + r"\1", value[0])
            elif key == "DependsOn":
                node[key] = (
                    new
                    if value == old
                    else [new if v == old else v for v in value]
                    if isinstance(value, list)
                    else value
                )


def rename_in_build(draft: Draft, key: Key, old: str, new: str) -> None:
    """Rename in one stack, as a build would: the manifest's weak references follow."""
    rename_resource(draft.template(*key), old, new)
    for weak in draft.manifest()["layouts"][key[0]].get("weakReferences", []):
        if weak["producer"] == key[1] and weak["resource"] == old:
            weak["resource"] = new


def rename_machine(draft: Draft, key: Key, resource: dict[str, Any], new: str) -> None:
    """Give a machine a new ``StateMachineName``, as a build would: the grants a machine with
    Distributed Maps has on its own ARNs (built from its name, issue 16) follow the name."""
    old = props_of(resource)["StateMachineName"]
    props_of(resource)["StateMachineName"] = new
    own = re.compile(r"(:stateMachine:|:execution:)" + re.escape(old) + r"(?=$|/)")
    for node in list(walk(draft.template(*key)["Resources"])):
        for name, value in list(node.items()):
            if name == "Fn::Sub" and isinstance(value, str):
                node[name] = own.sub(lambda m: m.group(1) + new, value)
            elif name == "Fn::Sub" and isinstance(value, list) and value and isinstance(value[0], str):
                value[0] = own.sub(lambda m: m.group(1) + new, value[0])


def states_of(definition: dict[str, Any]) -> dict[str, Any]:
    return definition.get("States", {})


# ---- candidate finders ----------------------------------------------------------------------
def sites(env: Environment, *types: str, where: Callable[[Stack, str, Any], bool] = lambda s, i, r: True) -> list[Site]:
    """Component sites of resources of ``types`` (platform sites once, workflow sites per stack)."""
    found: set[Site] = set()
    for layout in env.layouts.values():
        for stack in layout.stacks.values():
            for logical_id, resource in stack.of_type(*types):
                if where(stack, logical_id, resource):
                    found.add((stack.name if layout.name == WORKFLOWS else PLATFORM, logical_id))
    return sorted(found)


def props_of(resource: Any) -> dict[str, Any]:
    value: dict[str, Any] = resource.get("Properties", {})
    return value


@dataclass(frozen=True)
class Mutation:
    """One kind of defect.

    ``candidates`` lists the targets an environment offers; ``apply`` edits a draft for one target
    and returns the locations (``dev/CeapX``) at least one finding must name, or ``None``.
    """

    name: str
    rule: str
    candidates: Callable[[Environment], list[Any]]
    apply: Callable[[Draft, Any, st.DataObject], set[str] | None]
    reseal: bool = True


def _location(draft: Draft, key: Key) -> str:
    return draft.env.layouts[key[0]].stacks[key[1]].location


MACHINE = "AWS::StepFunctions::StateMachine"
FUNCTION = "AWS::Lambda::Function"
ROLE = "AWS::IAM::Role"


def _all_stacks(env: Environment) -> list[Key]:
    return sorted((layout.name, s) for layout in env.layouts.values() for s in layout.stacks)


def drop_resource(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for key in draft.holders(site):
        del draft.template(*key)["Resources"][site[1]]
    return {_location(draft, k) for k in draft.holders(site)}
