"""Names (SYSTEM.md 3): every physical name is one the naming module gives, within AWS limits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from ceap_templates.errors import NamingError
from ceap_templates.layouts import CONSOLIDATED, LEGACY, PLACEMENTS, WORKFLOWS
from ceap_templates.naming import Naming, check_name
from ceap_templates.stages import STAGES
from ceap_templates.validation.legacy_ids import LEGACY_RESOURCES
from ceap_templates.validation.model import Build, Environment, Stack
from ceap_templates.validation.rule import Hit, Rule, hit

WORKFLOW_PREFIX = "CeapWorkflow-"
#: (resource type, name property) -> kind of :data:`ceap_templates.constants.NAME_LIMITS`.
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


def _fits(kind: str, name: str) -> bool:
    try:
        check_name(kind, name)
    except NamingError:
        return False
    return True


def _workflow(stack_name: str) -> str | None:
    return stack_name.removeprefix(WORKFLOW_PREFIX) if stack_name.startswith(WORKFLOW_PREFIX) else None


def _try(call: Any, *args: Any) -> set[str]:
    try:
        value = call(*args)
    except NamingError:
        return set()
    return {value} if value else set()


@lru_cache(maxsize=4096)
def allowed_names(env: str, stack_name: str, logical_id: str, kind: str) -> frozenset[str]:
    """Names of ``kind`` the naming module gives for this stack (and resource, for Glue)."""
    return frozenset(_allowed(env, stack_name, logical_id, kind))


def _allowed(env: str, stack_name: str, logical_id: str, kind: str) -> set[str]:
    naming = Naming(env)
    workflow = _workflow(stack_name)
    functions = {n for p in STAGES for n in _try(naming.checked_function, stack_name, p)}
    machines = {naming.batch_ingestion_machine(), naming.reactive_machine()}
    if workflow:
        machines |= _try(Naming.workflow_machine, workflow)
    for suffix in ("Function", "FunctionLogGroup"):
        if workflow and logical_id.endswith(suffix):
            # Any stage of a workflow: `{Stage}Function` is named `{stack}-{Stage}Lambda`.
            functions |= _try(naming.checked_function, stack_name, logical_id.removesuffix(suffix))
    if kind == "lambda":
        return functions
    if kind == "table":
        return {row.identity(naming) for row in LEGACY_RESOURCES if row.identity_property == "TableName"}
    if kind == "state_machine":
        return machines
    if kind == "bucket":
        return _try(naming.batch_bucket) | (_try(Naming.workflow_bucket, workflow) if workflow else set())
    if kind == "rule":
        return {naming.batch_ingestion_schedule(), naming.customer_event_rule()}
    if kind in ("queue", "pipe") and workflow:
        suffixes = ("pipe",) if kind == "pipe" else ("queue", "dlq")
        return {n for s in suffixes for n in _try(Naming.workflow_queue, workflow, s)}
    if kind == "glue_job" and workflow:
        for suffix, name_of in (
            ("GlueJob", Naming.glue_job),
            ("GlueSecurityConfiguration", Naming.glue_security_configuration),
        ):
            if logical_id.endswith(suffix):
                return _try(name_of, workflow, logical_id.removesuffix(suffix))
    if kind == "log_group":
        groups = {g for f in functions for g in _try(naming.function_log_group, f)}
        if workflow and logical_id.endswith("GlueLogGroup"):
            groups |= _try(Naming.glue_log_group, workflow, logical_id.removesuffix("GlueLogGroup"))
        return groups | {g for m in machines for g in _try(naming.state_machine_log_group, m)}
    return set()


def _stack_names(env: Environment, layout: str) -> set[str] | None:
    naming = Naming(env.name)
    if layout in (CONSOLIDATED, LEGACY):
        return {n for role in PLACEMENTS[layout].values() for n in _try(naming.stack, role)}
    return None


# ---- NAME001 --------------------------------------------------------------------------------
def check_patterns(build: Build) -> Iterator[Hit]:
    for env in build.environments.values():
        for layout in env.layouts.values():
            expected_stacks = _stack_names(env, layout.name)
            for stack in layout.stacks.values():
                workflow = _workflow(stack.name)
                if expected_stacks is not None and stack.name not in expected_stacks:
                    yield hit(
                        stack, "-", f"stack name {stack.name!r} is not Ceap{{Role}}-{env.name} of a {layout.name} role"
                    )
                if layout.name == WORKFLOWS and (
                    workflow is None or _try(Naming.workflow_stack, workflow) != {stack.name}
                ):
                    yield hit(stack, "-", f"workflow stack name {stack.name!r} is not CeapWorkflow-{{workflow}}")
                for logical_id, prop, kind, name in physical_names(stack):
                    if not _fits(kind, name):
                        continue  # NAME002 reports names over the AWS limits
                    allowed = allowed_names(env.name, stack.name, logical_id, kind)
                    if name in allowed:
                        continue
                    if not allowed:
                        message = (
                            f"{prop} {name!r}: the naming module defines no {kind} name here; "
                            "let CloudFormation generate it"
                        )
                    else:
                        message = (
                            f"{prop} {name!r} is not a name of the naming module; expected one of {sorted(allowed)}"
                        )
                    yield hit(stack, logical_id, message)


# ---- NAME002 --------------------------------------------------------------------------------
def check_limits(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for kind, name, where in [("stack", stack.name, "-")] + [
            ("export", export, f"Outputs.{title}") for export, title in stack.exports.items()
        ]:
            try:
                check_name(kind, name)
            except NamingError as exc:
                yield hit(stack, where, str(exc))
        for logical_id, _, kind, name in physical_names(stack):
            try:
                check_name(kind, name)
            except NamingError as exc:
                yield hit(stack, logical_id, str(exc))


# ---- NAME003 --------------------------------------------------------------------------------
def check_dual_naming(build: Build) -> Iterator[Hit]:
    """``physicalNames``: explicit names, or none outside workflow stacks (seed 002 Req. 10.2)."""
    for env in build.environments.values():
        mode = "explicit" if env.explicit_names else "generated"
        for stack in env.stacks():
            always_named = _workflow(stack.name) is not None  # seed 004: workflow resources are always named
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
        "stack and physical names are the naming module's (Ceap{Role}-{env}, {Stack}-{Purpose}Lambda, "
        "ceap-workflow-{wf}-..., environment once)",
        "SYSTEM.md 3; seed 002 Property 1; seed 000 Property 8",
        check_patterns,
    ),
    Rule(
        "NAME002",
        "stack, export and physical names fit AWS length limits and character sets",
        "SYSTEM.md 3; constants.NAME_LIMITS; naming.check_name",
        check_limits,
    ),
    Rule(
        "NAME003",
        "functions and buckets follow physicalNames: explicit names, or CloudFormation-generated outside workflow "
        "stacks",
        "SYSTEM.md 3 (dual naming); seed 002 Property 38 (Req. 10.2)",
        check_dual_naming,
    ),
)
