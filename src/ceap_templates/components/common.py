"""Small pieces several components share: log groups and dead-letter queues."""

from __future__ import annotations

from typing import Any

from troposphere import logs, sqs

from ceap_templates.constants import DLQ_RETENTION_SECONDS
from ceap_templates.references import Scope


def log_group(scope: Scope, title: str, name: str | None) -> logs.LogGroup:
    """An explicit log group with the environment's retention (replaces CDK's ``Custom::LogRetention``).

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html
    """
    props: dict[str, Any] = {"RetentionInDays": scope.retention.log_days}
    if name:
        props["LogGroupName"] = name
    return scope.keep(logs.LogGroup(title, **props))


def dead_letter_queue(scope: Scope, title: str, name: str | None = None) -> sqs.Queue:
    """An SSE-encrypted queue keeping failed deliveries 14 days."""
    props: dict[str, Any] = {"MessageRetentionPeriod": DLQ_RETENTION_SECONDS, "SqsManagedSseEnabled": True}
    if name:
        props["QueueName"] = name
    return scope.discard(sqs.Queue(title, **props))
