"""Checkov findings we accept, each with its reason, written into the resource's Metadata.

Checkov reads ``Metadata.checkov.skip`` per resource; keeping the table here means every
accepted finding is reviewed in one place and shows up, with its reason, in the artifact.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

Condition = Callable[[Mapping[str, Any]], bool]


def _always(_: Mapping[str, Any]) -> bool:
    return True


def _no_dead_letter(properties: Mapping[str, Any]) -> bool:
    return "DeadLetterConfig" not in properties


#: resource type -> (check id, applies to these properties?, reason)
ACCEPTED: Mapping[str, tuple[tuple[str, Condition, str], ...]] = MappingProxyType(
    {
        "AWS::Lambda::Function": (
            (
                "CKV_AWS_115",
                _always,
                "No reserved concurrency: stages run once per execution and share the account "
                "pool; a reservation would throttle the Reactive path without protecting anything.",
            ),
            (
                "CKV_AWS_116",
                _no_dead_letter,
                "Invoked synchronously by Step Functions: failures surface in the "
                "execution (Retry/Catch), a Lambda DLQ only applies to asynchronous invocations.",
            ),
            (
                "CKV_AWS_117",
                _always,
                "Reaches only AWS public endpoints (S3, DynamoDB, EventBridge); no VPC resource "
                "to reach, and a VPC would add NAT cost and cold-start latency.",
            ),
            (
                "CKV_AWS_173",
                _always,
                "Environment variables hold only table and bucket names, no secrets; Lambda "
                "encrypts them at rest with the AWS managed key.",
            ),
        ),
        "AWS::DynamoDB::Table": (
            (
                "CKV_AWS_119",
                _always,
                "SSE with the AWS managed KMS key (SSEEnabled); a customer managed key adds key "
                "administration without a consumer that needs it.",
            ),
        ),
        "AWS::Logs::LogGroup": (
            (
                "CKV_AWS_158",
                _always,
                "CloudWatch Logs encrypts at rest by default; logs carry execution ids and "
                "stage metrics, no credentials.",
            ),
        ),
        "AWS::S3::Bucket": (
            (
                "CKV_AWS_18",
                _always,
                "Hand-off bucket of transient stage outputs (expire after 7 days), written only "
                "by the platform's roles; access is traced by CloudTrail, not server access logs.",
            ),
        ),
        "AWS::SQS::Queue": (
            (
                "CKV_AWS_27",
                _always,
                "Encrypted with SQS-managed SSE (SqsManagedSseEnabled: true); the check only recognises KMS keys.",
            ),
        ),
        "AWS::Glue::SecurityConfiguration": (
            (
                "CKV_AWS_99",
                _always,
                "S3 output is SSE-S3 encrypted; the job uses no bookmarks and its CloudWatch logs "
                "are encrypted at rest by default.",
            ),
        ),
    }
)


def with_checkov_skips(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a rendered template with ``Metadata.checkov.skip`` on every resource the table applies to.

    Pure: ``template`` is left as it is.
    """
    result = copy.deepcopy(dict(template))
    for resource in result.get("Resources", {}).values():
        rules = ACCEPTED.get(resource["Type"], ())
        properties = resource.get("Properties", {})
        skips = [{"id": check, "comment": reason} for check, applies, reason in rules if applies(properties)]
        if skips:
            resource["Metadata"] = {**resource.get("Metadata", {}), "checkov": {"skip": skips}}
    return result
