"""The compat patch sfn_status_events: Standard executions announce their status changes to EventBridge.

Expected behaviour from https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html:
``source`` ``aws.states``, ``detail-type`` ``Step Functions Execution Status Change``, ``detail``
with ``executionArn``, ``stateMachineArn``, ``status``, ``input`` (a JSON string), ``error`` and
``cause``; one event per status change (RUNNING, then the end state); Express workflows send none.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from support.local_aws_server import LocalAws

pytestmark = pytest.mark.xdist_group("local_aws")

ROLE = "arn:aws:iam::123456789012:role/status-events"
FAILING = {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Stage.Failed", "Cause": "test"}}}


def _machine_with_rule(aws: LocalAws, machine_type: str = "STANDARD") -> tuple[str, str]:
    """A failing machine and a queue that a rule on its status changes (any status) feeds."""
    sfn, events, sqs = aws.client("stepfunctions"), aws.client("events"), aws.client("sqs")
    name = f"status-{uuid.uuid4().hex[:8]}"
    machine = sfn.create_state_machine(name=name, roleArn=ROLE, definition=json.dumps(FAILING), type=machine_type)[
        "stateMachineArn"
    ]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"stateMachineArn": [machine]},
    }
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return machine, queue


def _received(aws: LocalAws, queue: str, count: int, seconds: float = 10) -> list[dict[str, Any]]:
    sqs, found = aws.client("sqs"), []
    deadline = time.monotonic() + seconds
    while len(found) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.2)
    return found


def test_stock_moto__a_failed_execution_sends_no_event(stock_aws: LocalAws) -> None:
    machine, queue = _machine_with_rule(stock_aws)
    stock_aws.client("stepfunctions").start_execution(stateMachineArn=machine, name="e1", input="{}")
    assert _received(stock_aws, queue, 1, seconds=3) == []


def test_failed_standard_execution__sends_running_then_failed_with_its_input(local_aws: LocalAws) -> None:
    machine, queue = _machine_with_rule(local_aws)
    request = {"correlationId": "c-1", "programId": "retail"}
    execution = local_aws.client("stepfunctions").start_execution(
        stateMachineArn=machine, name="c-1", input=json.dumps(request)
    )["executionArn"]
    events = _received(local_aws, queue, 2)
    assert [e["detail"]["status"] for e in events] == ["RUNNING", "FAILED"]
    failed = events[1]
    assert failed["source"] == "aws.states"
    assert failed["detail-type"] == "Step Functions Execution Status Change"
    assert failed["resources"] == [execution]
    assert failed["detail"]["executionArn"] == execution
    assert json.loads(failed["detail"]["input"]) == request
    assert (failed["detail"]["error"], failed["detail"]["cause"]) == ("Stage.Failed", "test")
    assert failed["detail"]["stopDate"] >= failed["detail"]["startDate"]


def test_express_execution__sends_no_event(local_aws: LocalAws) -> None:
    machine, queue = _machine_with_rule(local_aws, "EXPRESS")
    local_aws.client("stepfunctions").start_execution(stateMachineArn=machine, name="x-1", input="{}")
    assert _received(local_aws, queue, 1, seconds=3) == []
