"""A build directory, parsed once: manifest + templates per environment and layout.

Every rule reads this model and nothing else, so ``ceap-templates validate`` works from the build
directory alone (what reviewers and CI see). The same loader accepts an in-memory mapping of
relative path -> text (:func:`load_environment_files`), which the property tests use to validate
generated configurations without touching the disk.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ceap_templates.errors import CeapError

MANIFEST = "manifest.json"
TEMPLATE_SUFFIX = ".template.json"
#: Sub tokens of the ``${Name}`` form (``${AWS::StackName}``, ``${DatabaseStackName}``).
_TOKEN = re.compile(r"\$\{([^}!]+)\}")


class BuildLoadError(CeapError):
    """The folder is not a build (no manifest); the CLI reports it as one line, exit 2."""


@dataclass(frozen=True)
class Import:
    """One ``Fn::ImportValue`` of a template, resolved with the parameters' defaults.

    ``name`` is ``None`` when the argument cannot be resolved statically (itself a finding).
    """

    resource: str
    name: str | None
    raw: Any


@dataclass(frozen=True)
class Stack:
    """One template of one layout of one environment."""

    env: str
    layout: str
    name: str
    path: str  # relative to the environment folder, as in the manifest
    template: Mapping[str, Any]
    size: int
    sha256: str
    file: Path | None = None

    @property
    def location(self) -> str:
        """``dev/CeapDatabase-dev`` or ``dev/legacy/CeapDatabase-dev`` (unique in a build)."""
        return f"{self.env}/{self.path.removesuffix(TEMPLATE_SUFFIX)}"

    @cached_property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        """Resources that are JSON objects (the loader reports any other as a problem)."""
        resources = self.template.get("Resources", {})
        if not isinstance(resources, dict):
            return {}
        return {k: v for k, v in resources.items() if isinstance(v, dict)}

    def of_type(self, *types: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(logical id, resource)`` of the given types, in template order."""
        for logical_id, resource in self.resources.items():
            if isinstance(resource, dict) and resource.get("Type") in types:
                yield logical_id, resource

    @cached_property
    def parameter_defaults(self) -> Mapping[str, Any]:
        parameters = self.template.get("Parameters", {})
        return {k: v.get("Default") for k, v in parameters.items() if isinstance(v, dict)}

    @cached_property
    def exports(self) -> Mapping[str, str]:
        """Export name (``${AWS::StackName}`` resolved) -> output title."""
        result: dict[str, str] = {}
        for title, output in self.template.get("Outputs", {}).items():
            export = output.get("Export") if isinstance(output, dict) else None
            if isinstance(export, dict):
                name = self.resolve_text(export.get("Name"))
                if name is not None:
                    result[name] = title
        return result

    @cached_property
    def imports(self) -> tuple[Import, ...]:
        """Every ``Fn::ImportValue`` under ``Resources`` and ``Outputs``."""
        found: list[Import] = []
        for section in ("Resources", "Outputs"):
            for title, node in self.template.get(section, {}).items():
                where = title if section == "Resources" else f"Outputs.{title}"
                for value in find_key(node, "Fn::ImportValue"):
                    found.append(Import(where, self.resolve_text(value), value))
        return tuple(found)

    def resolve_text(self, node: Any) -> str | None:
        """A string, or a ``Fn::Sub`` whose tokens are this stack's name or parameter defaults."""
        if isinstance(node, str):
            return node
        if isinstance(node, dict) and set(node) == {"Fn::Sub"}:
            body = node["Fn::Sub"]
            variables: Mapping[str, Any] = {}
            if isinstance(body, list) and len(body) == 2 and isinstance(body[1], dict):
                body, variables = body
            if not isinstance(body, str):
                return None
            known: dict[str, Any] = {"AWS::StackName": self.name, **self.parameter_defaults}
            for key, value in variables.items():
                known[key] = self.resolve_text(value)
            unresolved = [t for t in _TOKEN.findall(body) if not isinstance(known.get(t), str)]
            if unresolved:
                return None
            return _TOKEN.sub(lambda m: str(known[m.group(1)]), body)
        if isinstance(node, dict) and set(node) == {"Ref"} and isinstance(node["Ref"], str):
            value = self.parameter_defaults.get(node["Ref"])
            return value if isinstance(value, str) else None
        return None


@dataclass(frozen=True)
class Layout:
    """One layout of an environment: its stacks, its own waves and weak references."""

    name: str
    stacks: Mapping[str, Stack]
    waves: tuple[tuple[str, ...], ...]
    weak: tuple[Mapping[str, Any], ...]

    @cached_property
    def resource_index(self) -> Mapping[str, tuple[Stack, ...]]:
        """Logical id -> stacks defining it (more than one is itself a finding)."""
        index: dict[str, list[Stack]] = {}
        for stack in self.stacks.values():
            for logical_id in stack.resources:
                index.setdefault(logical_id, []).append(stack)
        return {k: tuple(v) for k, v in index.items()}


@dataclass(frozen=True)
class Environment:
    """Everything ``build/{env}/`` holds."""

    name: str
    manifest: Mapping[str, Any]
    layouts: Mapping[str, Layout]
    documents: Mapping[str, str] = field(default_factory=dict)
    folder: Path | None = None
    #: Problems met while loading (unreadable JSON, files the manifest does not list, ...).
    load_problems: tuple[tuple[str, str], ...] = ()
    #: Stacks the manifest lists whose template is missing or does not parse: rules comparing
    #: templates skip this environment (they would report every reference to it as a gap).
    unreadable: tuple[str, ...] = ()

    @property
    def retain_data(self) -> bool:
        return bool(self.manifest.get("retainData"))

    @property
    def explicit_names(self) -> bool:
        return bool(self.manifest.get("physicalNames", "explicit") == "explicit")

    def stacks(self) -> Iterator[Stack]:
        for layout in self.layouts.values():
            yield from layout.stacks.values()

    @cached_property
    def deploy_layouts(self) -> tuple[str, ...]:
        return tuple(self.manifest.get("deploy", {}).get("layouts", ()))

    def plan_name(self, layout: str) -> str:
        """Deploy plan of a layout: the product (``deploy``) or the layout's own waves."""
        return "deploy" if layout in self.deploy_layouts else layout

    def plan_stacks(self, plan: str) -> dict[str, Stack]:
        """Stacks deployed together by ``plan``."""
        layouts = self.deploy_layouts if plan == "deploy" else (plan,)
        return {n: s for name in layouts if name in self.layouts for n, s in self.layouts[name].stacks.items()}

    def plan_waves(self, plan: str) -> tuple[tuple[str, ...], ...]:
        if plan == "deploy":
            waves = self.manifest.get("deploy", {}).get("waves", [])
        else:
            waves = self.layouts[plan].waves if plan in self.layouts else []
        return tuple(tuple(w) for w in waves)

    def plans(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.plan_name(layout) for layout in self.layouts))


@dataclass(frozen=True)
class Build:
    """All environments of a build directory, plus extra documents to check (``--docs``)."""

    root: Path | None
    environments: Mapping[str, Environment]
    documents: Mapping[str, str] = field(default_factory=dict)

    def stacks(self) -> Iterator[Stack]:
        for env in self.environments.values():
            yield from env.stacks()


# ---- loading --------------------------------------------------------------------------------
def find_key(node: Any, key: str) -> Iterator[Any]:
    """Every value stored under ``key`` anywhere in ``node`` (document order, nested ones too)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from find_key(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from find_key(v, key)


def stack_from_text(env: str, layout: str, name: str, path: str, data: bytes, file: Path | None = None) -> Stack:
    """Parse one template (the only place templates are parsed)."""
    template = json.loads(data)
    if not isinstance(template, dict):
        raise ValueError("a template must be a JSON object")
    return Stack(env, layout, name, path, template, len(data), hashlib.sha256(data).hexdigest(), file)


def load_environment_files(
    files: Mapping[str, str | bytes], folder: Path | None = None, fallback_name: str = "?"
) -> Environment:
    """Build the model of one environment from its files (relative path -> content).

    Raises
    ------
    BuildLoadError
        No ``manifest.json`` or a manifest that is not JSON.
    """
    raw = files.get(MANIFEST)
    if raw is None:
        raise BuildLoadError(f"{folder or fallback_name}: no {MANIFEST} (run `ceap-templates build` first)")
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise BuildLoadError(f"{folder or fallback_name}/{MANIFEST}: not valid JSON: {exc}") from None
    _check_manifest_shape(manifest, f"{folder or fallback_name}/{MANIFEST}")
    env_name = str(manifest.get("environment") or fallback_name)
    problems: list[tuple[str, str]] = []
    unreadable: list[str] = []
    listed: set[str] = set()
    layouts: dict[str, Layout] = {}
    for layout_name, layout in manifest.get("layouts", {}).items():
        stacks: dict[str, Stack] = {}
        for stack_name, entry in layout.get("stacks", {}).items():
            path = str(entry.get("template", ""))
            listed.add(path)
            data = files.get(path)
            where = f"{env_name}/{path.removesuffix(TEMPLATE_SUFFIX) or stack_name}"
            if data is None:
                problems.append((where, f"manifest lists {path!r} for {stack_name} but the file is missing{_SKIPPED}"))
                unreadable.append(stack_name)
                continue
            blob = data.encode("utf-8") if isinstance(data, str) else data
            try:
                stack = stack_from_text(
                    env_name, layout_name, stack_name, path, blob, folder / path if folder else None
                )
            except ValueError as exc:
                problems.append((where, f"not a JSON template: {exc}{_SKIPPED}"))
                unreadable.append(stack_name)
                continue
            stacks[stack_name] = stack
            raw_resources = stack.template.get("Resources")
            if not isinstance(raw_resources, dict):
                problems.append((where, "template has no Resources object"))
            else:
                problems += [
                    (where, f"resource {k} is not a JSON object")
                    for k, v in raw_resources.items()
                    if not isinstance(v, dict)
                ]
        waves = tuple(tuple(w) for w in layout.get("waves", []))
        layouts[layout_name] = Layout(layout_name, stacks, waves, tuple(layout.get("weakReferences", [])))
    for path in sorted(files):
        if path.endswith(TEMPLATE_SUFFIX) and path not in listed:
            problems.append(
                (f"{env_name}/{path.removesuffix(TEMPLATE_SUFFIX)}", "template file not listed in manifest.json")
            )
    documents = {p: _text(v) for p, v in files.items() if p.endswith(".md")}
    return Environment(env_name, manifest, layouts, documents, folder, tuple(problems), tuple(unreadable))


#: Appended to the one finding of an unreadable template: why no other finding mentions it.
_SKIPPED = "; rules comparing templates skip this environment until it is readable"


def _check_manifest_shape(manifest: Any, where: str) -> None:
    """Raise :class:`BuildLoadError` (one line: file, field, allowed) unless the manifest has the shape rules read."""

    def fail(field_path: str, allowed: str) -> None:
        raise BuildLoadError(f"{where}: {field_path}: {allowed} (rebuild with `ceap-templates build`)")

    if not isinstance(manifest, dict):
        fail("(top level)", "must be a JSON object")
    layouts = manifest.get("layouts", {})
    if not isinstance(layouts, dict):
        fail("layouts", f"must be an object of layout name -> {{stacks, waves}}, got {type(layouts).__name__}")
    for name, layout in layouts.items():
        if not isinstance(layout, dict):
            fail(f"layouts.{name}", "must be an object with stacks and waves")
        stacks = layout.get("stacks", {})
        if not isinstance(stacks, dict):
            fail(f"layouts.{name}.stacks", "must be an object of stack name -> entry")
        for stack, entry in stacks.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("template"), str):
                fail(f"layouts.{name}.stacks.{stack}", "must be an object with a 'template' path")
        _check_waves(layout.get("waves", []), f"layouts.{name}.waves", fail)
        if not isinstance(layout.get("weakReferences", []), list):
            fail(f"layouts.{name}.weakReferences", "must be a list of objects")
    deploy = manifest.get("deploy", {})
    if not isinstance(deploy, dict):
        fail("deploy", "must be an object with layouts and waves")
    if not all(isinstance(x, str) for x in _list_or_fail(deploy.get("layouts", []), "deploy.layouts", fail)):
        fail("deploy.layouts", "must be a list of layout names")
    _check_waves(deploy.get("waves", []), "deploy.waves", fail)


def _list_or_fail(value: Any, field_path: str, fail: Any) -> list[Any]:
    if not isinstance(value, list):
        fail(field_path, f"must be a list, got {type(value).__name__}")
    return list(value)


def _check_waves(waves: Any, field_path: str, fail: Any) -> None:
    for wave in _list_or_fail(waves, field_path, fail):
        if not isinstance(wave, list) or not all(isinstance(s, str) for s in wave):
            fail(field_path, "must be a list of waves, each a list of stack names")


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _read_folder(folder: Path) -> dict[str, bytes]:
    """The files a build writes: manifest, templates and Markdown, by path relative to ``folder``."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and (p.name == MANIFEST or p.name.endswith((TEMPLATE_SUFFIX, ".md")))
    }


def load_build(root: str | Path, documents: Mapping[str, str] | None = None) -> Build:
    """Load ``build/`` (one sub-folder per environment) or a single ``build/{env}/`` folder.

    Parameters
    ----------
    root:
        The build directory.
    documents:
        Extra Markdown documents (path -> text) for the documentation rule.

    Raises
    ------
    BuildLoadError
        When the folder holds no environment build.
    """
    folder = Path(root)
    if not folder.is_dir():
        raise BuildLoadError(f"{folder}: not a directory (run `ceap-templates build` first)")
    # A single environment folder, or a build folder with one sub-folder per environment.
    folders = [folder] if (folder / MANIFEST).is_file() else sorted(p.parent for p in folder.glob(f"*/{MANIFEST}"))
    if not folders:
        raise BuildLoadError(f"{folder}: no */{MANIFEST} found (run `ceap-templates build` first)")
    environments: dict[str, Environment] = {}
    for env_folder in folders:
        env = load_environment_files(_read_folder(env_folder), env_folder, env_folder.name)
        environments[env.name] = env
    return Build(folder, environments, dict(documents or {}))


def build_from_environments(environments: list[Environment], documents: Mapping[str, str] | None = None) -> Build:
    """A :class:`Build` of in-memory environments (tests, generated configurations)."""
    return Build(None, {e.name: e for e in environments}, dict(documents or {}))
