"""The compat patch cfn_unmodelled: every resource of a stack is listed, also of types moto does not model.

Expected behaviour: ListStackResources lists each resource with its logical ID, type and physical
ID (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html);
an alarm's physical ID is its AlarmName (AWS::CloudWatch::Alarm, "Return values": Ref returns the
alarm name).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.local_aws_server import LocalAws

pytestmark = pytest.mark.xdist_group("local_aws")

# Types the build's templates use that moto 5.2.5 has no CloudFormation model for.
ALARM: dict[str, Any] = {
    "Type": "AWS::CloudWatch::Alarm",
    "Properties": {
        "AlarmName": "unmodelled-dlq-depth",
        "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 1,
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Namespace": "AWS/SQS",
        "Period": 60,
        "Statistic": "Maximum",
        "Threshold": 0,
    },
}


def _template(policy_queue: str = "Queue", outputs: bool = True) -> str:
    template: dict[str, Any] = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Other": {"Type": "AWS::SQS::Queue"},
            "QueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": policy_queue}],
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": {"Fn::GetAtt": [policy_queue, "Arn"]},
                            }
                        ]
                    },
                },
            },
            "Alarm": ALARM,
        },
    }
    if outputs:
        template["Outputs"] = {
            "AlarmName": {"Value": {"Ref": "Alarm"}},
            "AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}},
        }
    return json.dumps(template)


def _listed(aws: LocalAws, stack: str) -> dict[str, tuple[str, str]]:
    summaries = aws.client("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {s["LogicalResourceId"]: (s["ResourceType"], s.get("PhysicalResourceId", "")) for s in summaries}


def test_stock_moto__lists_unmodelled_resources_without_id_or_type(stock_aws: LocalAws) -> None:
    # Outputs left out: stock moto answers HTTP 500 to a GetAtt of an unmodelled type in Outputs.
    stock_aws.client("cloudformation").create_stack(StackName="UnmodelledStock", TemplateBody=_template(outputs=False))
    listed = _listed(stock_aws, "UnmodelledStock")
    assert "QueuePolicy" not in listed and "Alarm" not in listed
    assert listed[""] == ("", "")  # the gap: an anonymous entry per unmodelled resource


def test_unmodelled_resources__are_listed_with_type_and_physical_id_through_update_and_delete(
    local_aws: LocalAws,
) -> None:
    cfn = local_aws.client("cloudformation")
    cfn.create_stack(StackName="Unmodelled", TemplateBody=_template())
    listed = _listed(local_aws, "Unmodelled")
    assert set(listed) == {"Queue", "Other", "QueuePolicy", "Alarm"}
    assert listed["QueuePolicy"][0] == "AWS::SQS::QueuePolicy" and listed["QueuePolicy"][1]
    assert listed["Alarm"] == ("AWS::CloudWatch::Alarm", "unmodelled-dlq-depth")
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="Unmodelled")["Stacks"][0]["Outputs"]
    }
    assert outputs["AlarmName"] == "unmodelled-dlq-depth"
    assert outputs["AlarmArn"].startswith("arn:aws:cloudwatch:") and outputs["AlarmArn"].endswith(
        ":unmodelled-dlq-depth"
    )

    policy_id = listed["QueuePolicy"][1]
    cfn.update_stack(StackName="Unmodelled", TemplateBody=_template(policy_queue="Other"))
    after = _listed(local_aws, "Unmodelled")
    assert after["QueuePolicy"] == ("AWS::SQS::QueuePolicy", policy_id)  # updated in place, not replaced
    assert after["Alarm"] == listed["Alarm"]

    cfn.delete_stack(StackName="Unmodelled")
    statuses = {s["StackName"]: s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]}
    assert statuses["Unmodelled"] == "DELETE_COMPLETE"
