"""The classifier's parts against literal expectations from AWS's documentation and cfn-lint's data.

Sources ("Update requires" lines of the CloudFormation template reference,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/):
aws-resource-dynamodb-table (TableName: Replacement), aws-resource-lambda-function (FunctionName:
Replacement; MemorySize, Timeout, Code: No interruption), aws-resource-s3-bucket (BucketName:
Replacement; VersioningConfiguration: No interruption), aws-resource-sqs-queue (QueueName, FifoQueue:
Replacement), aws-resource-stepfunctions-statemachine (StateMachineName, StateMachineType:
Replacement), aws-properties-pipes-pipe-pipesourcekinesisstreamparameters (StartingPosition:
Replacement), aws-properties-pipes-pipe-pipesourcesqsqueueparameters (BatchSize: No interruption).
"Name type" page (aws-properties-name.html): the custom-name properties. cfn-lint's
data/AdditionalSpecs/StatefulResources.json: the stateful types.
"""

from __future__ import annotations

import pytest

from ceap_templates.diff import normalise, security
from ceap_templates.diff.replacement import create_only_changes, custom_name_conflict, fate
from ceap_templates.diff.schemas import rules_for


@pytest.mark.parametrize(
    ("type_name", "prop", "expected"),
    [
        ("AWS::DynamoDB::Table", "TableName", "always"),
        ("AWS::DynamoDB::Table", "BillingMode", None),
        ("AWS::Lambda::Function", "FunctionName", "always"),
        ("AWS::Lambda::Function", "MemorySize", None),
        ("AWS::Lambda::Function", "Timeout", None),
        ("AWS::Lambda::Function", "Code", None),
        ("AWS::S3::Bucket", "BucketName", "always"),
        ("AWS::S3::Bucket", "VersioningConfiguration", None),
        ("AWS::SQS::Queue", "QueueName", "always"),
        ("AWS::SQS::Queue", "FifoQueue", "always"),
        ("AWS::SQS::Queue", "VisibilityTimeout", None),
        ("AWS::StepFunctions::StateMachine", "StateMachineName", "always"),
        ("AWS::StepFunctions::StateMachine", "StateMachineType", "always"),
        ("AWS::StepFunctions::StateMachine", "Definition", None),
        # cfn-lint's schema marks KeySchema conditional (AWS's page: Replacement): the schema decides.
        ("AWS::DynamoDB::Table", "KeySchema", "conditional"),
    ],
)
def test_top_level_property(type_name: str, prop: str, expected: str | None) -> None:
    rules = rules_for(type_name)
    found = create_only_changes(rules, {prop: "old"}, {prop: "new"})
    assert [level for _, level in found] == ([expected] if expected else [])


def test_nested_create_only_pointer() -> None:
    rules = rules_for("AWS::Pipes::Pipe")
    base = {"Source": "arn:queue", "SourceParameters": {"KinesisStreamParameters": {"StartingPosition": "LATEST"}}}
    moved = {**base, "SourceParameters": {"KinesisStreamParameters": {"StartingPosition": "TRIM_HORIZON"}}}
    assert create_only_changes(rules, base, moved) == [
        (("SourceParameters", "KinesisStreamParameters", "StartingPosition"), "always")
    ]
    sqs = {"Source": "arn:queue", "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}}}
    assert create_only_changes(rules, sqs, {**sqs, "SourceParameters": {"SqsQueueParameters": {"BatchSize": 5}}}) == []


@pytest.mark.parametrize(
    ("type_name", "name"),
    [
        ("AWS::DynamoDB::Table", "TableName"),
        ("AWS::Lambda::Function", "FunctionName"),
        ("AWS::S3::Bucket", "BucketName"),
        ("AWS::SQS::Queue", "QueueName"),
        ("AWS::StepFunctions::StateMachine", "StateMachineName"),
        ("AWS::IAM::Role", "RoleName"),
        ("AWS::Logs::LogGroup", "LogGroupName"),
        ("AWS::Events::Rule", "Name"),
        ("AWS::Glue::Job", "Name"),
        ("AWS::Lambda::Permission", None),
        ("AWS::KMS::Key", None),
        ("AWS::S3::BucketPolicy", None),
    ],
)
def test_custom_name_property(type_name: str, name: str | None) -> None:
    assert rules_for(type_name).name_property == name


def test_custom_name_conflict_only_when_the_name_stays() -> None:
    rules = rules_for("AWS::StepFunctions::StateMachine")
    named = {"StateMachineName": "CeapBatchIngestion-dev", "StateMachineType": "STANDARD"}
    assert custom_name_conflict(rules, named, {**named, "StateMachineType": "EXPRESS"})
    assert not custom_name_conflict(rules, named, {**named, "StateMachineName": "CeapBatchIngestion2-dev"})
    assert not custom_name_conflict(rules, {"StateMachineType": "STANDARD"}, {"StateMachineType": "EXPRESS"})


@pytest.mark.parametrize(
    ("type_name", "policy", "expected"),
    [
        ("AWS::DynamoDB::Table", None, "data loss"),  # DeletionPolicy default: Delete
        ("AWS::DynamoDB::Table", "Delete", "data loss"),
        ("AWS::DynamoDB::Table", "Retain", "orphaned"),
        ("AWS::DynamoDB::Table", "RetainExceptOnCreate", "orphaned"),
        ("AWS::S3::Bucket", "Retain", "orphaned"),
        ("AWS::Logs::LogGroup", "Delete", "data loss"),
        ("AWS::RDS::DBInstance", "Snapshot", "snapshot"),
        ("AWS::Lambda::Function", "Delete", "none"),  # not in StatefulResources.json
        ("AWS::IAM::Role", None, "none"),
    ],
)
def test_fate_of_deleted_data(type_name: str, policy: str | None, expected: str) -> None:
    assert fate(rules_for(type_name), policy) == expected


def test_spellings_that_do_not_change_behaviour() -> None:
    assert normalise.canonical({"MemorySize": 10, "Enabled": True}) == normalise.canonical(
        {"Enabled": "true", "MemorySize": "10"}
    )
    assert normalise.canonical({"MemorySize": 10}) != normalise.canonical({"MemorySize": 11})
    one = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:a"}, {"Effect": "Deny"}]}
    two = {"Statement": [{"Effect": "Deny"}, {"Resource": ["arn:a"], "Action": ["s3:GetObject"], "Effect": "Allow"}]}
    assert normalise.canonical(one) == normalise.canonical(two)
    actions = {"Statement": [{"Effect": "Allow", "Action": ["b:B", "a:A"], "Resource": "*"}]}
    sorted_actions = {"Statement": [{"Effect": "Allow", "Action": ["a:A", "b:B"], "Resource": "*"}]}
    assert normalise.canonical(actions) == normalise.canonical(sorted_actions)
    assert normalise.resource({"Type": "T", "DependsOn": ["B", "A"]}) == normalise.resource(
        {"DependsOn": ["A", "B"], "Type": "T"}
    )
    assert normalise.resource({"Type": "T", "DependsOn": "A"}) == normalise.resource({"Type": "T", "DependsOn": ["A"]})
    # Order that does matter stays: a list outside a policy (e.g. a key schema) is ordered.
    assert normalise.canonical({"KeySchema": ["PK", "SK"]}) != normalise.canonical({"KeySchema": ["SK", "PK"]})


def _allow(action: object, resource: object = "arn:aws:s3:::b/*", **more: object) -> dict[str, object]:
    return normalise.statement({"Effect": "Allow", "Action": action, "Resource": resource, **more})


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ([_allow(["s3:GetObject"])], [_allow(["s3:GetObject", "s3:PutObject"])], True),  # action added
        ([_allow(["s3:GetObject", "s3:PutObject"])], [_allow(["s3:GetObject"])], False),  # action removed
        ([_allow(["s3:GetObject"])], [_allow(["s3:GetObject"], "*")], True),  # wildcard resource
        ([_allow(["s3:GetObject"])], [_allow(["s3:*"])], True),  # wildcard action
        ([_allow(["s3:*"])], [_allow(["s3:GetObject"])], False),  # narrower than the old wildcard
        (
            [_allow(["s3:GetObject"], Condition={"Bool": {"aws:SecureTransport": "true"}})],
            [_allow(["s3:GetObject"])],
            True,  # condition dropped
        ),
        (
            [_allow(["s3:GetObject"])],
            [_allow(["s3:GetObject"], Condition={"Bool": {"aws:SecureTransport": "true"}})],
            False,  # condition added
        ),
        (
            [normalise.statement({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "a"}})],
            [
                normalise.statement(
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["a", "b"]}}
                )
            ],
            True,  # principal added
        ),
        ([normalise.statement({"Effect": "Deny", "Action": "s3:*", "Principal": "*", "Resource": "*"})], [], True),
    ],
)
def test_broadened(before: list[dict[str, object]], after: list[dict[str, object]], expected: bool) -> None:
    assert security.broadened(before, after) is expected
