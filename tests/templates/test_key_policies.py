"""Every KMS key policy of the product against a literal (issue 14 item 7: confused deputy).

Sources: a service principal using a key on someone's behalf is pinned to this account and its
resources with ``aws:SourceAccount`` / ``aws:SourceArn`` (AWS IAM User Guide, "The confused deputy
problem", https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). CloudWatch
alarms publishing to an encrypted topic need kms:Decrypt and kms:GenerateDataKey* on its key; for
EventBridge AWS does not support those condition keys in the key policy, so its statement carries
none and the topic policy pins the publishing rules instead
(https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, "Enable compatibility between
event sources from AWS services and encrypted topics").
"""

from __future__ import annotations

from typing import Any

import pytest

from ceap_templates.environment_build import EnvironmentBuild

from .conftest import ENVS

ACCOUNT_ROOT = {
    "Sid": "AccountAdministers",
    "Effect": "Allow",
    "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
    "Action": ["kms:*"],
    "Resource": ["*"],
}
CLOUDWATCH = {
    "Sid": "CloudWatchAlarmsPublishEncrypted",
    "Effect": "Allow",
    "Principal": {"Service": ["cloudwatch.amazonaws.com"]},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": ["*"],
    "Condition": {
        "StringEquals": {"aws:SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}},
        "ArnLike": {
            "aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}
        },
    },
}
EVENTBRIDGE = {
    "Sid": "EventBridgePublishesEncrypted",
    "Effect": "Allow",
    "Principal": {"Service": ["events.amazonaws.com"]},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": ["*"],
}


def _keys(build: EnvironmentBuild) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for artifact in build.stacks:
        for logical_id, resource in artifact.template["Resources"].items():
            if resource["Type"] == "AWS::KMS::Key":
                found.append((artifact.path, logical_id, resource["Properties"]["KeyPolicy"]))
    return found


@pytest.mark.parametrize("env", ENVS)
def test_every_alerts_key__pins_cloudwatch_to_this_account(builds: dict[str, EnvironmentBuild], env: str) -> None:
    keys = _keys(builds[env])
    assert len(keys) >= 4, keys  # data platform, serving, one per workflow
    for stack_name, logical_id, policy in keys:
        assert policy == {"Version": "2012-10-17", "Statement": [ACCOUNT_ROOT, CLOUDWATCH, EVENTBRIDGE]}, (
            stack_name,
            logical_id,
        )
