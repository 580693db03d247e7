"""The manifest describes the templates beside it (docs/design.md 9); deploy scripts trust it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation.model import Build, Environment, Stack
from ceap_templates.validation.policy import MAX_INLINE_TEMPLATE_BYTES
from ceap_templates.validation.rule import Hit, Rule, hit


def derived_entry(stack: Stack) -> dict[str, Any]:
    """What the manifest must say about ``stack``, computed from its template alone."""
    return {
        "template": stack.path,
        "sha256": stack.sha256,
        "bytes": stack.size,
        "uploadToS3": stack.size > MAX_INLINE_TEMPLATE_BYTES,
        "parameters": dict(sorted(stack.parameter_defaults.items())),
        "exports": sorted(stack.exports),
        "imports": [
            {"export": export, "from": producer}
            for producer, export in sorted({(str(_producer(stack, i.raw)), i.name) for i in stack.imports if i.name})
        ],
        "resourceCount": len(stack.resources),
        "resources": dict(sorted(Counter(str(r.get("Type")) for r in stack.resources.values()).items())),
    }


def _producer(stack: Stack, raw: Any) -> str | None:
    """The stack an import names through its ``${XStackName}`` parameter."""
    body = raw.get("Fn::Sub") if isinstance(raw, dict) else None
    if isinstance(body, str) and body.startswith("${") and "}" in body:
        default = stack.parameter_defaults.get(body[2 : body.index("}")])
        return default if isinstance(default, str) else None
    return None


def _unique_imports(entry: Mapping[str, Any]) -> list[Any]:
    """Manifest imports as a sorted set (a template may import one export several times)."""
    seen = {(str(i.get("from")), str(i.get("export"))) for i in entry.get("imports", []) if isinstance(i, dict)}
    return sorted(seen)


def _waves(env: Environment, plan: str, expected: set[str], where: str) -> Iterator[Hit]:
    placed = Counter(s for wave in env.plan_waves(plan) for s in wave)
    for name in sorted(expected - set(placed)):
        yield Hit(f"{env.name}/manifest.json", where, f"stack {name} is in no deploy wave")
    for name, count in sorted(placed.items()):
        if name not in expected:
            yield Hit(f"{env.name}/manifest.json", where, f"wave names {name}, which this plan does not build")
        elif count > 1:
            yield Hit(f"{env.name}/manifest.json", where, f"stack {name} is in {count} waves")


def check_manifest(build: Build) -> Iterator[Hit]:
    """Every manifest entry matches its template; every stack is in exactly one wave."""
    for env in build.environments.values():
        for location, message in env.load_problems:
            yield Hit(location, "-", message)
        if env.unreadable:
            continue  # comparing the manifest with a partial set of templates reports only the gap
        if env.folder is not None and env.folder.name != env.name:
            yield Hit(f"{env.name}/manifest.json", "environment", f"says {env.name!r} but sits in {env.folder.name}/")
        for layout_name, layout in env.layouts.items():
            entries = env.manifest["layouts"][layout_name]["stacks"]
            for name, stack in layout.stacks.items():
                entry = entries[name]
                derived = derived_entry(stack)
                for key, value in derived.items():
                    listed = entry.get(key)
                    if key == "imports":
                        same = _unique_imports(entry) == _unique_imports(derived)
                    elif key == "exports":
                        same = sorted(listed or []) == value
                    else:
                        same = listed == value
                    if not same:
                        yield hit(
                            stack, "-", f"manifest.json {key} differs from the template: {_difference(listed, value)}"
                        )
                expected_path = ("legacy/" if layout_name == "legacy" else "") + f"{name}.template.json"
                if stack.path != expected_path:
                    yield hit(stack, "-", f"template path {stack.path!r}; expected {expected_path!r}")
            if env.plan_name(layout_name) == layout_name:
                yield from _waves(env, layout_name, set(layout.stacks), f"layouts.{layout_name}.waves")
        if env.deploy_layouts:
            yield from _waves(env, "deploy", set(env.plan_stacks("deploy")), "deploy.waves")


def _difference(listed: Any, derived: Any) -> str:
    """What the manifest lacks and what it has in excess (lists), or both values."""
    if isinstance(listed, list) and isinstance(derived, list):
        listed_text = {json.dumps(i, sort_keys=True) for i in listed}
        derived_text = {json.dumps(i, sort_keys=True) for i in derived}
        lacks, extra = sorted(derived_text - listed_text), sorted(listed_text - derived_text)
        return f"lacks {', '.join(lacks) or 'nothing'}; lists in excess {', '.join(extra) or 'nothing'}"
    return f"manifest {_short(listed)}, template {_short(derived)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 90 else text[:87] + "..."


RULES = (
    Rule(
        "MAN001",
        "manifest.json matches the templates (sha256, bytes, parameters, exports, imports, resource counts, "
        "uploadToS3) and places every stack in exactly one wave",
        "docs/design.md 9 (deploy.sh deploys the manifest's waves and skips unchanged hashes)",
        check_manifest,
        reads_incomplete=True,
    ),
)
