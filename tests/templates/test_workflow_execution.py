"""The emitted definitions, executed: moto's Step Functions engine runs the built machines.

Lambda tasks call a loopback Lambda runtime (``tests/support/local_lambda.py``) so a task can
really fail with the handlers' error types; each task's parameters are read back from the
execution history.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ceap_templates.environment_build import EnvironmentBuild
from ceap_templates.layouts import CONSOLIDATED, WORKFLOWS
from support.asl_runner import AslRun, definition_of, run_state_machine, sample_value, substitute
from support.local_lambda import MOTO_CONFIG, LocalLambda, local_lambda

from .conftest import stack

pytestmark = pytest.mark.emulator

REQUEST = {"programId": "retail", "marketplace": "US", "dateRange": {"start": "2026-01-01", "end": "2026-01-02"}}
STAGES = ["ETL", "Filter", "Score", "Store", "Reactive"]
#: Issue 16: Filter, Score and Store of standard machines run once per part of the previous stage,
#: ETL once per source shard after its plan step.
MAPPED = ("Filter", "Score", "Store")
SOURCE_MAPPED = ("ETL",)
#: Parts each stage's parts.json lists in these runs: every Map runs 3 children.
PARTS = 3


def _put_part_lists(template: dict[str, Any], logical_id: str, name: str) -> None:
    """What the stub stages do not write: each stage's parts.json (lambdas/README.md "Sharded hand-off")."""
    _, substitutions = definition_of(template, logical_id)
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in sorted(sample_value(k) for k in substitutions if k.endswith("Bucket")):
        s3.create_bucket(Bucket=bucket)
        for stage in [*STAGES, "HeavyETL"]:
            items = [
                {"key": f"executions/{name}/{stage}/parts/part-{i:05d}.jsonl", "count": 1, "index": i}
                for i in range(PARTS)
            ]
            s3.put_object(Bucket=bucket, Key=f"executions/{name}/{stage}/parts.json", Body=json.dumps(items))
        # What the stub plan step does not write: ETL's source shards (lambdas/README.md source shards).
        shards = [{"index": i, "bytes": 0, "inline": i == 0, "ranges": []} for i in range(PARTS)]
        s3.put_object(Bucket=bucket, Key=f"executions/{name}/ETL/sources.json", Body=json.dumps(shards))


class TransientStageError(Exception):
    """Same class name as the handlers' transient error: Step Functions matches the name."""


class PermanentStageError(Exception):
    """Same class name as the handlers' permanent error."""


def _succeed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"status": "SUCCESS", "stage": event["currentStage"]}


def _fn(stage: str) -> str:
    """Function name the runner substitutes for ``${{Stage}FunctionArn}``."""
    return f"{stage}FunctionArn"


def _execute(
    template: dict[str, Any],
    logical_id: str,
    execution_input: Any,
    name: str,
    functions: dict[str, Callable[[dict[str, Any], Any], Any]] | None = None,
) -> tuple[AslRun, LocalLambda]:
    handlers = {_fn(s): _succeed for s in STAGES}
    handlers.update({_fn(stage): fn for stage, fn in (functions or {}).items()})
    with mock_aws(config=MOTO_CONFIG), local_lambda(handlers) as runtime:  # type: ignore[arg-type]
        _put_part_lists(template, logical_id, name)
        result = run_state_machine(template, logical_id, execution_input, execution_name=name, config=MOTO_CONFIG)
    return result, runtime


def _expected_invocations(stages: list[str], mapped: bool) -> list[str]:
    """A mapped stage runs once per part, then once more to collect the parts (its Manifest task);
    ETL runs its plan step, once per shard, then its manifest."""

    def runs(stage: str) -> int:
        if mapped and stage in MAPPED:
            return PARTS + 1
        return PARTS + 2 if mapped and stage in SOURCE_MAPPED else 1

    return [stage for stage in stages for _ in range(runs(stage))]


def _stages(runtime: LocalLambda) -> list[str]:
    return [i.function.removesuffix("FunctionArn") for i in runtime.invocations]


def _resolved(template: dict[str, Any], logical_id: str, values: dict[str, str] | None = None) -> str:
    definition, substitutions = definition_of(template, logical_id)
    return json.dumps(substitute(definition, sorted(substitutions), overrides=values)[0])


def _pipe_batch(request: dict[str, Any]) -> list[dict[str, Any]]:
    """What an EventBridge Pipe with batch size 1 hands the machine: one SQS record."""
    return [
        {
            "messageId": "m-1",
            "receiptHandle": "r",
            "body": json.dumps(request),
            "attributes": {},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "awsRegion": "us-east-1",
        }
    ]


@pytest.mark.parametrize("style", ["pipe", "direct"])
@pytest.mark.parametrize("workflow", ["realtime", "batch"])
def test_default_workflow__runs_end_to_end_with_execution_context(
    builds: dict[str, EnvironmentBuild], workflow: str, style: str
) -> None:
    template = stack(builds["dev"], WORKFLOWS, f"CeapWorkflow-{workflow}")
    name = f"{workflow}-{style}-0001"
    result, runtime = _execute(
        template, "WorkflowStateMachine", _pipe_batch(REQUEST) if style == "pipe" else REQUEST, name
    )
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    configured = [s.name for s in next(w for w in builds["dev"].env.workflows if w.name == workflow).steps]
    tasks = [t.parameters for t in result.tasks]
    # The standard machine's first Task is ETL's plan step (lambdas/README.md source shards), then its manifest.
    plans = [t for t in tasks if t.get("Payload", {}).get("output") == "plan"]
    assert len(plans) == (1 if workflow == "batch" else 0)
    scheduled = [t for t in tasks if t not in plans]
    previous = None
    for step, parameters in zip(configured, scheduled, strict=True):
        if "Payload" in parameters:
            payload = parameters["Payload"]
            assert payload["executionId"] == name
            assert (payload["currentStage"], payload["previousStage"]) == (step, previous)
            assert payload["workflowBucket"] == result.substitutions["WorkflowBucket"]
            assert ("initialData" in payload) == (previous is None)
            if previous is None:
                assert payload["initialData"] == REQUEST
        else:
            arguments = parameters["Arguments"]
            assert arguments["--input-key"] == f"executions/{name}/{previous}/output.json"
            assert arguments["--output-key"] == f"executions/{name}/{step}/output.json"
            assert (arguments["--execution-id"], arguments["--current-stage"], arguments["--previous-stage"]) == (
                name,
                step,
                previous,
            )
            assert arguments["--input-bucket"] == arguments["--output-bucket"] == result.substitutions["WorkflowBucket"]
        previous = step
    assert _stages(runtime) == _expected_invocations([s for s in configured if s in STAGES], workflow == "batch")


def test_batch_ingestion__scheduled_request_runs_the_four_stages(builds: dict[str, EnvironmentBuild]) -> None:
    template = stack(builds["dev"], CONSOLIDATED, "CeapDataPlatform-dev")
    result, runtime = _execute(template, "BatchIngestionWorkflow10186577", REQUEST, "scheduled-0001")
    assert result.status == "SUCCEEDED"
    assert _stages(runtime) == _expected_invocations(["ETL", "Filter", "Score", "Store"], mapped=True)
    assert runtime.invocations[0].event["initialData"] == REQUEST
    context = {
        "executionId": "scheduled-0001",
        "currentStage": "Store",
        "previousStage": "Score",
        "workflowBucket": result.substitutions["WorkflowBucket"],
    }
    # The children keep the execution context of the run and get one parts.json item each.
    children = sorted((i.event for i in runtime.invocations if i.event.get("part")), key=lambda e: e["part"]["index"])
    store_children = [e for e in children if e["currentStage"] == "Store"]
    assert store_children == [
        {
            **context,
            "part": {"key": f"executions/scheduled-0001/Score/parts/part-{i:05d}.jsonl", "count": 1, "index": i},
        }
        for i in range(PARTS)
    ]
    assert runtime.invocations[-1].event == {**context, "collectParts": True}


def test_schedule_input__is_a_request_the_machine_accepts(builds: dict[str, EnvironmentBuild]) -> None:
    """The rule's InputTransformer, applied as EventBridge does, gives the request shape."""
    template = stack(builds["dev"], CONSOLIDATED, "CeapDataPlatform-dev")
    targets = template["Resources"]["BatchIngestionSchedule3D278ACF"]["Properties"]["Targets"]
    assert [t["Id"] for t in targets] == ["retail-US", "retail-UK"]
    transformer = targets[0]["InputTransformer"]
    assert transformer["InputPathsMap"] == {"time": "$.time"}
    request = json.loads(transformer["InputTemplate"].replace("<time>", json.dumps("2026-11-22T02:00:00Z")))
    assert request == {
        "programId": "retail",
        "marketplace": "US",
        "dateRange": {"start": "2026-11-22T02:00:00Z", "end": "2026-11-22T02:00:00Z"},
    }


def test_transient_failure__retried_after_the_configured_interval(builds: dict[str, EnvironmentBuild]) -> None:
    template = stack(builds["dev"], WORKFLOWS, "CeapWorkflow-realtime")
    calls = {"n": 0}

    def flaky_filter(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransientStageError("s3://workflow-bucket/executions/x/ETL/output.json: SlowDown")
        return _succeed(event, context)

    result, runtime = _execute(
        template,
        "WorkflowStateMachine",
        REQUEST,
        "transient-0001",
        {**{s: _succeed for s in STAGES}, "Filter": flaky_filter},
    )
    assert result.status == "SUCCEEDED"
    assert _stages(runtime) == ["ETL", "Filter", "Filter", "Score", "Store", "Reactive"]
    (failure,) = result.task_failures()
    assert failure["error"] == "TransientStageError"
    failed_at = next(e["timestamp"] for e in result.history if e["type"] == "TaskFailed")
    retried_at = [e["timestamp"] for e in result.history if e["type"] == "TaskScheduled"][2]
    retry = template["Resources"]["WorkflowStateMachine"]["Properties"]["Definition"]["States"]["Filter"]["Retry"][0]
    assert (retried_at - failed_at).total_seconds() >= retry["IntervalSeconds"] - 0.5


def test_permanent_failure__not_retried_ends_in_the_step_fail_state(builds: dict[str, EnvironmentBuild]) -> None:
    template = stack(builds["dev"], WORKFLOWS, "CeapWorkflow-batch")

    def broken_score(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise PermanentStageError("request field 'dateRange.start' is missing")

    result, runtime = _execute(
        template,
        "WorkflowStateMachine",
        _pipe_batch(REQUEST),
        "permanent-0001",
        {**{s: _succeed for s in STAGES}, "Score": broken_score},
    )
    assert result.status == "FAILED"
    assert result.error == "ScoreError"
    # AWS fails the Map Run with this error when more parts fail than tolerated (state-map-distributed.html).
    assert "Score stage failed after retries: States.ExceedToleratedFailureThreshold" in (result.cause or "")
    # A failed part fails the run (ToleratedFailureCount 0, docs/design.md "Sizing"): no Score
    # manifest, no Store, and no part is retried after a permanent error.
    assert _stages(runtime)[: 2 * PARTS + 3] == [*["ETL"] * (PARTS + 2), *["Filter"] * (PARTS + 1)]
    scored = [i.event.get("part", {}).get("index") for i in runtime.invocations if i.function == "ScoreFunctionArn"]
    assert 1 <= len(scored) <= PARTS and len(set(scored)) == len(scored)
    assert result.entered()[-1] == "ScoreFailed"
    assert "ScoreManifest" not in result.entered() and "Store" not in _stages(runtime)


def test_config_update__weak_arn_is_the_arn_of_the_platform_machine(builds: dict[str, EnvironmentBuild]) -> None:
    """Seed 000 pattern 3 through the weak reference: the ARN built from the name is the ARN of
    the machine the data platform defines under that name.

    The nested run itself is not executed: moto 5.2.5 hands the ``states:startExecution``
    parameters to boto3 with their ASL capitalisation (``StateMachineArn``, ``Input``), which
    botocore rejects, so this integration cannot run in the emulator.
    """
    platform = stack(builds["dev"], CONSOLIDATED, "CeapDataPlatform-dev")
    serving = stack(builds["dev"], CONSOLIDATED, "CeapServingAPI-dev")
    name = platform["Resources"]["BatchIngestionWorkflow10186577"]["Properties"]["StateMachineName"]
    reactive = serving["Resources"]["ReactiveStateMachine"]["Properties"]
    arn_template = reactive["DefinitionSubstitutions"]["OrchestrationArn"]["Fn::Sub"]
    weak_arn = (
        arn_template.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::AccountId}", "123456789012")
    )
    with mock_aws(config=MOTO_CONFIG):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        target = client.create_state_machine(
            name=name,
            definition=_resolved(platform, "BatchIngestionWorkflow10186577"),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        accepted = client.create_state_machine(
            name="reactive",
            definition=_resolved(serving, "ReactiveStateMachine", {"OrchestrationArn": weak_arn}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
    assert weak_arn == target and accepted
    task = reactive["Definition"]["States"]["RunBatchIngestion"]
    assert task["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert task["Parameters"]["Input"]["programId.$"] == "$.detail.programId"
