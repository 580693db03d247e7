"""Stacks whose resources run: Lambda code from the zip, Definition machines, sync executions,
pipes and EventBridge targets, through the real ``aws`` CLI where the scripts will use it.

The probe stack (``probe.py``) is deployed on the emulator with the compat layer and on stock moto
5.2.5; each test shows both. Expected behaviour: AWS Lambda's invoke contract (unhandled errors:
``FunctionError: Unhandled`` with errorType/errorMessage), the Step Functions error-handling rules
(Retry, then Catch on the error name), Pipes' SQS source batches and invocation types.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ceap_templates.local_aws.client_env import free_port
from support.local_aws_server import LocalAws

from . import probe

pytestmark = pytest.mark.emulator


def _deploy_probe(aws: LocalAws) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=probe.BUCKET)
    s3.put_object(Bucket=probe.BUCKET, Key=probe.KEY, Body=probe.package())
    aws.client("cloudformation").create_stack(StackName="Probe", TemplateBody=probe.template())


@pytest.fixture(scope="module")
def local(local_aws: LocalAws) -> LocalAws:
    _deploy_probe(local_aws)
    return local_aws


@pytest.fixture(scope="module")
def stock(stock_aws: LocalAws) -> LocalAws:
    _deploy_probe(stock_aws)
    return stock_aws


def _eventually(check: Callable[[], Any], seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _invoke(aws: LocalAws, payload: dict[str, Any], out: Path) -> tuple[dict[str, Any], Any]:
    result = aws.aws("lambda", "invoke", "--function-name", "probe", "--payload", json.dumps(payload), str(out))
    return json.loads(result.stdout), json.loads(out.read_text() or "null")


def test_lambda_invoke__runs_the_handler_of_the_zip_with_its_environment(
    local: LocalAws, stock: LocalAws, tmp_path: Path
) -> None:
    meta, answer = _invoke(local, {"mode": "hello"}, tmp_path / "ok.json")
    assert "FunctionError" not in meta
    assert answer == {"greeting": probe.GREETING, "function": "probe", "flaky": 0}

    meta, answer = _invoke(local, {"mode": "raise"}, tmp_path / "error.json")
    assert meta["FunctionError"] == "Unhandled"
    assert (answer["errorType"], answer["errorMessage"]) == ("ProbeError", "asked to fail")

    stock.aws("lambda", "invoke", "--function-name", "probe", "--payload", '{"mode": "hello"}', str(tmp_path / "s"))
    assert "error running docker" in (tmp_path / "s").read_text()  # stock moto runs functions only in Docker


def test_functions_sharing_a_package__have_their_own_module_state(local: LocalAws) -> None:
    client = local.client("lambda")

    def invoke(name: str, mode: str) -> tuple[str | None, Any]:
        answer = client.invoke(FunctionName=name, Payload=json.dumps({"mode": mode}).encode())
        return answer.get("FunctionError"), json.loads(answer["Payload"].read())

    invoke("probe", "flaky")  # probe's counter is now at least 1
    error, payload = invoke("probe-twin", "flaky")
    assert (error, payload["errorType"]) == ("Unhandled", "ProbeRetryable")  # the twin's first call
    assert invoke("probe-twin", "hello") == (
        None,
        {"greeting": "hello from the twin", "function": "probe-twin", "flaky": 1},
    )


def test_definition_object__becomes_the_machine_with_type_logging_tracing(local: LocalAws, stock: LocalAws) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:probe-express"
    described = json.loads(local.aws("stepfunctions", "describe-state-machine", "--state-machine-arn", arn).stdout)
    definition = json.loads(described["definition"])
    assert definition["States"]["Invoke"]["Parameters"]["FunctionName"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:probe"
    )
    assert described["type"] == "EXPRESS"
    assert described["loggingConfiguration"]["level"] == "ALL"
    assert described["tracingConfiguration"] == {"enabled": True}

    # Stock moto records the stack's machine in its non-executing backend, with an empty definition.
    stock_machine = stock.aws("stepfunctions", "describe-state-machine", "--state-machine-arn", arn, check=False)
    assert stock_machine.returncode != 0 and "StateMachineDoesNotExist" in stock_machine.stderr


def test_start_sync_execution__real_handler_errors_drive_retry_and_catch(local: LocalAws, stock: LocalAws) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:probe-express"

    def run(aws: LocalAws, payload: dict[str, Any], check: bool = True) -> Any:
        args = ("stepfunctions", "start-sync-execution", "--state-machine-arn", arn, "--input", json.dumps(payload))
        return aws.aws(*args, check=check)

    caught = json.loads(run(local, {"mode": "raise"}).stdout)
    assert caught["status"] == "SUCCEEDED" and json.loads(caught["output"]) == {"caught": "ProbeError"}
    retried = json.loads(run(local, {"mode": "flaky"}).stdout)
    assert retried["status"] == "SUCCEEDED"
    assert json.loads(retried["output"])["result"]["flaky"] == 2  # failed once, retried once (warm module state)

    assert run(stock, {"mode": "hello"}, check=False).returncode != 0


def test_start_sync_execution__refused_for_standard_machines(local: LocalAws) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:probe-standard"
    refused = local.aws("stepfunctions", "start-sync-execution", "--state-machine-arn", arn, check=False)
    assert refused.returncode != 0 and "StateMachineTypeNotSupported" in refused.stderr


def _records(aws: LocalAws) -> list[Any]:
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=probe.RECORDS).get("Contents", [])]
    return [json.loads(s3.get_object(Bucket=probe.RECORDS, Key=key)["Body"].read()) for key in keys]


def _queue_depth(aws: LocalAws, queue: str) -> int:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_pipes__move_queue_messages_to_the_state_machine(local: LocalAws, stock: LocalAws) -> None:
    for aws in (local, stock):
        url = aws.client("sqs").get_queue_url(QueueName="probe-sync")["QueueUrl"]
        aws.aws("--endpoint-url", aws.endpoint, "sqs", "send-message", "--queue-url", url, "--message-body", "sync-1")
        aws.client("sqs").send_message(QueueUrl=url.replace("probe-sync", "probe-async"), MessageBody="async-1")

    def pipe_batches() -> list[Any]:
        return [r for r in _records(local) if isinstance(r, list)]

    batches = _eventually(lambda: len(pipe_batches()) == 2 and pipe_batches())
    assert sorted((m["body"], m["eventSource"]) for batch in batches for m in batch) == [
        ("async-1", "aws:sqs"),
        ("sync-1", "aws:sqs"),
    ]
    assert _eventually(lambda: _queue_depth(local, "probe-sync") == 0)
    standard = "arn:aws:states:us-east-1:123456789012:stateMachine:probe-standard"
    executions = _eventually(
        lambda: local.client("stepfunctions").list_executions(stateMachineArn=standard)["executions"]
    )
    assert len(executions) == 1 and _queue_depth(local, "probe-async") == 0

    assert _queue_depth(stock, "probe-sync") == 1  # stock moto creates no pipe: the message stays
    assert stock.client("pipes").list_pipes()["Pipes"] == []


def test_eventbridge__rule_delivers_to_the_lambda_target(local: LocalAws, stock: LocalAws) -> None:
    entry = json.dumps([{"Source": "probe.events", "DetailType": "ProbeHappened", "Detail": '{"n": 1}'}])
    local.aws("events", "put-events", "--entries", entry)

    def delivered_events() -> list[Any]:
        return [r for r in _records(local) if isinstance(r, dict) and "detail-type" in r]

    _eventually(delivered_events)
    time.sleep(1.0)  # a second delivery (the schedule-only rule matching too) would arrive by now
    delivered = delivered_events()
    assert [(r["detail-type"], r["detail"]) for r in delivered] == [("ProbeHappened", {"n": 1})]

    assert stock.aws("events", "put-events", "--entries", entry, check=False).returncode != 0  # HTTP 500


def test_awscli_sqs__ignores_aws_endpoint_url_in_us_east_1(local: LocalAws) -> None:
    # A proxy on a closed loopback port: the CLI's connection attempt fails locally, naming its URL.
    env = {**local.env, "HTTPS_PROXY": f"http://127.0.0.1:{free_port()}", "AWS_MAX_ATTEMPTS": "1"}
    blocked = local.aws("sqs", "list-queues", "--debug", "--cli-connect-timeout", "2", check=False, env=env)
    assert blocked.returncode != 0 and "url=https://queue.amazonaws.com/" in blocked.stderr
    listed = json.loads(local.aws("--endpoint-url", local.endpoint, "sqs", "list-queues").stdout)
    assert any(url.endswith("/probe-sync") for url in listed["QueueUrls"])


def test_resources_the_deploy_scripts_check__answer_as_aws(local: LocalAws) -> None:
    function = json.loads(local.aws("lambda", "get-function", "--function-name", "probe").stdout)
    assert function["Configuration"]["State"] == "Active"
    rule = local.client("events").describe_rule(Name="probe-rule")
    assert rule["State"] == "ENABLED"
    pipe = local.client("pipes").describe_pipe(Name="probe-sync-pipe")
    assert pipe["CurrentState"] == "RUNNING" and pipe["Target"].endswith(":stateMachine:probe-express")
