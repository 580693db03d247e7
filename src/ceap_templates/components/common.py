"""Small pieces several components share: deletion policies, log groups, DLQs, tags."""

from __future__ import annotations

from typing import Any

from troposphere import logs, sqs

from ceap_templates.constants import DLQ_RETENTION_SECONDS
from ceap_templates.references import Scope


def retention_policy(retain: bool) -> str:
    """``Retain`` where the environment keeps data, else ``Delete`` (always explicit)."""
    return "Retain" if retain else "Delete"


def stateful(resource: Any, retain: bool) -> Any:
    """Set both DeletionPolicy and UpdateReplacePolicy explicitly (cfn-lint I3011)."""
    policy = retention_policy(retain)
    resource.DeletionPolicy = policy
    resource.UpdateReplacePolicy = policy
    return resource


def log_group(scope: Scope, title: str, name: str | None, retention_days: int, retain: bool) -> logs.LogGroup:
    """An explicit log group with retention (replaces CDK's ``Custom::LogRetention``).

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html
    """
    props: dict[str, Any] = {"RetentionInDays": retention_days}
    if name:
        props["LogGroupName"] = name
    group = logs.LogGroup(title, **props)
    return scope.add(stateful(group, retain))


def dead_letter_queue(scope: Scope, title: str, name: str | None = None) -> sqs.Queue:
    """An SSE-encrypted queue keeping failed deliveries 14 days."""
    props: dict[str, Any] = {"MessageRetentionPeriod": DLQ_RETENTION_SECONDS, "SqsManagedSseEnabled": True}
    if name:
        props["QueueName"] = name
    queue = sqs.Queue(title, **props)
    return scope.add(stateful(queue, False))
