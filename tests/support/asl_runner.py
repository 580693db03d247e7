"""Run a state machine of an emitted CloudFormation template on moto's executing Step Functions.

moto (docs/tools.md moto) ignores ``Definition`` objects of stacks, but executes a definition created
through the Step Functions API under ``mock_aws(config={"stepfunctions": {"execute_state_machine":
True}, ...})``: the real ASL runs (Choice, Pass, Retry, Catch, ``$$.Execution.Name``, intrinsic
functions), while a Lambda task only echoes its payload. The execution history then shows every
task's resolved ``Parameters``, which is what a test needs to drive the real handlers in order.

Adaptations, all reported in :class:`AslRun`:

- every ``${Key}`` of ``DefinitionSubstitutions`` becomes a sample value derived from the key
  (:func:`sample_value`): a Lambda ARN for ``...FunctionArn``, a bucket name for ``...Bucket``;
- moto 5.2.5 fails every ``glue:startJobRun.sync`` task with ``States.Runtime: 'NoneType' object
  has no attribute 'interrupt_all'`` (its ``finally`` assumes a callback endpoint that only
  exists for integrations declaring ``.waitForTaskToken``). :func:`glue_sync_supported` declares
  that pattern for Glue, which creates the endpoint; the ``.sync`` polling of ``GetJobRun`` then
  runs unchanged. A Glue job of each task's ``JobName`` is created (moto runs no script);
- the machine is created as STANDARD whatever its type: moto (like AWS) describes no EXPRESS
  execution; the type, logging and tracing are properties to check on the template;
- the compat patch ``sfn_map_tolerance`` is applied: moto lets a Distributed Map succeed whose
  children failed; AWS fails it with ``States.ExceedToleratedFailureThreshold``.

If a moto mock is already active the runner shares its backends (moto nests mocks).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import boto3
from moto import mock_aws

from ceap_templates.local_aws import compat

ACCOUNT: Final = "123456789012"
ROLE_ARN: Final = f"arn:aws:iam::{ACCOUNT}:role/asl-runner"
EXECUTING_CONFIG: Final = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")
_GLUE_SYNC_TASK = re.compile(r"^arn:aws:states:::glue:startJobRun\.sync(:2)?$")


@contextmanager
def glue_sync_supported() -> Iterator[None]:
    """Work around moto's `.sync` bug for Glue tasks (see the module docstring)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_glue as glue_service,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )

    patterns = glue_service._SUPPORTED_INTEGRATION_PATTERNS
    added = ResourceCondition.WaitForTaskToken not in patterns
    patterns.add(ResourceCondition.WaitForTaskToken)
    try:
        yield
    finally:
        if added:
            patterns.discard(ResourceCondition.WaitForTaskToken)


def sample_value(key: str, region: str = "us-east-1") -> str:
    """A plausible value for a ``DefinitionSubstitutions`` key (deterministic, derived from it)."""
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower()
    if key.endswith("FunctionArn") or key.endswith("LambdaArn"):
        return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{key}"
    if key.endswith("StateMachineArn") or key.endswith("OrchestrationArn"):
        return f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{key}"
    if key.endswith("TopicArn"):
        return f"arn:aws:sns:{region}:{ACCOUNT}:{key}"
    if key.endswith("QueueArn"):
        return f"arn:aws:sqs:{region}:{ACCOUNT}:{key}"
    if key.endswith("QueueUrl"):
        return f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{key}"
    if key.endswith("RoleArn"):
        return f"arn:aws:iam::{ACCOUNT}:role/{key}"
    if key.endswith("Arn"):
        return f"arn:aws:sample:{region}:{ACCOUNT}:{key}"
    if key.endswith("Bucket") or key.endswith("BucketName"):
        return f"sample-{re.sub(r'[^a-z0-9-]', '', kebab)}"[:63]
    return f"sample-{kebab}"


@dataclass(frozen=True)
class TaskRun:
    """One scheduled task of an execution, in history order."""

    state: str
    resource: str
    parameters: dict[str, Any]

    @property
    def is_lambda(self) -> bool:
        return self.resource == "arn:aws:states:::lambda:invoke"


@dataclass(frozen=True)
class AslRun:
    """Outcome of :func:`run_state_machine`."""

    status: str
    error: str | None
    cause: str | None
    output: Any
    tasks: list[TaskRun]
    substitutions: dict[str, str]
    history: list[dict[str, Any]] = field(default_factory=list)

    def task_failures(self) -> list[dict[str, Any]]:
        """``taskFailedEventDetails`` of every failed task attempt, in order."""
        return [e["taskFailedEventDetails"] for e in self.history if e["type"] == "TaskFailed"]

    def entered(self) -> list[str]:
        """Names of the states entered, in order."""
        return [e["stateEnteredEventDetails"]["name"] for e in self.history if "stateEnteredEventDetails" in e]

    @property
    def lambda_payloads(self) -> list[dict[str, Any]]:
        """The ``Payload`` of every Lambda task, in execution order."""
        return [task.parameters["Payload"] for task in self.tasks if task.is_lambda]


def definition_of(template: Mapping[str, Any], logical_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``Definition`` object and ``DefinitionSubstitutions`` of a state machine resource."""
    resources = template.get("Resources", {})
    if logical_id not in resources:
        raise KeyError(f"no resource {logical_id!r} in the template (has: {', '.join(sorted(resources))})")
    resource = resources[logical_id]
    if resource.get("Type") != "AWS::StepFunctions::StateMachine":
        raise ValueError(f"{logical_id} is a {resource.get('Type')}, not an AWS::StepFunctions::StateMachine")
    props = resource.get("Properties", {})
    definition = props.get("Definition")
    if definition is None and isinstance(props.get("DefinitionString"), str):
        definition = json.loads(props["DefinitionString"])
    if not isinstance(definition, dict):
        raise ValueError(
            f"{logical_id} has no Definition object (a DefinitionString built with Fn::Sub is not supported)"
        )
    return definition, dict(props.get("DefinitionSubstitutions") or {})


def substitute(
    definition: Mapping[str, Any],
    keys: list[str],
    region: str = "us-east-1",
    overrides: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Replace every ``${Key}`` with :func:`sample_value` (or ``overrides``); unknown ones are an error."""
    values = {key: (overrides or {}).get(key) or sample_value(key, region) for key in keys}
    text = json.dumps(definition)
    unknown = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if unknown:
        raise ValueError(f"placeholders without a DefinitionSubstitutions entry: {', '.join(unknown)}")
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)].replace('"', '\\"'), text)
    substituted: dict[str, Any] = json.loads(text)
    return substituted, values


def _glue_jobs(states: Mapping[str, Any]) -> set[str]:
    """``JobName`` of every Glue ``.sync`` task (nested branches included): each needs a job to poll."""
    jobs: set[str] = set()
    for state in states.values():
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str) and _GLUE_SYNC_TASK.match(resource):
            job = (state.get("Parameters") or {}).get("JobName")
            if isinstance(job, str):
                jobs.add(job)
        for branch in state.get("Branches", []):
            jobs |= _glue_jobs(branch.get("States", {}))
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            jobs |= _glue_jobs(processor.get("States", {}))
    return jobs


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _tasks(events: list[dict[str, Any]]) -> list[TaskRun]:
    tasks = []
    state = ""
    for event in events:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        details = event.get("taskScheduledEventDetails")
        if event["type"] == "TaskScheduled" and details:
            resource = f"arn:aws:states:::{details['resourceType']}:{details['resource']}"
            tasks.append(TaskRun(state, resource, json.loads(details["parameters"])))
    return tasks


def run_state_machine(
    template: Mapping[str, Any],
    logical_id: str,
    execution_input: Any,
    *,
    execution_name: str = "asl-runner-execution",
    region: str = "us-east-1",
    timeout_seconds: float = 60.0,
    values: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> AslRun:
    """Execute a template's state machine on moto and return its tasks and outcome.

    Parameters
    ----------
    template : mapping
        The CloudFormation template (parsed JSON).
    logical_id : str
        Logical ID of the ``AWS::StepFunctions::StateMachine``.
    execution_input : Any
        The execution input (serialised to JSON).
    execution_name : str
        Becomes ``$$.Execution.Name`` (the handlers' ``executionId``).
    values : mapping, optional
        Substitution values to use instead of :func:`sample_value`.
    config : mapping, optional
        moto configuration (default: executing Step Functions, no Docker).

    Returns
    -------
    AslRun
        Status, error and cause of the execution, and each task with its resolved Parameters.
    """
    # A failed Map child must fail the Map as on AWS (moto ignores the failure thresholds).
    compat.apply_patch("sfn_map_tolerance")
    definition, substitution_keys = definition_of(template, logical_id)
    resolved, substituted = substitute(definition, sorted(substitution_keys), region, values)
    jobs = _glue_jobs(resolved.get("States", {}))

    with glue_sync_supported(), mock_aws(config=dict(config or EXECUTING_CONFIG)):  # type: ignore[arg-type]
        sfn = boto3.client("stepfunctions", region_name=region)
        glue = boto3.client("glue", region_name=region)
        for job in sorted(jobs):
            if job not in glue.list_jobs().get("JobNames", []):
                glue.create_job(
                    Name=job, Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": f"s3://sample/{job}.py"}
                )
        machine = sfn.create_state_machine(
            name=f"asl-runner-{logical_id}"[:80], definition=json.dumps(resolved), roleArn=ROLE_ARN
        )
        try:
            execution = sfn.start_execution(
                stateMachineArn=machine["stateMachineArn"], name=execution_name, input=json.dumps(execution_input)
            )
            deadline = time.monotonic() + timeout_seconds
            while True:
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                if described["status"] != "RUNNING":
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"execution {execution_name} still RUNNING after {timeout_seconds} s")
                time.sleep(0.05)
            events = _history(sfn, execution["executionArn"])
        finally:
            sfn.delete_state_machine(stateMachineArn=machine["stateMachineArn"])

    output = described.get("output")
    return AslRun(
        status=described["status"],
        error=described.get("error"),
        cause=described.get("cause"),
        output=json.loads(output) if output else None,
        tasks=_tasks(events),
        substitutions=substituted,
        history=events,
    )
