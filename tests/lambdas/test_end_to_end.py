"""End to end on the emitted artifacts: each state machine of build/dev runs on moto, then the real
handlers named by the templates run on the resolved task payloads, in execution order.

What this proves: the templates' Lambda ``Handler`` strings import, each function works with
exactly the environment variables its template gives it, the payloads the state machines build
are the ones the handlers accept, and the stages chain through S3 to candidates in the
Candidates table (and a ``WorkflowCompleted`` event for the workflows).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from ceap_handlers.contract import stage_output_key
from support.asl_runner import AslRun, TaskRun, run_state_machine

from . import testkit
from .conftest import FakeLambdaContext, LocalAws, capture_events, received_events

BUILD = testkit.BUILD / "dev"

REQUEST = testkit.request(
    records=[
        testkit.raw_row("C1", "B001", total=80.0, channels={"email": True, "push": True}),
        testkit.raw_row("C2", "B002", total=3.0),  # below minOrderValue 10: rejected by Filter
        testkit.raw_row("C3", "B003", total=25.0, channels=["sms"]),  # not e-mail eligible: rejected
        {"customer_id": "C4"},  # no subject, no event date: skipped by ETL
    ]
)

CASES = {
    "realtime-via-pipe": (
        "CeapWorkflow-realtime.template.json",
        "WorkflowStateMachine",
        [{"body": json.dumps(REQUEST)}],
    ),
    "batch-direct": ("CeapWorkflow-batch.template.json", "WorkflowStateMachine", REQUEST),
    "data-platform-ingestion": ("CeapDataPlatform-dev.template.json", "BatchIngestionWorkflow10186577", REQUEST),
}


def function_of(template: dict[str, Any], logical_id: str, task: TaskRun, run: AslRun) -> dict[str, Any]:
    """The Lambda resource a task invokes: FunctionName → substitution key → GetAtt target."""
    (key,) = [k for k, v in run.substitutions.items() if v == task.parameters["FunctionName"]]
    reference = template["Resources"][logical_id]["Properties"]["DefinitionSubstitutions"][key]
    resource: dict[str, Any] = template["Resources"][reference["Fn::GetAtt"][0]]
    assert resource["Type"] == "AWS::Lambda::Function"
    return resource


def function_environment(resource: dict[str, Any], bucket: str) -> dict[str, str]:
    """The function's environment, with imported / referenced values replaced by test values."""
    environment = {}
    for name, value in resource["Properties"]["Environment"]["Variables"].items():
        if isinstance(value, str):
            environment[name] = value
        elif name == "WORKFLOW_BUCKET":
            environment[name] = bucket
        elif name in testkit.HANDLER_ENV:
            environment[name] = testkit.HANDLER_ENV[name]
        else:
            raise AssertionError(f"no test value for {name}: {value}")
    return environment


def simulate_glue(local: LocalAws, task: TaskRun) -> None:
    # The real HeavyETL job is tested in tests/glue; here its output is the input object copied to
    # the output key its resolved arguments name (the Score stage must accept that envelope).
    args = task.parameters["Arguments"]
    body = local.s3.get_object(Bucket=args["--input-bucket"], Key=args["--input-key"])["Body"].read()
    local.s3.put_object(Bucket=args["--output-bucket"], Key=args["--output-key"], Body=body)


@pytest.mark.emulator
@pytest.mark.parametrize("case", sorted(CASES))
def test_end_to_end__artifact_state_machine__handlers_store_candidates_and_report(
    case: str, local_aws: LocalAws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_name, logical_id, execution_input = CASES[case]
    template = json.loads((BUILD / file_name).read_text())
    execution = f"e2e-{case}"

    run = run_state_machine(template, logical_id, execution_input, execution_name=execution)
    assert (run.status, run.error) == ("SUCCEEDED", None), run.cause
    bucket = run.lambda_payloads[0]["workflowBucket"]
    local_aws.s3.create_bucket(Bucket=bucket)
    queue = capture_events(local_aws)

    stages = []
    for task in run.tasks:
        if not task.is_lambda:
            assert task.resource.startswith("arn:aws:states:::glue:startJobRun")
            simulate_glue(local_aws, task)
            stages.append(task.parameters["Arguments"]["--current-stage"])
            continue
        resource = function_of(template, logical_id, task, run)
        for name in testkit.HANDLER_ENV:
            monkeypatch.delenv(name, raising=False)
        for name, value in function_environment(resource, bucket).items():
            monkeypatch.setenv(name, value)
        module_name, _, function_name = resource["Properties"]["Handler"].rpartition(".")
        handler = getattr(importlib.import_module(module_name), function_name)
        payload = task.parameters["Payload"]
        result = handler(payload, lambda_context)
        assert result["status"] == "SUCCEEDED"
        assert result["outputKey"] == stage_output_key(execution, payload["currentStage"])
        stages.append(payload["currentStage"])

    assert set(local_aws.object_keys(f"executions/{execution}/", bucket=bucket)) == {
        stage_output_key(execution, stage) for stage in stages
    }
    assert run.lambda_payloads[0]["initialData"] == REQUEST

    items = local_aws.candidate_items()
    assert {(i["PK"]["S"], i["SK"]["S"]) for i in items} == {
        ("CUSTOMER#C1#PROGRAM#retail#MARKETPLACE#US", "SUBJECT#product#B001")
    }
    (item,) = items
    assert item["GSI1PK"]["S"] == "PROGRAM#retail#CHANNEL#email"
    assert json.loads(item["data"]["S"])["metadata"]["workflowExecutionId"] == execution

    events = received_events(local_aws, queue)
    if "Reactive" in stages:
        (event,) = events
        assert event["detail-type"] == "WorkflowCompleted"
        assert event["detail"] == {
            "programId": "retail",
            "marketplace": "US",
            "executionId": execution,
            "totalProcessed": 4,
            "totalStored": 1,
            "totalRejected": 2,
            "totalErrors": 1,
            "success": True,
        }
    else:
        assert stages == ["ETL", "Filter", "Score", "Store"]
        assert events == []
