"""Names (docs/design.md 3): every physical name follows the naming convention (validation.names), within AWS limits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation import names
from ceap_templates.validation.legacy_system import CONSOLIDATED, LEGACY, WORKFLOWS
from ceap_templates.validation.model import Build, Environment, Stack
from ceap_templates.validation.rule import Hit, Rule, hit

#: (resource type, name property) -> kind of :data:`ceap_templates.validation.policy.NAME_LIMITS`.
NAMED: Mapping[tuple[str, str], str] = {
    ("AWS::Lambda::Function", "FunctionName"): "lambda",
    ("AWS::DynamoDB::Table", "TableName"): "table",
    ("AWS::StepFunctions::StateMachine", "StateMachineName"): "state_machine",
    ("AWS::S3::Bucket", "BucketName"): "bucket",
    ("AWS::SQS::Queue", "QueueName"): "queue",
    ("AWS::Events::Rule", "Name"): "rule",
    ("AWS::Pipes::Pipe", "Name"): "pipe",
    ("AWS::Glue::Job", "Name"): "glue_job",
    ("AWS::Glue::SecurityConfiguration", "Name"): "glue_job",
    ("AWS::Logs::LogGroup", "LogGroupName"): "log_group",
    ("AWS::IAM::Role", "RoleName"): "role",
    ("AWS::SNS::Topic", "TopicName"): "topic",
    ("AWS::CloudWatch::Alarm", "AlarmName"): "alarm",
}


def name_text(value: Any) -> str | None:
    """A literal name or the string of a ``Fn::Sub`` (``${AWS::AccountId}`` kept); else ``None``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return str(value["Fn::Sub"])
    return None


def physical_names(stack: Stack) -> Iterator[tuple[str, str, str, str]]:
    """``(logical id, property, kind, name)`` of every literal physical name in ``stack``."""
    for logical_id, resource in stack.resources.items():
        props = resource.get("Properties", {}) if isinstance(resource, dict) else {}
        for (type_, prop), kind in NAMED.items():
            if resource.get("Type") == type_ and prop in props:
                text = name_text(props[prop])
                if text is not None:
                    yield logical_id, prop, kind, text


def _stack_names(env: Environment, layout: str) -> set[str] | None:
    return names.platform_stacks(env.name, layout) if layout in (CONSOLIDATED, LEGACY) else None


# ---- NAME001 --------------------------------------------------------------------------------
def check_patterns(build: Build) -> Iterator[Hit]:
    for env in build.environments.values():
        for layout in env.layouts.values():
            expected_stacks = _stack_names(env, layout.name)
            for stack in layout.stacks.values():
                workflow = names.workflow_of(stack.name)
                if expected_stacks is not None and stack.name not in expected_stacks:
                    yield hit(
                        stack, "-", f"stack name {stack.name!r} is not Ceap{{Role}}-{env.name} of a {layout.name} role"
                    )
                if layout.name == WORKFLOWS and (workflow is None or names.workflow_stack(workflow) != stack.name):
                    yield hit(stack, "-", f"workflow stack name {stack.name!r} is not CeapWorkflow-{{workflow}}")
                for logical_id, prop, kind, name in physical_names(stack):
                    if names.limit_problem(kind, name):
                        continue  # NAME002 reports names over the AWS limits
                    allowed = names.allowed(env.name, stack.name, logical_id, kind)
                    if name in allowed:
                        continue
                    if not allowed:
                        message = (
                            f"{prop} {name!r}: the naming convention has no {kind} name here; "
                            "let CloudFormation generate it"
                        )
                    else:
                        message = (
                            f"{prop} {name!r} is not a name of the naming convention; expected one of {sorted(allowed)}"
                        )
                    yield hit(stack, logical_id, message)


# ---- NAME002 --------------------------------------------------------------------------------
def check_limits(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for kind, name, where in [("stack", stack.name, "-")] + [
            ("export", export, f"Outputs.{title}") for export, title in stack.exports.items()
        ]:
            problem = names.limit_problem(kind, name)
            if problem:
                yield hit(stack, where, problem)
        for logical_id, _, kind, name in physical_names(stack):
            problem = names.limit_problem(kind, name)
            if problem:
                yield hit(stack, logical_id, problem)


# ---- NAME003 --------------------------------------------------------------------------------
def check_dual_naming(build: Build) -> Iterator[Hit]:
    """``physicalNames``: explicit names, or none outside workflow stacks (seed 002 Req. 10.2)."""
    for env in build.environments.values():
        mode = "explicit" if env.explicit_names else "generated"
        for stack in env.stacks():
            always_named = names.workflow_of(stack.name) is not None  # seed 004: workflow resources are always named
            for logical_id, resource in stack.of_type("AWS::Lambda::Function", "AWS::S3::Bucket"):
                prop = "FunctionName" if resource["Type"] == "AWS::Lambda::Function" else "BucketName"
                named = prop in resource.get("Properties", {})
                if (env.explicit_names or always_named) and not named:
                    yield hit(stack, logical_id, f"no {prop} but physicalNames is {mode}")
                elif not (env.explicit_names or always_named) and named:
                    yield hit(stack, logical_id, f"{prop} set but physicalNames is generated (collides beside legacy)")


RULES = (
    Rule(
        "NAME001",
        "stack and physical names follow the naming convention (Ceap{Role}-{env}, {Stack}-{Purpose}Lambda, "
        "ceap-workflow-{wf}-..., environment once)",
        "docs/design.md 3; seed 002 Property 1; seed 000 Property 8",
        check_patterns,
        per_template=True,
    ),
    Rule(
        "NAME002",
        "stack, export and physical names fit AWS length limits and character sets",
        "docs/design.md 3; policy.NAME_LIMITS; validation.names.limit_problem",
        check_limits,
        per_template=True,
    ),
    Rule(
        "NAME003",
        "functions and buckets follow physicalNames: explicit names, or CloudFormation-generated outside workflow "
        "stacks",
        "docs/design.md 3 (dual naming); seed 002 Property 38 (Req. 10.2)",
        check_dual_naming,
        per_template=True,
    ),
)
