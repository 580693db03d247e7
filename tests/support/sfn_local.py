"""Run a state machine taken from a built template in moto's executing Step Functions engine."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"


def sample_value(key: str) -> str:
    """A stand-in for a ``DefinitionSubstitutions`` value: ARN for ``*Arn``, else a name."""
    if key.endswith("FunctionArn"):
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{key.removesuffix('FunctionArn')}"
    if key.endswith("Arn"):
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{key.removesuffix('Arn')}"
    return re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower()


def definition_from_template(
    template: Mapping[str, Any], logical_id: str, values: Mapping[str, str] | None = None
) -> str:
    """The machine's ``Definition`` with every ``${Key}`` substituted (sample or given values)."""
    props = template["Resources"][logical_id]["Properties"]
    text = json.dumps(props["Definition"])
    for key in props.get("DefinitionSubstitutions", {}):
        text = text.replace("${" + key + "}", (values or {}).get(key, sample_value(key)))
    leftover = re.findall(r"\$\{(\w+)\}", text)
    assert not leftover, f"placeholders without substitution: {leftover}"
    return text


@dataclass(frozen=True)
class ExecutionResult:
    status: str
    error: str | None
    cause: str | None
    events: list[dict[str, Any]]

    def scheduled(self) -> list[dict[str, Any]]:
        """Parameters of every scheduled task, in order (retries appear again)."""
        return [
            json.loads(e["taskScheduledEventDetails"]["parameters"])
            for e in self.events
            if e["type"] == "TaskScheduled"
        ]

    def entered(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.events if e["type"].endswith("StateEntered")]

    def task_failures(self) -> list[dict[str, Any]]:
        return [e["taskFailedEventDetails"] for e in self.events if e["type"] == "TaskFailed"]


def run(definition: str, name: str, execution_input: Any, *, timeout: float = 120.0) -> ExecutionResult:
    """Create the machine, start one execution named ``name`` and wait for its end (inside moto)."""
    client = boto3.client("stepfunctions", region_name=REGION)
    arn = client.create_state_machine(
        name=f"machine-{name}", definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    execution = client.start_execution(stateMachineArn=arn, name=name, input=json.dumps(execution_input))
    deadline = time.monotonic() + timeout
    while True:
        described = client.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    events = client.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    return ExecutionResult(described["status"], described.get("error"), described.get("cause"), events)
