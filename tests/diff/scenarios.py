"""Fixed changes of the real build whose Markdown is kept under ``golden/`` (reviewed by eye).

Regenerate after an intended change of the rendering: ``python -m tests.diff.regenerate``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ceap_templates.diff import render_markdown
from ceap_templates.diff.engine import diff_builds
from ceap_templates.validation.model import Build

from . import kit

GOLDEN = Path(__file__).with_name("golden")


def _key_schema_and_export(build: Build) -> Build:
    def change(template: dict[str, Any]) -> None:
        template["Resources"]["CandidatesTableB438AE0C"]["Properties"]["KeySchema"][0]["AttributeName"] = "tenantId"
        template["Outputs"].pop("CandidatesTableName")

    return kit.edit(("dev", "consolidated", "CeapDatabase-dev"), change, build)


def _workflow_change(build: Build) -> Build:
    def change(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        resources["ETLFunction"]["Properties"]["MemorySize"] = 2048
        resources["ETLFunction"]["Properties"]["Code"]["S3Key"] = "lambda/ceap-handlers-" + "0" * 64 + ".zip"
        states = resources["WorkflowStateMachine"]["Properties"]["Definition"]["States"]
        states["Audit"] = {"Type": "Pass", "End": True}
        states["ETLPlan"]["Retry"][0]["MaxAttempts"] = 4
        statement = resources["ETLFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
        statement["Action"].append("s3:DeleteBucket")
        bucket = resources["WorkflowBucket"]["Properties"]
        bucket["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] = False

    return kit.edit(("staging", "workflows", "CeapWorkflow-batch"), change, build)


def _rename_and_stack_removed(build: Build) -> Build:
    key = ("prod", "consolidated", "CeapDatabase-dev".replace("dev", "prod"))

    def rename(template: dict[str, Any]) -> None:
        old, new = "ScoreCacheTable789CCB88", "ScoreCacheTableV2"
        resources = {new if k == old else k: v for k, v in template["Resources"].items()}
        template["Resources"] = kit.rename_references(resources, old, new)
        template["Outputs"] = kit.rename_references(template["Outputs"], old, new)

    build = kit.edit(key, rename, build)
    return kit.remove_stack(("prod", "workflows", "CeapWorkflow-realtime"), build)


SCENARIOS: dict[str, Callable[[Build], Build]] = {
    "identical": lambda build: build,
    "table-key-schema-and-export": _key_schema_and_export,
    "workflow-code-iam-state-machine": _workflow_change,
    "rename-and-stack-removed": _rename_and_stack_removed,
}


# The handler bundle's key carries the sha256 of lambdas/: masked so that a golden changes only with the rendering.
_BUNDLE_HASH = re.compile(r"(ceap-handlers-)(?!0{64})[0-9a-f]{64}")


def render(name: str) -> str:
    old = kit.real_build()
    new = SCENARIOS[name](old)
    text = render_markdown.render(diff_builds(old, new, sorted(old.environments), "origin/main", "build"))
    return _BUNDLE_HASH.sub(r"\1<sha256 of lambdas/>", text)
