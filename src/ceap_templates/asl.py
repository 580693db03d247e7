"""Amazon States Language definitions as plain data (docs/design.md 6).

Definitions are emitted as ``Definition`` objects; ARNs and names enter through
``${Placeholder}`` keys of ``DefinitionSubstitutions``, so cfn-lint validates the object and a
reviewer reads the machine in the JSON artifact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ceap_templates.constants import (
    EXECUTIONS_PREFIX,
    EXPRESS_LAMBDA_RETRY,
    GLUE_RETRY,
    GLUE_TIMEOUT_MINUTES,
    LAMBDA_RETRY,
    RetryPolicy,
)

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
GLUE_START_JOB_RUN_SYNC = "arn:aws:states:::glue:startJobRun.sync"
STATES_START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2"
#: Service integrations our definitions may use (the validation suite checks against this).
KNOWN_INTEGRATIONS = frozenset({LAMBDA_INVOKE, GLUE_START_JOB_RUN_SYNC, STATES_START_EXECUTION_SYNC})

#: Where the request sits in the state once the input is normalised.
REQUEST_PATH = "$.request"
BUCKET_PLACEHOLDER = "WorkflowBucket"


@dataclass(frozen=True)
class TaskStep:
    """One step as the definition sees it: a Lambda stage or a Glue job.

    ``timeout_seconds`` is the Lambda function's ``Timeout``; the Task state gets the same, so it
    never gives up on a function that is still running (Glue steps: the job's timeout).
    """

    name: str
    kind: str  # "lambda" | "glue"
    timeout_seconds: int = GLUE_TIMEOUT_MINUTES * 60

    @property
    def placeholder(self) -> str:
        """Substitution key of the step's target: ``ETLFunctionArn`` / ``HeavyETLJobName``."""
        return f"{self.name}FunctionArn" if self.kind == "lambda" else f"{self.name}JobName"


def fail_state(stage: str) -> dict[str, Any]:
    """The Fail state of one stage: fixed error name (docs/legacy-system.md), cause carries type and message."""
    return {
        "Type": "Fail",
        "Error": f"{stage}Error",
        "CausePath": f"States.Format('{stage} stage failed after retries: {{}}: {{}}', $.error.Error, $.error.Cause)",
    }


def _catch(stage: str) -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{stage}Failed"}]


def stage_payload(step: TaskStep, previous: TaskStep | None, request_path: str) -> dict[str, Any]:
    """Execution context of seed 002 Req. 2.1; the first stage also gets the request."""
    payload: dict[str, Any] = {
        "executionId.$": "$$.Execution.Name",
        "currentStage": step.name,
        "previousStage": previous.name if previous else None,
        "workflowBucket": f"${{{BUCKET_PLACEHOLDER}}}",
    }
    if previous is None:
        payload["initialData.$"] = request_path
    return payload


def glue_arguments(step: TaskStep, previous: TaskStep | None) -> dict[str, Any]:
    """Glue job arguments; keys resolved by ``States.Format`` (the upstream sent literal ``${...}``)."""
    prev = previous.name if previous else step.name
    return {
        "--execution-id.$": "$$.Execution.Name",
        "--input-bucket": f"${{{BUCKET_PLACEHOLDER}}}",
        "--input-key.$": f"States.Format('{EXECUTIONS_PREFIX}{{}}/{prev}/output.json', $$.Execution.Name)",
        "--output-bucket": f"${{{BUCKET_PLACEHOLDER}}}",
        "--output-key.$": f"States.Format('{EXECUTIONS_PREFIX}{{}}/{step.name}/output.json', $$.Execution.Name)",
        "--current-stage": step.name,
        "--previous-stage": prev,
    }


def retry_policy(step: TaskStep, express: bool) -> RetryPolicy:
    """The retry policy of a step's kind (express Lambda tasks wait less: docs/design.md "Time budgets")."""
    if step.kind == "glue":
        return GLUE_RETRY
    return EXPRESS_LAMBDA_RETRY if express else LAMBDA_RETRY


def worst_case_seconds(steps: Sequence[TaskStep], *, express: bool) -> int:
    """Longest run of ``steps``: each may time out on every attempt, plus every retry wait.

    Each policy retries at least one error that may come after the work ran, so every retry counts
    as a whole attempt (rule ASL010 states the same independently).
    """
    total = 0.0
    for step in steps:
        policy = retry_policy(step, express)
        waits = sum(policy.interval_seconds * policy.backoff_rate**k for k in range(policy.max_attempts))
        total += step.timeout_seconds * (1 + policy.max_attempts) + waits
    return math.ceil(total)


def task_state(
    step: TaskStep, previous: TaskStep | None, next_state: str | None, request_path: str, *, express: bool = False
) -> dict[str, Any]:
    """A Task with the retry policy of its kind (express: shorter waits) and a Catch to its own Fail state."""
    if step.kind == "lambda":
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": f"${{{step.placeholder}}}",
                "Payload": stage_payload(step, previous, request_path),
            },
        }
    else:
        state = {
            "Type": "Task",
            "Resource": GLUE_START_JOB_RUN_SYNC,
            "Parameters": {"JobName": f"${{{step.placeholder}}}", "Arguments": glue_arguments(step, previous)},
        }
    state["TimeoutSeconds"] = step.timeout_seconds
    # Stages hand data over in S3; the 256 KB state payload carries only the request.
    state["ResultPath"] = None
    state["Retry"] = [retry_policy(step, express).to_asl()]
    state["Catch"] = _catch(step.name)
    if next_state:
        state["Next"] = next_state
    else:
        state["End"] = True
    return state


def pipeline(
    steps: Sequence[TaskStep],
    *,
    comment: str,
    timeout_seconds: int,
    start_states: dict[str, Any] | None = None,
    start_at: str | None = None,
    request_path: str = "$",
    express: bool = False,
) -> dict[str, Any]:
    """Chain ``steps`` in order after optional ``start_states`` (which must lead to the first step)."""
    states: dict[str, Any] = dict(start_states or {})
    for index, step in enumerate(steps):
        previous = steps[index - 1] if index else None
        following = steps[index + 1].name if index + 1 < len(steps) else None
        states[step.name] = task_state(step, previous, following, request_path, express=express)
        states[f"{step.name}Failed"] = fail_state(step.name)
    return {
        "Comment": comment,
        "StartAt": start_at or steps[0].name,
        "TimeoutSeconds": timeout_seconds,
        "States": states,
    }


def placeholders(definition: Any) -> set[str]:
    """Every ``${Key}`` used in a definition (must equal the substitution keys)."""
    import re

    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            found.update(re.findall(r"\$\{([A-Za-z0-9_]+)\}", node))

    walk(definition)
    return found
