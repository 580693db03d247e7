"""The grants table against AWS's own list of actions (the Service Authorization Reference).

cfn-lint ships that reference as ``data/AdditionalSpecs/Policies.json``: per service, every action
and the resource types it can be scoped to (none: the action only takes ``Resource: "*"``).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from troposphere import Template
from troposphere.iam import ManagedPolicy

from ceap_templates.iam import GRANTS, UNSCOPED_ACTIONS, allow, policy


def _reference() -> dict[str, Any]:
    text = resources.files("cfnlint").joinpath("data/AdditionalSpecs/Policies.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


REFERENCE = _reference()
#: Key policies name the key itself as ``*``; every other grant is an identity or resource policy.
KEY_POLICY_KINDS = {"key"}


def _action(name: str) -> dict[str, Any] | None:
    service, action = name.split(":")
    found: dict[str, Any] | None = REFERENCE[service]["Actions"].get(action.lower())
    return found


@pytest.mark.parametrize("key", sorted(GRANTS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_grant__every_action_exists_and_scoping_matches_aws(key: tuple[str, str]) -> None:
    grant = GRANTS[key]
    assert grant.actions, key
    for action in (a.JSONrepr() for a in grant.actions):
        if action.endswith(":*"):
            assert key[0] in KEY_POLICY_KINDS, f"{key}: wildcard {action} outside a key policy"
            continue
        info = _action(action)
        assert info is not None, f"{key}: {action} is not an AWS action"
        if grant.condition_key is not None:
            # AWS documents PutMetricData as Resource "*" narrowed by cloudwatch:namespace
            # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html);
            # cfn-lint's table lists a "dataset" resource type for it, which metrics do not have.
            assert (action, grant.condition_key) == ("cloudwatch:PutMetricData", "cloudwatch:namespace"), key
        elif key[0] not in KEY_POLICY_KINDS:
            # Unscoped exactly when AWS defines no resource type for the action.
            assert grant.unscoped == (not info.get("Resources")), (key, action, info.get("Resources"))


def test_unscoped_actions__are_the_xray_and_log_delivery_grants() -> None:
    # Step Functions logging (AWS docs "Logging using CloudWatch Logs") and X-Ray tracing permissions.
    assert {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    } == UNSCOPED_ACTIONS


def _rendered(statement: Any) -> dict[str, Any]:
    template = Template()
    template.add_resource(ManagedPolicy("P", PolicyDocument=policy([statement])))
    rendered: dict[str, Any] = template.to_dict()["Resources"]["P"]["Properties"]["PolicyDocument"]["Statement"][0]
    return rendered


def test_allow__function_invoke_covers_versions_and_resource_policy_gets_principal() -> None:
    statement = _rendered(allow("S", "function", "invoke", ["arn:f"], service="states.amazonaws.com"))
    # Step Functions may call a qualified ARN (version or alias): `{arn}:*` (AWS Lambda docs).
    assert statement["Resource"] == ["arn:f", {"Fn::Sub": ["${Arn}:*", {"Arn": "arn:f"}]}]
    assert statement["Principal"] == {"Service": ["states.amazonaws.com"]}
    assert statement["Action"] == ["lambda:InvokeFunction"]
    unscoped = _rendered(allow("X", "xray", "trace", ["ignored"]))
    assert unscoped["Resource"] == ["*"]
