"""Stateful resources: explicit deletion policies, Retain where data is retained, hand-off expiry."""

from __future__ import annotations

from collections.abc import Iterator

from ceap_templates.validation.legacy_system import EPHEMERAL_TABLES
from ceap_templates.validation.model import Build
from ceap_templates.validation.policy import EXECUTIONS_EXPIRY_DAYS, EXECUTIONS_PREFIX
from ceap_templates.validation.rule import Hit, Rule, hit
from ceap_templates.validation.rules._util import as_list, props

#: Resources holding state CloudFormation would delete or replace with the stack.
STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::Logs::LogGroup",
    "AWS::SQS::Queue",
    "AWS::KMS::Key",
)
#: Resources whose data the environment's ``retainData`` governs.
DATA_TYPES = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup")


def ephemeral_table_names(env: str) -> set[str]:
    """A cache and a minutes-long dedup window may always be deleted. Recognised by their physical
    name (what holds the data), so a changed logical ID is LEG001's finding alone."""
    return {pattern.format(env=env) for pattern in EPHEMERAL_TABLES}


def check_explicit_policies(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, resource in stack.of_type(*STATEFUL_TYPES):
            deletion, replace = resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")
            if deletion is None or replace is None or deletion != replace:
                yield hit(
                    stack,
                    logical_id,
                    f"DeletionPolicy {deletion!r} / UpdateReplacePolicy {replace!r}; set both, equal, explicitly",
                )


def check_retention_follows_environment(build: Build) -> Iterator[Hit]:
    for env in build.environments.values():
        wanted = "Retain" if env.retain_data else "Delete"
        ephemeral = ephemeral_table_names(env.name)
        for stack in env.stacks():
            for logical_id, resource in stack.of_type(*DATA_TYPES):
                if props(resource).get("TableName") in ephemeral:
                    continue
                deletion = resource.get("DeletionPolicy")
                if deletion is not None and deletion != wanted:
                    reason = (
                        "the environment retains data"
                        if env.retain_data
                        else "explicit names would collide on re-deploy"
                    )
                    yield hit(stack, logical_id, f"DeletionPolicy {deletion!r}; expected {wanted!r} ({reason})")
                protection = props(resource).get("DeletionProtectionEnabled")
                if resource.get("Type") == "AWS::DynamoDB::Table" and bool(protection) != env.retain_data:
                    yield hit(
                        stack,
                        logical_id,
                        f"DeletionProtectionEnabled is {protection!r} with retainData {env.retain_data}",
                    )


def check_handoff_expiry(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, bucket in stack.of_type("AWS::S3::Bucket"):
            rules = as_list((props(bucket).get("LifecycleConfiguration") or {}).get("Rules"))
            expires = any(
                r.get("Status") == "Enabled"
                and (r.get("Prefix") or (r.get("Filter") or {}).get("Prefix")) == EXECUTIONS_PREFIX
                and r.get("ExpirationInDays") == EXECUTIONS_EXPIRY_DAYS
                for r in rules
            )
            if not expires:
                yield hit(
                    stack,
                    logical_id,
                    f"no enabled lifecycle rule expiring {EXECUTIONS_PREFIX} after {EXECUTIONS_EXPIRY_DAYS} days",
                )


RULES = (
    Rule(
        "DATA001",
        "stateful resources (tables, buckets, log groups, queues, keys) set DeletionPolicy and UpdateReplacePolicy, "
        "equal",
        "docs/design.md 4.1; cfn-lint I3011; "
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html",
        check_explicit_policies,
        per_template=True,
    ),
    Rule(
        "DATA002",
        "tables, buckets and log groups are Retain (tables deletion-protected) exactly where the environment retains "
        "data; ScoreCache and dedup excepted",
        "docs/design.md 2, 4.1; docs/legacy-system.md (Retain in prod; fixed names + Retain broke re-deploys)",
        check_retention_follows_environment,
        per_template=True,
    ),
    Rule(
        "DATA003",
        "every hand-off bucket expires executions/ objects after 7 days",
        "docs/design.md 4.1, 4.3; seed 002 Property 7",
        check_handoff_expiry,
        per_template=True,
    ),
)
