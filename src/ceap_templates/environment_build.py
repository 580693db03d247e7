"""Build everything of one environment in memory: templates, manifest, architecture page."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ceap_templates import __version__
from ceap_templates.alerting import alerts_summary
from ceap_templates.architecture import architecture_markdown
from ceap_templates.code import CodeArtifacts
from ceap_templates.configuration import Environment
from ceap_templates.constants import MAX_INLINE_TEMPLATE_BYTES
from ceap_templates.layouts import CONSOLIDATED, LEGACY, WORKFLOWS, Product, build_layouts
from ceap_templates.references import AssembledLayout
from ceap_templates.render import StackArtifact, template_dict, to_json
from ceap_templates.security import with_checkov_skips

#: Folder (relative to the environment folder) of each layout's templates.
LAYOUT_FOLDERS: Mapping[str, str] = {CONSOLIDATED: "", LEGACY: "legacy/", WORKFLOWS: ""}


@dataclass(frozen=True)
class EnvironmentBuild:
    """Everything ``build/{env}/`` holds, as text keyed by relative path."""

    env: Environment
    layouts: Mapping[str, AssembledLayout]
    stacks: tuple[StackArtifact, ...]
    files: Mapping[str, str]


def build_environment(env: Environment, code: CodeArtifacts) -> EnvironmentBuild:
    """Pure: configuration + code addresses -> the environment's artifacts."""
    product = build_layouts(env, code)
    layouts = product.layouts
    stacks: list[StackArtifact] = []
    for layout, assembled in layouts.items():
        for name, draft in assembled.stacks.items():
            document = with_checkov_skips(template_dict(draft.template))
            path = f"{LAYOUT_FOLDERS[layout]}{name}.template.json"
            stacks.append(StackArtifact(layout, name, path, document, to_json(document)))
    manifest = build_manifest(env, code, product, stacks)
    files = {s.path: s.text for s in stacks}
    files["manifest.json"] = to_json(manifest)
    files["ARCHITECTURE.md"] = architecture_markdown(env, layouts, stacks, product.deploy_waves)
    return EnvironmentBuild(env, layouts, tuple(stacks), files)


def _parameters(template: Mapping[str, Any]) -> dict[str, Any]:
    return {name: p.get("Default") for name, p in sorted(template.get("Parameters", {}).items())}


def _resource_counts(template: Mapping[str, Any]) -> dict[str, int]:
    return dict(sorted(Counter(r["Type"] for r in template.get("Resources", {}).values()).items()))


def build_manifest(
    env: Environment,
    code: CodeArtifacts,
    product: Product,
    stacks: list[StackArtifact],
) -> dict[str, Any]:
    """Stacks, parameters with values, waves, exports and imports (from the assembly), resource counts, SHA-256."""
    manifest_layouts: dict[str, Any] = {}
    for layout, assembled in product.layouts.items():
        entries: dict[str, Any] = {}
        for stack in (s for s in stacks if s.layout == layout):
            data = stack.text.encode("utf-8")
            imports = [
                {"export": f"{e.producer}-{e.export}", "from": e.producer}
                for e in assembled.edges
                if e.consumer == stack.name
            ]
            entries[stack.name] = {
                "template": stack.path,
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "uploadToS3": len(data) > MAX_INLINE_TEMPLATE_BYTES,
                "parameters": _parameters(stack.template),
                "exports": list(assembled.exports[stack.name]),
                "imports": imports,
                "resourceCount": len(stack.template.get("Resources", {})),
                "resources": _resource_counts(stack.template),
            }
        manifest_layouts[layout] = {
            "stacks": entries,
            "waves": [list(w) for w in assembled.waves],
            "weakReferences": [
                {
                    "consumer": w.consumer,
                    "producer": w.producer,
                    "resource": w.resource,
                    "property": w.property,
                    "expected": w.expected,
                }
                for w in assembled.weak
            ],
        }
    return {
        "alerts": alerts_summary(env),
        "generator": f"ceap-templates {__version__}",
        "environment": env.name,
        "account": env.account,
        "region": env.region,
        "retainData": env.retain_data,
        "physicalNames": env.physical_names,
        "code": {
            "artifactBucket": env.artifact_bucket,
            "lambdaPackage": code.lambda_key,
            "glueScript": code.glue_script_key,
            "glueLibrary": code.glue_library_key,
        },
        "deploy": {"layouts": [CONSOLIDATED, WORKFLOWS], "waves": [list(w) for w in product.deploy_waves]},
        "layouts": manifest_layouts,
    }
