"""The local Step Functions runner on small hand-written definitions."""

from __future__ import annotations

from typing import Any

import pytest

from support.asl_runner import run_state_machine, sample_value

RETRY = [{"ErrorEquals": ["TransientStageError"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0}]


def lambda_task(stage: str, previous: str | None, next_state: str | None, **payload: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": f"${{{stage}FunctionArn}}",
            "Payload": {
                "executionId.$": "$$.Execution.Name",
                "currentStage": stage,
                "previousStage": previous,
                "workflowBucket": "${WorkflowBucket}",
                **payload,
            },
        },
        "ResultPath": None,
        "Retry": RETRY,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed", "ResultPath": "$.error"}],
    }
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


def template(states: dict[str, Any], start: str, substitutions: list[str]) -> dict[str, Any]:
    definition = {
        "StartAt": start,
        "States": {**states, "Failed": {"Type": "Fail", "Error": "StageError", "CausePath": "$.error.Cause"}},
    }
    return {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "Definition": definition,
                    "DefinitionSubstitutions": {k: {"Ref": k} for k in substitutions},
                },
            }
        }
    }


SUBS = ["ETLFunctionArn", "FilterFunctionArn", "WorkflowBucket", "HeavyJobName"]
TWO_STAGES = template(
    {
        "Normalise": {"Type": "Pass", "Parameters": {"request.$": "$"}, "Next": "ETL"},
        "ETL": lambda_task("ETL", None, "Heavy", **{"initialData.$": "$.request"}),
        "Heavy": {
            "Type": "Task",
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {
                "JobName": "${HeavyJobName}",
                "Arguments": {"--input-key.$": "States.Format('executions/{}/ETL/output.json', $$.Execution.Name)"},
            },
            "ResultPath": None,
            "Next": "Filter",
        },
        "Filter": lambda_task("Filter", "ETL", None),
    },
    "Normalise",
    SUBS,
)


def test_runner__lambda_and_glue_tasks__ordered_with_resolved_parameters() -> None:
    run = run_state_machine(TWO_STAGES, "Machine", {"programId": "retail"}, execution_name="run-42")
    assert (run.status, run.error) == ("SUCCEEDED", None)
    assert [(t.state, t.resource) for t in run.tasks] == [
        ("ETL", "arn:aws:states:::lambda:invoke"),
        ("Heavy", "arn:aws:states:::glue:startJobRun.sync"),
        ("Filter", "arn:aws:states:::lambda:invoke"),
    ]
    assert run.lambda_payloads == [
        {
            "executionId": "run-42",
            "currentStage": "ETL",
            "previousStage": None,
            "workflowBucket": "sample-workflow-bucket",
            "initialData": {"programId": "retail"},
        },
        {
            "executionId": "run-42",
            "currentStage": "Filter",
            "previousStage": "ETL",
            "workflowBucket": "sample-workflow-bucket",
        },
    ]
    assert run.tasks[0].parameters["FunctionName"] == "arn:aws:lambda:us-east-1:123456789012:function:ETLFunctionArn"
    assert run.tasks[1].parameters == {
        "JobName": "sample-heavy-job-name",
        "Arguments": {"--input-key": "executions/run-42/ETL/output.json"},
    }
    (glue_scheduled,) = [
        e
        for e in run.history
        if e["type"] == "TaskScheduled" and "glue" in e["taskScheduledEventDetails"]["resourceType"]
    ]
    assert glue_scheduled["taskScheduledEventDetails"]["resource"] == "startJobRun.sync"


def test_runner__failing_task__failed_status_with_error_and_cause() -> None:
    # A Glue job that does not exist fails the task in moto; the Catch leads to the Fail state.
    missing_job = {
        "Type": "Task",
        "Resource": "arn:aws:states:::glue:startJobRun",
        "Parameters": {"JobName": "no-such-job"},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed", "ResultPath": "$.error"}],
        "End": True,
    }
    broken = template(
        {"ETL": lambda_task("ETL", None, "Heavy", **{"initialData.$": "$"}), "Heavy": missing_job}, "ETL", SUBS
    )
    run = run_state_machine(broken, "Machine", {}, execution_name="run-fail")
    assert run.status == "FAILED"
    assert run.error == "StageError"
    assert "no-such-job" in (run.cause or "")
    assert [t.state for t in run.tasks] == ["ETL", "Heavy"]


def test_runner__placeholder_without_substitution__clear_error() -> None:
    bad = template({"ETL": lambda_task("ETL", None, None)}, "ETL", ["ETLFunctionArn"])
    with pytest.raises(ValueError, match="WorkflowBucket"):
        run_state_machine(bad, "Machine", {})


def test_runner__not_a_state_machine__clear_error() -> None:
    with pytest.raises(ValueError, match="not an AWS::StepFunctions::StateMachine"):
        run_state_machine({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}, "Bucket", {})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ETLFunctionArn", "arn:aws:lambda:us-east-1:123456789012:function:ETLFunctionArn"),
        ("WorkflowBucket", "sample-workflow-bucket"),
        ("HeavyETLJobName", "sample-heavy-e-t-l-job-name"),
        ("OrchestrationArn", "arn:aws:states:us-east-1:123456789012:stateMachine:OrchestrationArn"),
    ],
)
def test_sample_value__key_kind__plausible_value(key: str, value: str) -> None:
    assert sample_value(key) == value
