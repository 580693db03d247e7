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
#: Distributed Map item source: one S3 object (here the previous stage's ``parts.json``).
S3_GET_OBJECT = "arn:aws:states:::s3:getObject"
#: Service integrations our definitions may use (the validation suite checks against this).
KNOWN_INTEGRATIONS = frozenset({LAMBDA_INVOKE, GLUE_START_JOB_RUN_SYNC, STATES_START_EXECUTION_SYNC})
#: The handlers' part-list object beside each stage manifest (lambdas/README.md "Sharded hand-off").
PARTS_LIST = "parts.json"
#: The first stage's source shards (the plan step writes it; lambdas/README.md "Sharded hand-off").
SOURCES_LIST = "sources.json"

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
    #: Set for a part-wise stage of a sharded machine: Distributed Map children at once.
    map_concurrency: int | None = None

    @property
    def mapped(self) -> bool:
        """Runs once per part under a Distributed Map, then once more to write the manifest."""
        return self.map_concurrency is not None

    @property
    def placeholder(self) -> str:
        """Substitution key of the step's target: ``ETLFunctionArn`` / ``HeavyETLJobName``."""
        return f"{self.name}FunctionArn" if self.kind == "lambda" else f"{self.name}JobName"


@dataclass(frozen=True)
class Sharding:
    """The hand-off of a sharded (standard) machine: parts of ``part_size``, at most ``max_parts``.

    ``max_shards`` (a first stage that reads the sources): its Map's ``MaxItems`` over ``sources.json``.
    """

    part_size: int
    max_parts: int
    max_shards: int | None = None


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


def glue_arguments(step: TaskStep, previous: TaskStep | None, sharding: Sharding | None = None) -> dict[str, Any]:
    """Glue job arguments; keys resolved by ``States.Format`` (the upstream sent literal ``${...}``)."""
    prev = previous.name if previous else step.name
    extra = {"--part-size": str(sharding.part_size)} if sharding else {}
    return {
        "--execution-id.$": "$$.Execution.Name",
        "--input-bucket": f"${{{BUCKET_PLACEHOLDER}}}",
        "--input-key.$": f"States.Format('{EXECUTIONS_PREFIX}{{}}/{prev}/output.json', $$.Execution.Name)",
        "--output-bucket": f"${{{BUCKET_PLACEHOLDER}}}",
        "--output-key.$": f"States.Format('{EXECUTIONS_PREFIX}{{}}/{step.name}/output.json', $$.Execution.Name)",
        "--current-stage": step.name,
        "--previous-stage": prev,
        **extra,
    }


def retry_policy(step: TaskStep, express: bool) -> RetryPolicy:
    """The retry policy of a step's kind (express Lambda tasks wait less: docs/design.md "Time budgets")."""
    if step.kind == "glue":
        return GLUE_RETRY
    return EXPRESS_LAMBDA_RETRY if express else LAMBDA_RETRY


def _attempts_seconds(step: TaskStep, express: bool) -> float:
    """One Task of ``step`` at its worst: every attempt times out, plus every retry wait."""
    policy = retry_policy(step, express)
    waits = sum(policy.interval_seconds * policy.backoff_rate**k for k in range(policy.max_attempts))
    return step.timeout_seconds * (1 + policy.max_attempts) + waits


def worst_case_seconds(steps: Sequence[TaskStep], *, express: bool, sharding: Sharding | None = None) -> int:
    """Longest run of ``steps``: each may time out on every attempt, plus every retry wait.

    Each policy retries at least one error that may come after the work ran, so every retry counts
    as a whole attempt (rule ASL010 states the same independently). A mapped step runs its
    ``max_parts`` children in waves of ``map_concurrency``, then its manifest Task; a first stage
    over the source runs its plan Task, then ``max_shards`` children in waves, then its manifest.
    """
    total = 0.0
    for index, step in enumerate(steps):
        one = _attempts_seconds(step, express)
        if step.mapped and sharding is not None:
            assert step.map_concurrency is not None
            first = index == 0 and fans_out_source(steps, sharding)
            items = sharding.max_shards if first and sharding.max_shards is not None else sharding.max_parts
            # The Map's waves, its manifest Task, and the first stage's plan Task before them.
            total += math.ceil(items / step.map_concurrency) * one + one + (one if first else 0)
        else:
            total += one
    return math.ceil(total)


def _end(state: dict[str, Any], next_state: str | None) -> dict[str, Any]:
    if next_state:
        state["Next"] = next_state
    else:
        state["End"] = True
    return state


def _lambda_task(step: TaskStep, payload: Any) -> dict[str, Any]:
    """A Lambda Task: ``payload`` is the Payload object, or a path (``"$"``) to take it from."""
    parameters: dict[str, Any] = {"FunctionName": f"${{{step.placeholder}}}"}
    parameters["Payload.$" if isinstance(payload, str) else "Payload"] = payload
    return {"Type": "Task", "Resource": LAMBDA_INVOKE, "Parameters": parameters}


def _bounded(state: dict[str, Any], step: TaskStep, express: bool) -> dict[str, Any]:
    state["TimeoutSeconds"] = step.timeout_seconds
    # Stages hand data over in S3; the 256 KB state payload carries only the request.
    state["ResultPath"] = None
    state["Retry"] = [retry_policy(step, express).to_asl()]
    return state


def task_state(
    step: TaskStep,
    previous: TaskStep | None,
    next_state: str | None,
    request_path: str,
    *,
    express: bool = False,
    sharding: Sharding | None = None,
) -> dict[str, Any]:
    """A Task with the retry policy of its kind (express: shorter waits) and a Catch to its own Fail state.

    In a sharded machine the first stage writes parts (``"output": "parts"``) and a mapped stage's
    Task is its manifest step (``"collectParts": true``), which follows the stage's Map.
    """
    if step.kind == "lambda":
        payload = stage_payload(step, previous, request_path)
        if sharding is not None and previous is None and not step.mapped:
            payload["output"] = "parts"
        if sharding is not None and step.mapped:
            # The manifest step after the Map (the first stage's: over its source shards).
            payload["collectParts" if previous is not None else "collectSources"] = True
        state = _lambda_task(step, payload)
    else:
        state = {
            "Type": "Task",
            "Resource": GLUE_START_JOB_RUN_SYNC,
            "Parameters": {
                "JobName": f"${{{step.placeholder}}}",
                "Arguments": glue_arguments(step, previous, sharding),
            },
        }
    _bounded(state, step, express)
    state["Catch"] = _catch(step.name)
    return _end(state, next_state)


def manifest_state_name(step: TaskStep) -> str:
    """The manifest Task after a mapped step's Map: ``FilterManifest``."""
    return f"{step.name}Manifest"


def map_state(step: TaskStep, previous: TaskStep, sharding: Sharding) -> dict[str, Any]:
    """A Distributed Map running ``step`` once per part of ``previous``'s ``parts.json``.

    Children are STANDARD executions: a part's worst case (three attempts and waits) may pass the
    5 minutes an EXPRESS child may live, and their history shows each retry. Each child gets the
    execution context of the parent run (``$$.Execution.Name`` in ``ItemSelector`` is the
    parent's) plus its part; it writes its part and its result in S3 and returns nothing, so the
    Map's result stays far below the 256 KB state limit at ``max_parts`` items. A failed part
    (after its retries) fails the Map and the run (``ToleratedFailureCount`` 0): a missing
    part would be missing candidates, so the run fails loudly and waits for scripts/redrive.sh.
    ``MaxItems`` is the configured largest run; the manifest step refuses a run whose parts do
    not all have a result, so a larger one can never pass silently truncated.
    """
    selector = stage_payload(step, previous, "$")  # never first: no request in it
    selector["part.$"] = "$$.Map.Item.Value"
    comment = f"{step.name} once per part of {previous.name} (executions/{{executionId}}/{previous.name}/{PARTS_LIST})"
    return _distributed_map(step, previous.name, PARTS_LIST, sharding.max_parts, selector, comment)


def source_map_state(step: TaskStep, sharding: Sharding, request_path: str) -> dict[str, Any]:
    """A Distributed Map running the first stage once per source shard of its own ``sources.json``.

    The plan step wrote the shards (byte ranges of the source objects, lambdas/README.md); each
    child gets the request and its shard and writes its parts. ``MaxItems`` is ``maxSourceShards``,
    which the plan step refuses to exceed.
    """
    assert sharding.max_shards is not None
    selector = stage_payload(step, None, request_path)
    selector["source.$"] = "$$.Map.Item.Value"
    comment = f"{step.name} once per source shard (executions/{{executionId}}/{step.name}/{SOURCES_LIST})"
    return _distributed_map(step, step.name, SOURCES_LIST, sharding.max_shards, selector, comment)


def _distributed_map(
    step: TaskStep, owner: str, item_list: str, max_items: int, selector: dict[str, Any], comment: str
) -> dict[str, Any]:
    """The Distributed Map of ``step`` over ``executions/{id}/{owner}/{item_list}`` (see :func:`map_state`)."""
    assert step.map_concurrency is not None
    part = f"{step.name}Part"
    child = _lambda_task(step, "$")  # the ItemSelector built the part event
    _bounded(child, step, express=False)
    child["Catch"] = _catch(part)
    # Children return {}: 1,000 results of the part event would alone fill the 256 KB limit.
    child["OutputPath"] = None
    child["End"] = True
    key = f"States.Format('{EXECUTIONS_PREFIX}{{}}/{owner}/{item_list}', $$.Execution.Name)"
    return {
        "Type": "Map",
        "Comment": comment,
        "ItemReader": {
            "Resource": S3_GET_OBJECT,
            "ReaderConfig": {"InputType": "JSON", "MaxItems": max_items},
            "Parameters": {"Bucket": f"${{{BUCKET_PLACEHOLDER}}}", "Key.$": key},
        },
        "ItemSelector": selector,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": part,
            "States": {part: child, f"{part}Failed": fail_state(part)},
        },
        "MaxConcurrency": step.map_concurrency,
        "ToleratedFailureCount": 0,
        "ResultPath": None,
        "Catch": _catch(step.name),
        "Next": manifest_state_name(step),
    }


def plan_state_name(step: TaskStep) -> str:
    """The plan Task before a first stage's source Map: ``ETLPlan``."""
    return f"{step.name}Plan"


def plan_state(step: TaskStep, request_path: str) -> dict[str, Any]:
    """The first stage's plan step: lists the source and writes ``sources.json`` (``"output": "plan"``)."""
    payload = stage_payload(step, None, request_path)
    payload["output"] = "plan"
    state = _bounded(_lambda_task(step, payload), step, express=False)
    state["Catch"] = _catch(step.name)
    return _end(state, step.name)


def fans_out_source(steps: Sequence[TaskStep], sharding: Sharding | None) -> bool:
    """Whether the first step runs once per source shard (a sharded run whose first stage reads sources)."""
    return bool(steps) and sharding is not None and sharding.max_shards is not None and steps[0].mapped


def entry_state(steps: Sequence[TaskStep], sharding: Sharding | None) -> str:
    """The state the machine's input leads to: the first step, or its plan step."""
    return plan_state_name(steps[0]) if fans_out_source(steps, sharding) else steps[0].name


def pipeline(
    steps: Sequence[TaskStep],
    *,
    comment: str,
    timeout_seconds: int,
    start_states: dict[str, Any] | None = None,
    start_at: str | None = None,
    request_path: str = "$",
    express: bool = False,
    sharding: Sharding | None = None,
) -> dict[str, Any]:
    """Chain ``steps`` in order after optional ``start_states`` (which must lead to the first step).

    With ``sharding`` a mapped step becomes its Distributed Map followed by its manifest Task.
    """
    states: dict[str, Any] = dict(start_states or {})
    for index, step in enumerate(steps):
        previous = steps[index - 1] if index else None
        following = steps[index + 1].name if index + 1 < len(steps) else None
        if previous is None and fans_out_source(steps, sharding):
            assert sharding is not None
            states[plan_state_name(step)] = plan_state(step, request_path)
            states[step.name] = source_map_state(step, sharding, request_path)
            states[manifest_state_name(step)] = task_state(
                step, previous, following, request_path, express=express, sharding=sharding
            )
        elif sharding is not None and step.mapped and previous is not None:
            states[step.name] = map_state(step, previous, sharding)
            states[manifest_state_name(step)] = task_state(
                step, previous, following, request_path, express=express, sharding=sharding
            )
        else:
            states[step.name] = task_state(step, previous, following, request_path, express=express, sharding=sharding)
        states[f"{step.name}Failed"] = fail_state(step.name)
    return {
        "Comment": comment,
        "StartAt": start_at or entry_state(steps, sharding),
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
