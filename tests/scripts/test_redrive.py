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
    assert _depth(scripts, failed_url) == 0
    # Each request was sent exactly as the execution got it (detail.input): the queue or the pipe has it.
    sent = [c for c in run.calls if c.split()[1] == "send-message"]
    assert len(sent) == 3


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
