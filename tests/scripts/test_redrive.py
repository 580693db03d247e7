"""scripts/redrive.sh on the local AWS (issue 14 item 4, docs/design.md 4.3 "No request lost").

dev's batch (standard) workflow is deployed; a status-change event of a failed execution is put on
the default bus the way Step Functions sends it (the shape of
https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html: ``source``
``aws.states``, ``detail.status``, ``detail.stateMachineArn``, ``detail.input`` a JSON string); the
stack's rule must park it in ``ceap-workflow-batch-failed`` (the name of docs/validation-policy.md),
and redrive.sh must send ``detail.input`` back to ``ceap-workflow-batch-queue``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Scripts

pytestmark = [pytest.mark.emulator, pytest.mark.xdist_group("local_aws")]

ENV = "dev"
STACK = "CeapWorkflow-batch"


def _queue_url(scripts: Scripts, name: str) -> str:
    url: str = scripts.aws(
        "--endpoint-url", scripts.env["AWS_ENDPOINT_URL"], "sqs", "get-queue-url", "--queue-name", name
    )["QueueUrl"]
    return url


def _depth(scripts: Scripts, url: str) -> int:
    attributes = scripts.aws(
        "--endpoint-url",
        scripts.env["AWS_ENDPOINT_URL"],
        "sqs",
        "get-queue-attributes",
        "--queue-url",
        url,
        "--attribute-names",
        "ApproximateNumberOfMessages",
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _receive(scripts: Scripts, url: str, delete: bool = True) -> list[dict[str, Any]]:
    """Receive what waits in ``url`` (the parked status-change events): delete it, or leave it visible."""
    endpoint = ["--endpoint-url", scripts.env["AWS_ENDPOINT_URL"], "sqs"]
    peek = [] if delete else ["--visibility-timeout", "0"]
    answer = scripts.aws(*endpoint, "receive-message", "--queue-url", url, "--max-number-of-messages", "10", *peek)
    messages = (answer or {}).get("Messages", [])
    if delete:
        for message in messages:
            scripts.aws(*endpoint, "delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def _failure_event(machine_arn: str, status: str, request: dict[str, Any]) -> dict[str, Any]:
    detail = {
        "executionArn": f"{machine_arn.replace(':stateMachine:', ':execution:')}:{request['correlationId']}",
        "stateMachineArn": machine_arn,
        "name": request["correlationId"],
        "status": status,
        "input": json.dumps(request),
    }
    return {
        "Source": "aws.states",
        "DetailType": "Step Functions Execution Status Change",
        "Detail": json.dumps(detail),
    }


@pytest.fixture(scope="module")
def deployed(scripts: Scripts, build_copy: Path) -> str:
    run = scripts.run(
        "deploy.sh", ENV, "--yes", "--build", str(build_copy), "--only", "CeapDatabase-dev", "--only", STACK
    )
    assert run.returncode == 0, run.output
    resources = scripts.aws("cloudformation", "list-stack-resources", "--stack-name", STACK)["StackResourceSummaries"]
    machine: str = next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "WorkflowStateMachine")
    return machine


def test_redrive__failed_requests_parked_by_the_rule_go_back_to_the_queue(
    scripts: Scripts, build_copy: Path, deployed: str
) -> None:
    failed_url = _queue_url(scripts, "ceap-workflow-batch-failed")
    requests = [{"correlationId": f"burst-{i}", "programId": "retail", "marketplace": "US"} for i in range(3)]
    entries = [
        _failure_event(deployed, s, r) for s, r in zip(("FAILED", "TIMED_OUT", "ABORTED"), requests, strict=True)
    ]
    # A SUCCEEDED execution is not parked: the rule matches failures only.
    entries.append(_failure_event(deployed, "SUCCEEDED", {"correlationId": "ok-0"}))
    scripts.aws("events", "put-events", "--entries", json.dumps(entries))
    deadline = time.monotonic() + 30
    while _depth(scripts, failed_url) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _depth(scripts, failed_url) == 3

    dry = scripts.run("redrive.sh", "batch", ENV, "--dry-run", "--build", str(build_copy))
    assert dry.returncode == 0, dry.output
    assert "send-message" not in " ".join(dry.calls) and "delete-message" not in " ".join(dry.calls), dry.calls
    assert _depth(scripts, failed_url) == 3

    refused = scripts.run("redrive.sh", "batch", ENV, "--build", str(build_copy))  # no terminal, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr, refused.output

    run = scripts.run("redrive.sh", "batch", ENV, "--yes", "--build", str(build_copy))
    assert run.returncode == 0, run.output
    assert sorted(line for line in run.stdout.splitlines() if line.startswith("redriven ")) == [
        f"redriven burst-{i}" for i in range(3)
    ], run.stdout
    assert "redriven 3, failed 0" in run.stdout
    # Each request was sent exactly as the execution got it (detail.input): the queue or the pipe has it.
    sent = [c for c in run.calls if c.split()[1] == "send-message"]
    assert len(sent) == 3
    # The pipe starts them again; they lack dateRange, so each fails again (ETL refuses it) and its
    # new execution's event is parked again: still not lost, and redrive.sh did not loop over them.
    again: dict[str, str] = {}
    deadline = time.monotonic() + 90
    while len(again) < 3 and time.monotonic() < deadline:
        for event in _receive(scripts, failed_url, delete=False):
            batch = json.loads(event["detail"]["input"])  # the pipe's SQS records, one per execution
            again[json.loads(batch[0]["body"])["correlationId"]] = event["detail"]["executionArn"]
        time.sleep(0.5)
    assert sorted(again) == [f"burst-{i}" for i in range(3)]
    assert not any(arn.endswith(f":{correlation_id}") for correlation_id, arn in again.items())  # new executions
    # Redriven again, each is the original request, not the pipe's batch wrapped in a second one.
    second = scripts.run("redrive.sh", "batch", ENV, "--yes", "--build", str(build_copy))
    assert second.returncode == 0, second.output
    assert sorted(line for line in second.stdout.splitlines() if line.startswith("redriven ")) == [
        f"redriven burst-{i}" for i in range(3)
    ], second.stdout


def test_redrive__bad_input_exits_2_without_aws_calls(scripts: Scripts, build_copy: Path) -> None:
    for args, message in (
        (("nope", ENV), "workflow 'nope': not a workflow of dev (configured: batch, realtime)"),
        (("batch", "nowhere"), "unknown environment 'nowhere'"),
        (("batch", ENV, "--max", "0"), "--max needs a positive number"),
        (("batch",), "missing WORKFLOW and ENV"),
    ):
        run = scripts.run("redrive.sh", *args, "--build", str(build_copy))
        assert run.returncode == 2, run.output
        assert message in run.stderr and "Traceback" not in run.output, run.output
        assert run.calls == [], run.calls


def test_failed_execution__the_stack_rule_parks_its_request_for_redrive(scripts: Scripts, deployed: str) -> None:
    """A real execution of the deployed machine fails; the emulator's status event reaches the failed queue."""
    failed_url = _queue_url(scripts, "ceap-workflow-batch-failed")
    # No dateRange, which docs/data.md makes required: the ETL stage refuses it, the execution FAILS.
    request = {"correlationId": "invalid-0", "programId": "retail", "marketplace": "US"}
    execution = scripts.aws(
        "stepfunctions", "start-execution", "--state-machine-arn", deployed, "--name", "invalid-0",
        "--input", json.dumps(request),
    )["executionArn"]  # fmt: skip
    mine: list[dict[str, Any]] = []
    deadline = time.monotonic() + 90
    while not mine and time.monotonic() < deadline:
        mine = [e for e in _receive(scripts, failed_url) if e["detail"]["executionArn"] == execution]
        time.sleep(0.5)
    described = scripts.aws("stepfunctions", "describe-execution", "--execution-arn", execution)
    assert (described["status"], described.get("error")) == ("FAILED", "ETLError")
    assert len(mine) == 1
    assert mine[0]["detail"]["status"] == "FAILED"
    assert json.loads(mine[0]["detail"]["input"]) == request  # what redrive.sh sends back
