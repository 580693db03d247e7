"""CloudFormation change sets, exports and imports through the real ``aws`` CLI.

Each test shows the gap on stock moto 5.2.5 (``stock_aws``) and the CloudFormation behaviour with
the compat layer (``local_aws``). Expected messages are the ones AWS CloudFormation returns
(AWS CloudFormation User Guide, "Exporting stack output values": a stack whose export is imported
cannot be deleted, an export in use cannot be removed; ListImports API reference; awscli
``deploy`` documentation for ``--no-fail-on-empty-changeset``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.local_aws_server import LocalAws

from .stacks import exporter, importer, write

pytestmark = pytest.mark.emulator

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/{}"  # moto's default account, AWS's URL format


def _deploy(aws: LocalAws, stack: str, template: str, *extra: str, check: bool = True) -> int:
    result = aws.aws(
        "cloudformation", "deploy", "--stack-name", stack, "--template-file", template, *extra, check=check
    )
    return result.returncode


def _outputs(aws: LocalAws, stack: str) -> dict[str, str]:
    described = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _exports(aws: LocalAws) -> dict[str, str]:
    return {e["Name"]: e["Value"] for e in aws.client("cloudformation").list_exports()["Exports"]}


def _status(aws: LocalAws, stack: str) -> str:
    return str(aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])


def _reasons(aws: LocalAws, stack: str) -> list[tuple[str, str]]:
    events = aws.client("cloudformation").describe_stack_events(StackName=stack)["StackEvents"]
    return [(e["ResourceStatus"], e.get("ResourceStatusReason") or "") for e in events]


def test_deploy__importer_resolves_exporter_exports(local_aws: LocalAws, tmp_path: Path) -> None:
    local_aws.aws("s3", "mb", "s3://cfn-templates-deploy")
    _deploy(local_aws, "ExpA", write(tmp_path, "a", exporter("exp-a")), "--s3-bucket", "cfn-templates-deploy")
    _deploy(local_aws, "ImpA", write(tmp_path, "b", importer("ExpA", "imp-a")), "--s3-bucket", "cfn-templates-deploy")

    assert _exports(local_aws)["ExpA-QueueUrl"] == QUEUE_URL.format("exp-a")
    assert _outputs(local_aws, "ImpA") == {"ImportedQueueUrl": QUEUE_URL.format("exp-a")}
    assert _status(local_aws, "ImpA") == "CREATE_COMPLETE"


def test_deploy__stock_moto_registers_no_export_and_cannot_read_loopback_template_urls(
    stock_aws: LocalAws, tmp_path: Path
) -> None:
    stock_aws.client("s3").create_bucket(Bucket="cfn-templates-stock")
    template = write(tmp_path, "a", exporter("exp-s3"))
    failed = stock_aws.aws(
        "cloudformation", "deploy", "--stack-name", "ExpS3", "--template-file", template,
        "--s3-bucket", "cfn-templates-stock", check=False,
    )  # fmt: skip
    assert failed.returncode != 0 and "NoSuchBucket" in failed.stderr

    _deploy(stock_aws, "ExpS", write(tmp_path, "a", exporter("exp-s")))  # a change set, as deploy makes
    assert "ExpS-QueueUrl" not in _exports(stock_aws)
    assert _deploy(stock_aws, "ImpS", write(tmp_path, "b", importer("ExpS", "imp-s")), check=False) != 0


def test_missing_export__change_set_fails_with_the_aws_reason(local_aws: LocalAws, tmp_path: Path) -> None:
    result = local_aws.aws(
        "cloudformation", "deploy", "--stack-name", "ImpOrphan", "--template-file",
        write(tmp_path, "b", importer("NoSuchStack", "imp-orphan")), check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "No export named NoSuchStack-QueueUrl found" in result.stderr


def test_list_imports__names_the_importing_stacks(local_aws: LocalAws, stock_aws: LocalAws, tmp_path: Path) -> None:
    cloudformation = local_aws.client("cloudformation")
    cloudformation.create_stack(StackName="ExpL", TemplateBody=json.dumps(exporter("exp-l")))
    cloudformation.create_stack(StackName="ImpL", TemplateBody=json.dumps(importer("ExpL", "imp-l")))

    listed = json.loads(local_aws.aws("cloudformation", "list-imports", "--export-name", "ExpL-QueueUrl").stdout)
    assert listed["Imports"] == ["ImpL"]
    unused = local_aws.aws("cloudformation", "list-imports", "--export-name", "ExpL-Nothing", check=False)
    assert unused.returncode != 0 and "Export 'ExpL-Nothing' is not imported by any stack." in unused.stderr

    stock = stock_aws.aws("cloudformation", "list-imports", "--export-name", "Anything", check=False)
    assert stock.returncode != 0 and "there is an error in the application" in stock.stderr  # HTTP 500


def test_delete_exporter_in_use__delete_failed_with_aws_message(
    local_aws: LocalAws, stock_aws: LocalAws, tmp_path: Path
) -> None:
    for aws in (local_aws, stock_aws):
        cloudformation = aws.client("cloudformation")
        cloudformation.create_stack(StackName="ExpD", TemplateBody=json.dumps(exporter("exp-d")))
        cloudformation.create_stack(StackName="ImpD", TemplateBody=json.dumps(importer("ExpD", "imp-d")))
        aws.aws("cloudformation", "delete-stack", "--stack-name", "ExpD")

    stock_wait = stock_aws.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", "ExpD", check=False)
    assert stock_wait.returncode == 0  # stock moto deletes the exporter anyway

    waited = local_aws.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", "ExpD", check=False)
    assert waited.returncode != 0 and "DELETE_FAILED" in waited.stderr
    assert _status(local_aws, "ExpD") == "DELETE_FAILED"
    assert ("DELETE_FAILED", "Export ExpD-QueueUrl cannot be deleted as it is in use by ImpD") in _reasons(
        local_aws, "ExpD"
    )
    assert "ExpD-QueueUrl" in _exports(local_aws)

    local_aws.client("cloudformation").delete_stack(StackName="ImpD")
    local_aws.client("cloudformation").delete_stack(StackName="ExpD")
    local_aws.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", "ExpD")
    assert "ExpD-QueueUrl" not in _exports(local_aws)


def test_unchanged_deploy__no_fail_on_empty_changeset_exits_0(
    local_aws: LocalAws, stock_aws: LocalAws, tmp_path: Path
) -> None:
    template = write(tmp_path, "a", exporter("exp-e", parameter=True))  # a parameter with a default, as the product's
    _deploy(local_aws, "ExpE", template)
    stock_aws.client("cloudformation").create_stack(StackName="ExpE", TemplateBody=Path(template).read_text())
    assert _deploy(stock_aws, "ExpE", template, "--no-fail-on-empty-changeset", check=False) == 255
    again = local_aws.aws(
        "cloudformation", "deploy", "--stack-name", "ExpE", "--template-file", template, "--no-fail-on-empty-changeset"
    )
    assert "No changes to deploy" in again.stdout
    strict = local_aws.aws("cloudformation", "deploy", "--stack-name", "ExpE", "--template-file", template, check=False)
    assert strict.returncode == 255 and "No changes to deploy. Stack ExpE is up to date" in strict.stderr


def test_update__registers_added_exports_and_refuses_removing_an_imported_one(
    local_aws: LocalAws, stock_aws: LocalAws, tmp_path: Path
) -> None:
    for aws in (local_aws, stock_aws):
        aws.client("cloudformation").create_stack(StackName="ExpU", TemplateBody=json.dumps(exporter("exp-u")))
        _deploy(aws, "ExpU", write(tmp_path, "a2", exporter("exp-u", extra_export=True)))
    assert "ExpU-QueueArn" not in _exports(stock_aws)
    assert _exports(local_aws)["ExpU-QueueArn"] == "arn:aws:sqs:us-east-1:123456789012:exp-u"

    local_aws.client("cloudformation").create_stack(
        StackName="ImpU", TemplateBody=json.dumps(importer("ExpU", "imp-u"))
    )
    removed = _deploy(local_aws, "ExpU", write(tmp_path, "a3", exporter("exp-u", export=False)), check=False)
    assert removed != 0
    assert _status(local_aws, "ExpU") == "UPDATE_ROLLBACK_COMPLETE"
    reason = "Export ExpU-QueueUrl cannot be deleted as it is in use by ImpU"
    assert ("UPDATE_ROLLBACK_IN_PROGRESS", reason) in _reasons(local_aws, "ExpU")
    assert {"ExpU-QueueUrl", "ExpU-QueueArn"} <= set(_exports(local_aws))


def test_update_stack_api__registers_added_exports(local_aws: LocalAws, tmp_path: Path) -> None:
    local_aws.client("cloudformation").create_stack(StackName="ExpV", TemplateBody=json.dumps(exporter("exp-v")))
    local_aws.aws("cloudformation", "update-stack", "--stack-name", "ExpV", "--template-body",
                  f"file://{write(tmp_path, 'a2', exporter('exp-v', extra_export=True))}")  # fmt: skip
    local_aws.aws("cloudformation", "wait", "stack-update-complete", "--stack-name", "ExpV")
    assert _exports(local_aws)["ExpV-QueueArn"] == "arn:aws:sqs:us-east-1:123456789012:exp-v"


def test_deploy__tags_template_and_failure_reasons_the_deploy_scripts_read(local_aws: LocalAws, tmp_path: Path) -> None:
    template = exporter("exp-t")
    _deploy(local_aws, "ExpT", write(tmp_path, "a", template), "--tags", "Owner=ceap", "Environment=dev")
    described = local_aws.client("cloudformation").describe_stacks(StackName="ExpT")["Stacks"][0]
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == {"Owner": "ceap", "Environment": "dev"}
    fetched = json.loads(local_aws.aws("cloudformation", "get-template", "--stack-name", "ExpT").stdout)
    assert fetched["TemplateBody"] == template

    broken = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "broken",
                    "Runtime": "python3.12",
                    "Handler": "x.handler",
                    "Role": "arn:aws:iam::123456789012:role/none",
                    "Code": {"S3Bucket": "no-such-artifacts", "S3Key": "lambda/missing.zip"},
                },
            }
        }
    }
    assert _deploy(local_aws, "Broken", write(tmp_path, "c", broken), check=False) != 0
    assert _status(local_aws, "Broken") == "ROLLBACK_COMPLETE"
    failed = [reason for status, reason in _reasons(local_aws, "Broken") if status == "CREATE_FAILED"]
    assert failed and "NoSuchBucket" in failed[0]
