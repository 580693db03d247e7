"""The compat patch cfn_import: IMPORT change sets adopt live resources; Retain survives an update.

Expected behaviour from the AWS pages the patch cites: resource import
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html) and
DeletionPolicy (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support.local_aws_server import LocalAws

pytestmark = pytest.mark.xdist_group("local_aws")


def _table(name: str, policy: str | None = "Retain") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        },
    }
    if policy:
        resource["DeletionPolicy"] = policy
    return resource


def _wait(cfn: Any, stack: str) -> str:
    status: str = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    return status


def _create(cfn: Any, stack: str, resources: dict[str, Any]) -> None:
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps({"Resources": resources}))
    assert _wait(cfn, stack) == "CREATE_COMPLETE"


def _import(cfn: Any, stack: str, resources: dict[str, Any], imports: list[dict[str, Any]]) -> str:
    name = f"import-{uuid.uuid4().hex[:8]}"
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType="IMPORT",
        TemplateBody=json.dumps({"Resources": resources}),
        ResourcesToImport=imports,
    )
    return name


def test_update_removing_a_retained_table__leaves_the_table_and_its_items(local_aws: LocalAws) -> None:
    cfn, ddb = local_aws.client("cloudformation"), local_aws.client("dynamodb")
    table, stack = f"t-{uuid.uuid4().hex[:8]}", f"s-{uuid.uuid4().hex[:8]}"
    _create(cfn, stack, {"Table": _table(table), "Topic": {"Type": "AWS::SNS::Topic"}})
    ddb.put_item(TableName=table, Item={"PK": {"S": "kept"}})
    cfn.update_stack(StackName=stack, TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}))
    assert _wait(cfn, stack) == "UPDATE_COMPLETE"
    held = [r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]]
    assert held == ["Topic"]
    assert ddb.get_item(TableName=table, Key={"PK": {"S": "kept"}})["Item"] == {"PK": {"S": "kept"}}


def test_update_removing_a_table_without_retain__deletes_it(local_aws: LocalAws) -> None:
    cfn, ddb = local_aws.client("cloudformation"), local_aws.client("dynamodb")
    table, stack = f"t-{uuid.uuid4().hex[:8]}", f"s-{uuid.uuid4().hex[:8]}"
    _create(cfn, stack, {"Table": _table(table, "Delete"), "Topic": {"Type": "AWS::SNS::Topic"}})
    cfn.update_stack(StackName=stack, TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}))
    assert table not in ddb.list_tables()["TableNames"]


def test_import_into_a_new_stack__adopts_the_table_with_its_items(local_aws: LocalAws) -> None:
    cfn, ddb = local_aws.client("cloudformation"), local_aws.client("dynamodb")
    table, source, target = f"t-{uuid.uuid4().hex[:8]}", f"s-{uuid.uuid4().hex[:8]}", f"n-{uuid.uuid4().hex[:8]}"
    _create(cfn, source, {"Table": _table(table), "Topic": {"Type": "AWS::SNS::Topic"}})
    ddb.put_item(TableName=table, Item={"PK": {"S": "moved"}})
    imports = [
        {
            "ResourceType": "AWS::DynamoDB::Table",
            "LogicalResourceId": "Moved",
            "ResourceIdentifier": {"TableName": table},
        }
    ]
    # Still held by the source stack: CloudFormation refuses to import it twice.
    with pytest.raises(ClientError, match=f"already belongs to stack {source}"):
        _import(cfn, target, {"Moved": _table(table)}, imports)
    cfn.update_stack(StackName=source, TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}))
    change_set = _import(cfn, target, {"Moved": _table(table)}, imports)
    described = cfn.describe_change_set(StackName=target, ChangeSetName=change_set)
    assert [c["ResourceChange"]["Action"] for c in described["Changes"]] == ["Import"]
    cfn.execute_change_set(StackName=target, ChangeSetName=change_set)
    assert _wait(cfn, target) == "IMPORT_COMPLETE"
    (summary,) = cfn.list_stack_resources(StackName=target)["StackResourceSummaries"]
    assert (summary["LogicalResourceId"], summary["PhysicalResourceId"]) == ("Moved", table)
    assert ddb.get_item(TableName=table, Key={"PK": {"S": "moved"}})["Item"] == {"PK": {"S": "moved"}}
    # The adopted table is the stack's: a later update keeps it and its items.
    cfn.update_stack(
        StackName=target,
        TemplateBody=json.dumps({"Resources": {"Moved": _table(table), "Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    assert _wait(cfn, target) == "UPDATE_COMPLETE"
    assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == 1


def test_import_of_a_rule_and_a_state_machine(local_aws: LocalAws) -> None:
    cfn, events, sfn = (local_aws.client(s) for s in ("cloudformation", "events", "stepfunctions"))
    suffix = uuid.uuid4().hex[:8]
    rule_arn = events.put_rule(Name=f"r-{suffix}", ScheduleExpression="rate(1 day)")["RuleArn"]
    machine_arn = sfn.create_state_machine(
        name=f"m-{suffix}",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    resources = {
        "Rule": {"Type": "AWS::Events::Rule", "DeletionPolicy": "Retain", "Properties": {"Name": f"r-{suffix}"}},
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "DeletionPolicy": "Retain",
            "Properties": {
                "StateMachineName": f"m-{suffix}",
                "DefinitionString": "{}",
                "RoleArn": "arn:aws:iam::123456789012:role/r",
            },
        },
    }
    imports = [
        {"ResourceType": "AWS::Events::Rule", "LogicalResourceId": "Rule", "ResourceIdentifier": {"Arn": rule_arn}},
        {
            "ResourceType": "AWS::StepFunctions::StateMachine",
            "LogicalResourceId": "Machine",
            "ResourceIdentifier": {"Arn": machine_arn},
        },
    ]
    stack = f"n-{suffix}"
    change_set = _import(cfn, stack, resources, imports)
    cfn.execute_change_set(StackName=stack, ChangeSetName=change_set)
    held = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    }
    assert held == {"Rule": f"r-{suffix}", "Machine": machine_arn}


@pytest.mark.parametrize(
    ("resources", "imports", "message"),
    [
        # Topics are not importable here (nor needed by the hand-over): refused by type.
        (
            {"Topic": {"Type": "AWS::SNS::Topic", "DeletionPolicy": "Retain"}},
            [
                {
                    "ResourceType": "AWS::SNS::Topic",
                    "LogicalResourceId": "Topic",
                    "ResourceIdentifier": {"TopicArn": "x"},
                }
            ],
            "AWS::SNS::Topic is not supported for import",
        ),
        # AWS: every resource to import needs a DeletionPolicy.
        (
            {"T": _table("missing-policy", None)},
            [
                {
                    "ResourceType": "AWS::DynamoDB::Table",
                    "LogicalResourceId": "T",
                    "ResourceIdentifier": {"TableName": "missing-policy"},
                }
            ],
            "must have a DeletionPolicy",
        ),
        (
            {"T": _table("no-such-table")},
            [
                {
                    "ResourceType": "AWS::DynamoDB::Table",
                    "LogicalResourceId": "T",
                    "ResourceIdentifier": {"TableName": "no-such-table"},
                }
            ],
            "no-such-table of type AWS::DynamoDB::Table does not exist",
        ),
    ],
)
def test_import__refuses_what_aws_refuses(
    local_aws: LocalAws, resources: dict[str, Any], imports: list[dict[str, Any]], message: str
) -> None:
    cfn = local_aws.client("cloudformation")
    stack = f"bad-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError, match=message):
        _import(cfn, stack, resources, imports)


def test_import_with_the_aws_cli__describe_shows_import(local_aws: LocalAws, tmp_path: Any) -> None:
    ddb = local_aws.client("dynamodb")
    table = f"cli-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
    )
    (tmp_path / "t.json").write_text(json.dumps({"Resources": {"T": _table(table)}}))
    imports = [
        {"ResourceType": "AWS::DynamoDB::Table", "LogicalResourceId": "T", "ResourceIdentifier": {"TableName": table}}
    ]
    (tmp_path / "i.json").write_text(json.dumps(imports))
    stack = f"cli-{uuid.uuid4().hex[:8]}"
    local_aws.aws(
        "cloudformation", "create-change-set", "--stack-name", stack, "--change-set-name", "imp",
        "--change-set-type", "IMPORT", "--template-body", f"file://{tmp_path / 't.json'}",
        "--resources-to-import", f"file://{tmp_path / 'i.json'}",
    )  # fmt: skip
    out = local_aws.aws(
        "cloudformation", "describe-change-set", "--stack-name", stack, "--change-set-name", "imp",
        "--query", "Changes[].ResourceChange.Action", "--output", "text",
    )  # fmt: skip
    assert out.stdout.split() == ["Import"]
