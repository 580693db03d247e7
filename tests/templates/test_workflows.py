"""Workflow stacks (seeds 002/004): wiring of queue, pipe, machine, bucket, Glue, alarms."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceap_templates.configuration import Environment, Step, Workflow
from ceap_templates.environment_build import EnvironmentBuild, build_environment
from ceap_templates.layouts import WORKFLOWS
from ceap_templates.naming import resolved_length
from ceap_templates.stages import STAGES
from support.aws_limits import LIMIT  # AWS's documented limits, never the generator's

from .conftest import FIXED_CODE, find_all, policy_statements, properties_of, resources_of, stack


def _workflow_stack(builds: dict[str, EnvironmentBuild], env: str, name: str) -> dict[str, Any]:
    return stack(builds[env], WORKFLOWS, f"CeapWorkflow-{name}")


@pytest.mark.parametrize(
    ("name", "start_action", "invocation"),
    [
        ("realtime", "states:StartSyncExecution", "REQUEST_RESPONSE"),
        ("batch", "states:StartExecution", "FIRE_AND_FORGET"),
    ],
)
def test_pipe__queue_to_machine_with_the_type_s_invocation_and_action(
    builds: dict[str, EnvironmentBuild], name: str, start_action: str, invocation: str
) -> None:
    template = _workflow_stack(builds, "dev", name)
    pipe = properties_of(template, "WorkflowPipe")
    assert pipe["Name"] == f"ceap-workflow-{name}-pipe"
    assert pipe["Source"] == {"Fn::GetAtt": ["WorkflowQueue", "Arn"]}
    assert pipe["Target"] == {"Ref": "WorkflowStateMachine"}
    assert pipe["SourceParameters"]["SqsQueueParameters"]["BatchSize"] == 1
    assert pipe["TargetParameters"]["StepFunctionStateMachineParameters"]["InvocationType"] == invocation
    assert pipe["RoleArn"] == {"Fn::GetAtt": ["WorkflowPipeRole", "Arn"]}
    statements = {s["Sid"]: s for s in policy_statements(template, "WorkflowPipeRole")}
    assert statements["StartWorkflow"]["Action"] == [start_action]
    assert statements["StartWorkflow"]["Resource"] == [{"Ref": "WorkflowStateMachine"}]
    assert set(statements["ConsumeQueue"]["Action"]) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    assert statements["ConsumeQueue"]["Resource"] == [{"Fn::GetAtt": ["WorkflowQueue", "Arn"]}]


@pytest.mark.parametrize("name", ["realtime", "batch"])
def test_bucket__encrypted_private_tls_only_executions_expire_after_7_days(
    builds: dict[str, EnvironmentBuild], name: str
) -> None:
    template = _workflow_stack(builds, "dev", name)
    bucket = properties_of(template, "WorkflowBucket")
    assert bucket["BucketName"] == {"Fn::Sub": f"ceap-workflow-{name}-${{AWS::AccountId}}"}
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert (
        set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
        and len(bucket["PublicAccessBlockConfiguration"]) == 4
    )
    (expiry,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "executions/"]
    assert expiry["ExpirationInDays"] == 7 and expiry["Status"] == "Enabled"
    policy = properties_of(template, "WorkflowBucketPolicy")
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert policy["Bucket"] == {"Ref": "WorkflowBucket"}


@pytest.mark.parametrize(("name", "visibility"), [("realtime", 360), ("batch", 300)])
def test_queue__redrive_to_encrypted_dlq_after_3_receives(
    builds: dict[str, EnvironmentBuild], name: str, visibility: int
) -> None:
    template = _workflow_stack(builds, "dev", name)
    queue = properties_of(template, "WorkflowQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WorkflowDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 3,
    }
    assert queue["SqsManagedSseEnabled"] is True and queue["VisibilityTimeout"] == visibility
    dlq = properties_of(template, "WorkflowDeadLetterQueue")
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600 and dlq["SqsManagedSseEnabled"] is True
    assert dlq["QueueName"] == f"ceap-workflow-{name}-dlq"
    alarm = properties_of(template, "WorkflowDeadLetterQueueAlarm")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["WorkflowDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible",
        0,
        "GreaterThanThreshold",
    )
    assert alarm["AlarmActions"] == [{"Ref": "WorkflowAlertsTopic"}]
    # Recovery reaches on-call too: the OK transition notifies the same topic (issue 14 item 8;
    # AWS::CloudWatch::Alarm OKActions, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html).
    assert alarm["OKActions"] == [{"Ref": "WorkflowAlertsTopic"}]


def test_machine__types_logging_tracing_and_timeouts(builds: dict[str, EnvironmentBuild]) -> None:
    for name, type_, timeout in (("realtime", "EXPRESS", 300), ("batch", "STANDARD", 72000)):
        props = properties_of(_workflow_stack(builds, "dev", name), "WorkflowStateMachine")
        assert props["StateMachineName"] == f"Ceap-{name}-Workflow"
        assert props["StateMachineType"] == type_
        assert props["Definition"]["TimeoutSeconds"] == timeout
        assert props["LoggingConfiguration"]["Level"] == "ALL"
        assert props["LoggingConfiguration"]["IncludeExecutionData"] is True
        assert props["TracingConfiguration"] == {"Enabled": True}


def _tasks(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Task and Map states in execution order."""
    states = definition["States"]
    ordered, name = [], definition["StartAt"]
    while name:
        state = states[name]
        if state["Type"] in ("Task", "Map"):
            ordered.append((name, state))
        name = state.get("Next") or (state.get("Default") if state["Type"] == "Choice" else None)
    return ordered


def _step_tasks(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """One state per configured step: a mapped stage's Map stands for it, its Manifest task follows it
    (and ETL's Plan task comes before its Map)."""
    return [(name, state) for name, state in _tasks(definition) if not name.endswith(("Manifest", "Plan"))]


#: Issue 16: the part-wise Lambda stages of a standard workflow (Filter, Score, Store) run once per
#: part under a Distributed Map, then once more as "{Stage}Manifest" to collect the part results.
MAPPED = ("Filter", "Score", "Store")
#: The first stage reading the sources (ETL) runs its "ETLPlan" task, then once per source shard
#: under a Distributed Map, then "ETLManifest" (lambdas/README.md source shards).
SOURCE_MAPPED = ("ETL",)


def test_lambda_and_glue_tasks__retry_numbers_catch_and_payloads(builds: dict[str, EnvironmentBuild]) -> None:
    template = _workflow_stack(builds, "dev", "batch")
    definition = properties_of(template, "WorkflowStateMachine")["Definition"]
    tasks = dict(_tasks(definition))
    assert list(tasks) == [
        "ETLPlan",
        "ETL",
        "ETLManifest",
        "Filter",
        "FilterManifest",
        "HeavyETL",
        "Score",
        "ScoreManifest",
        "Store",
        "StoreManifest",
        "Reactive",
    ]
    children = {name: tasks[name]["ItemProcessor"]["States"][f"{name}Part"] for name in MAPPED}
    for retried in (children["Filter"], tasks["FilterManifest"]):
        (lambda_retry,) = retried["Retry"]
        assert (lambda_retry["IntervalSeconds"], lambda_retry["MaxAttempts"], lambda_retry["BackoffRate"]) == (
            20,
            2,
            2.0,
        )
        assert "TransientStageError" in lambda_retry["ErrorEquals"] and "States.ALL" not in lambda_retry["ErrorEquals"]
    (glue_retry,) = tasks["HeavyETL"]["Retry"]
    assert (glue_retry["IntervalSeconds"], glue_retry["MaxAttempts"], glue_retry["BackoffRate"]) == (300, 2, 2.0)
    for name, task in tasks.items():
        stage = name.removesuffix("Manifest").removesuffix("Plan")
        assert task["ResultPath"] is None
        assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{stage}Failed"}]
        assert definition["States"][f"{stage}Failed"]["Type"] == "Fail"
    for name, child in children.items():
        assert child["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{name}PartFailed"}]
        assert child["Parameters"]["Payload.$"] == "$"
        assert tasks[f"{name}Manifest"]["Parameters"]["Payload"]["collectParts"] is True
    first = {
        "executionId.$": "$$.Execution.Name",
        "currentStage": "ETL",
        "previousStage": None,
        "workflowBucket": "${WorkflowBucket}",
        "initialData.$": "$.request",
    }
    assert tasks["ETLPlan"]["Parameters"]["Payload"] == {**first, "output": "plan"}
    assert tasks["ETL"]["ItemSelector"] == {**first, "source.$": "$$.Map.Item.Value"}
    assert tasks["ETL"]["ItemReader"]["Parameters"]["Key.$"] == (
        "States.Format('executions/{}/ETL/sources.json', $$.Execution.Name)"
    )
    assert tasks["ETLManifest"]["Parameters"]["Payload"] == {**first, "collectSources": True}
    # config/environments.yaml dev: maxSourceShards default 100; 10,000,000 / 10,000 parts + one per shard.
    assert tasks["ETL"]["ItemReader"]["ReaderConfig"]["MaxItems"] == 100
    assert tasks["Filter"]["ItemReader"]["ReaderConfig"]["MaxItems"] == 1_100
    # The Map hands each child the execution context of the run plus its item (lambdas/README.md).
    assert tasks["Score"]["ItemSelector"] == {
        "executionId.$": "$$.Execution.Name",
        "currentStage": "Score",
        "previousStage": "HeavyETL",
        "workflowBucket": "${WorkflowBucket}",
        "part.$": "$$.Map.Item.Value",
    }
    glue_task = tasks["HeavyETL"]
    assert glue_task["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    args = glue_task["Parameters"]["Arguments"]
    assert args["--input-key.$"] == "States.Format('executions/{}/Filter/output.json', $$.Execution.Name)"
    assert args["--output-key.$"] == "States.Format('executions/{}/HeavyETL/output.json', $$.Execution.Name)"
    assert (args["--current-stage"], args["--previous-stage"], args["--execution-id.$"]) == (
        "HeavyETL",
        "Filter",
        "$$.Execution.Name",
    )
    substitutions = properties_of(template, "WorkflowStateMachine")["DefinitionSubstitutions"]
    assert substitutions["HeavyETLJobName"] == {"Ref": "HeavyETLGlueJob"}
    assert substitutions["WorkflowBucket"] == {"Ref": "WorkflowBucket"}
    assert substitutions["ScoreFunctionArn"] == {"Fn::GetAtt": ["ScoreFunction", "Arn"]}


def test_glue_job__g1x_two_workers_two_hours_script_by_content(builds: dict[str, EnvironmentBuild]) -> None:
    template = _workflow_stack(builds, "dev", "batch")
    job = properties_of(template, "HeavyETLGlueJob")
    assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"], job["MaxRetries"]) == ("G.1X", 2, 120, 0)
    assert job["Command"]["ScriptLocation"] == {
        "Fn::Sub": [f"s3://${{Artifacts}}/{FIXED_CODE.glue_script_key}", {"Artifacts": {"Ref": "ArtifactBucket"}}]
    }
    assert FIXED_CODE.glue_script_sha256 in FIXED_CODE.glue_script_key
    statements = {s["Sid"]: s for s in policy_statements(template, "HeavyETLGlueJobRole")}
    object_resources = json.dumps(statements["HandOffObjects"]["Resource"])
    assert "/executions/*" in object_resources and "/glue-temp/HeavyETL/*" in object_resources
    assert statements["HandOffObjects"]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert statements["CleanScratch"] == {
        "Sid": "CleanScratch",
        "Effect": "Allow",
        "Action": ["s3:DeleteObject"],
        "Resource": [
            {"Fn::Sub": ["${BucketArn}/glue-temp/HeavyETL/*", {"BucketArn": {"Fn::GetAtt": ["WorkflowBucket", "Arn"]}}]}
        ],
    }
    # Glue 5.0 logs to {prefix}/output and {prefix}/error; --enable-continuous-cloudwatch-log and
    # --continuous-log-logGroup are Glue 4.0-and-earlier arguments
    # (https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html, "Custom logging").
    assert job["GlueVersion"] == "5.0"
    logging = {k: v for k, v in job["DefaultArguments"].items() if "log" in k.lower() and k != "--job-language"}
    assert logging == {"--custom-logGroup-prefix": "/aws-glue/jobs/ceap-workflow-batch-heavyetl"}
    resources = template["Resources"]
    for title, name in (
        ("HeavyETLGlueOutputLogGroup", "/aws-glue/jobs/ceap-workflow-batch-heavyetl/output"),
        ("HeavyETLGlueErrorLogGroup", "/aws-glue/jobs/ceap-workflow-batch-heavyetl/error"),
    ):
        # dev: config/environments.yaml logRetentionDays 14, retainData false.
        assert resources[title]["Properties"] == {"LogGroupName": name, "RetentionInDays": 14}
        assert (resources[title]["DeletionPolicy"], resources[title]["UpdateReplacePolicy"]) == ("Delete", "Delete")
    assert not [
        t
        for t, r in resources.items()
        if r["Type"] == "AWS::Logs::LogGroup"
        and "Glue" in t
        and t not in ("HeavyETLGlueOutputLogGroup", "HeavyETLGlueErrorLogGroup")
    ]
    rules = {r["Id"]: r for r in properties_of(template, "WorkflowBucket")["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireScratch1"]["Prefix"] == "glue-temp/" and rules["ExpireScratch1"]["ExpirationInDays"] == 1
    realtime_rules = properties_of(_workflow_stack(builds, "dev", "realtime"), "WorkflowBucket")[
        "LifecycleConfiguration"
    ]
    assert all(r.get("Prefix") != "glue-temp/" for r in realtime_rules["Rules"])
    run = {s["Sid"]: s for s in policy_statements(template, "WorkflowRole")}["RunGlueJobs"]
    assert "glue:StartJobRun" in run["Action"] and "ceap-workflow-batch-heavyetl" in json.dumps(run["Resource"])


def test_failure_rule__standard_only_on_failed_timed_out_aborted(builds: dict[str, EnvironmentBuild]) -> None:
    batch = _workflow_stack(builds, "dev", "batch")
    rule = properties_of(batch, "WorkflowFailureRule")
    assert rule["EventPattern"]["detail"] == {
        "status": ["FAILED", "TIMED_OUT", "ABORTED"],
        "stateMachineArn": [{"Ref": "WorkflowStateMachine"}],
    }
    assert rule["Targets"][0]["Arn"] == {"Ref": "WorkflowAlertsTopic"}
    assert "WorkflowFailureRule" not in _workflow_stack(builds, "dev", "realtime")["Resources"]


def test_failed_requests__standard_workflow_parks_failed_executions_for_redrive(
    builds: dict[str, EnvironmentBuild],
) -> None:
    """Issue 14 item 4 (docs/design.md "No request lost"): the FIRE_AND_FORGET pipe has deleted the
    message, so the status-change event (https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html)
    is kept, request and all, in ``ceap-workflow-{wf}-failed``."""
    for env in ("dev", "prod"):
        batch = _workflow_stack(builds, env, "batch")
        queue = batch["Resources"]["WorkflowFailedQueue"]
        assert queue["Properties"] == {
            "MessageRetentionPeriod": 1209600,
            "QueueName": "ceap-workflow-batch-failed",
            "SqsManagedSseEnabled": True,
        }
        # Like the stack's other queues (Scope.discard): explicit Delete in every environment.
        assert queue["DeletionPolicy"] == queue["UpdateReplacePolicy"] == "Delete"
    batch = _workflow_stack(builds, "dev", "batch")
    rule = properties_of(batch, "WorkflowFailedRequestsRule")
    assert rule["State"] == "ENABLED"
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [{"Ref": "WorkflowStateMachine"}]},
    }
    assert rule["Targets"] == [
        {
            "Id": "failed-requests",
            "Arn": {"Fn::GetAtt": ["WorkflowFailedQueue", "Arn"]},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["WorkflowFailureRuleDeadLetterQueue", "Arn"]}},
            "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600},
        }
    ]
    policy = properties_of(batch, "WorkflowFailedQueuePolicy")
    assert policy["Queues"] == [{"Ref": "WorkflowFailedQueue"}]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "EventBridgeFailedRequests",
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com"]},
            "Action": ["sqs:SendMessage"],
            "Resource": [{"Fn::GetAtt": ["WorkflowFailedQueue", "Arn"]}],
            "Condition": {"ArnEquals": {"aws:SourceArn": [{"Fn::GetAtt": ["WorkflowFailedRequestsRule", "Arn"]}]}},
        }
    ]
    # Undeliverable failed-request events land in the rule DLQ, whose policy must admit this rule too.
    dlq_policy = properties_of(batch, "WorkflowFailureRuleDeadLetterQueuePolicy")["PolicyDocument"]["Statement"][0]
    assert {"Fn::GetAtt": ["WorkflowFailedRequestsRule", "Arn"]} in dlq_policy["Condition"]["ArnEquals"][
        "aws:SourceArn"
    ]
    alarm = properties_of(batch, "WorkflowFailedQueueAlarm")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["WorkflowFailedQueue", "QueueName"]}}]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible",
        0,
        "GreaterThanThreshold",
    )
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "WorkflowAlertsTopic"}]
    # Express: no status-change events exist; its sync pipe returns failures to the queue -> DLQ.
    realtime = _workflow_stack(builds, "dev", "realtime")["Resources"]
    assert not {"WorkflowFailedQueue", "WorkflowFailedRequestsRule"} & set(realtime)


def test_stage_functions__seed_004_names_and_s3_only_under_executions(builds: dict[str, EnvironmentBuild]) -> None:
    template = _workflow_stack(builds, "prod", "realtime")  # prod generates other names; these stay explicit
    functions = resources_of(template, "AWS::Lambda::Function")
    assert {f["Properties"]["FunctionName"] for f in functions.values()} == {
        f"CeapWorkflow-realtime-{s}Lambda" for s in ("ETL", "Filter", "Score", "Store", "Reactive")
    }
    filter_objects = {s["Sid"]: s for s in policy_statements(template, "FilterFunctionRole")}["HandOffObjects"]
    assert filter_objects["Resource"] == [
        {"Fn::Sub": ["${BucketArn}/executions/*", {"BucketArn": {"Fn::GetAtt": ["WorkflowBucket", "Arn"]}}]}
    ]
    reactive = {s["Sid"]: s for s in policy_statements(template, "ReactiveFunctionRole")}
    assert reactive["PublishCompletion"]["Action"] == ["events:PutEvents"]
    imports = find_all(template, "Fn::ImportValue")
    assert {"Fn::Sub": "${DatabaseStackName}-CandidatesTableName"} in imports


def test_workflow_outputs__bucket_machine_queue_dlq_exported(builds: dict[str, EnvironmentBuild]) -> None:
    outputs = _workflow_stack(builds, "dev", "batch")["Outputs"]
    assert {o["Export"]["Name"]["Fn::Sub"] for o in outputs.values()} == {
        "${AWS::StackName}-BucketName",
        "${AWS::StackName}-StateMachineArn",
        "${AWS::StackName}-QueueUrl",
        "${AWS::StackName}-DeadLetterQueueUrl",
        "${AWS::StackName}-FailedQueueUrl",
    }


def test_manifest__workflow_stacks_deploy_after_the_database(builds: dict[str, EnvironmentBuild]) -> None:
    manifest = json.loads(builds["dev"].files["manifest.json"])
    waves = manifest["deploy"]["waves"]
    assert waves[0] == ["CeapDatabase-dev"]
    assert {"CeapWorkflow-realtime", "CeapWorkflow-batch"} <= set(waves[1])
    assert "CeapWorkflow-batch" in builds["dev"].files["ARCHITECTURE.md"]


# ---- properties over generated workflow configurations ------------------------------------
LAMBDA_STAGES = ["ETL", "Filter", "Score", "Store", "Reactive"]


@st.composite
def workflows(draw: st.DrawFn) -> Workflow:
    type_ = draw(st.sampled_from(["express", "standard"]))
    lambdas = draw(st.lists(st.sampled_from(LAMBDA_STAGES), min_size=1, max_size=5, unique=True))
    steps = [Step.of(STAGES[s].for_workflow(type_ == "express")) for s in lambdas]
    if type_ == "standard":
        glue_names = draw(st.lists(st.from_regex(r"^Heavy[A-Z][a-z]{0,8}$", fullmatch=True), max_size=2, unique=True))
        for glue_name in glue_names:
            steps.insert(draw(st.integers(1, len(steps))), Step(glue_name, "glue"))
    name = draw(st.from_regex(r"^[a-z][a-z0-9]{0,14}[a-z0-9]$", fullmatch=True))
    timeout = draw(st.integers(60, 300)) if type_ == "express" else draw(st.integers(60, 86400))
    return Workflow(name, type_, tuple(steps), timeout)


@given(workflow=workflows(), explicit=st.booleans())
def test_property__generated_workflows_build_valid_machines(
    base_env: Environment, workflow: Workflow, explicit: bool
) -> None:
    """Feature: workflow-stacks, Property: one Task per step in order, Retry + Catch, type-correct."""
    from dataclasses import replace

    env = replace(base_env, workflows=(workflow,), physical_names="explicit" if explicit else "generated")
    build = build_environment(env, FIXED_CODE)
    template = stack(build, WORKFLOWS, f"CeapWorkflow-{workflow.name}")
    machine = properties_of(template, "WorkflowStateMachine")
    tasks = _step_tasks(machine["Definition"])
    assert [name for name, _ in tasks] == [s.name for s in workflow.steps]
    for name, task in tasks:
        assert task["Catch"]
        if task["Type"] == "Map":
            # Only the part-wise stages of standard workflows are mapped; the child retries.
            assert not workflow.is_express and (name in MAPPED or (name in SOURCE_MAPPED and name == tasks[0][0]))
            assert task["ItemProcessor"]["States"][f"{name}Part"]["Retry"]
        else:
            assert task["Retry"]
    resources = [t["Resource"] for _, t in _tasks(machine["Definition"]) if t["Type"] == "Task"]
    if workflow.is_express:
        assert not any(".sync" in r for r in resources)
        assert machine["StateMachineType"] == "EXPRESS" and machine["Definition"]["TimeoutSeconds"] <= 300
    invocation = properties_of(template, "WorkflowPipe")["TargetParameters"]["StepFunctionStateMachineParameters"][
        "InvocationType"
    ]
    assert invocation == ("REQUEST_RESPONSE" if workflow.is_express else "FIRE_AND_FORGET")
    kinds = {
        "FunctionName": "lambda",
        "BucketName": "bucket",
        "StateMachineName": "state_machine",
        "QueueName": "queue",
        "Name": None,
    }
    for resource in template["Resources"].values():
        for key, kind in kinds.items():
            value = resource.get("Properties", {}).get(key)
            text = (
                value if isinstance(value, str) else (value or {}).get("Fn::Sub") if isinstance(value, dict) else None
            )
            if isinstance(text, str):
                limit_kind = kind or {"AWS::Pipes::Pipe": "pipe", "AWS::Glue::Job": "glue_job"}.get(
                    resource["Type"], "rule"
                )
                assert resolved_length(text) <= LIMIT[limit_kind], text
    placeholders = set(re.findall(r"\$\{(\w+)\}", json.dumps(machine["Definition"])))
    assert placeholders == set(machine["DefinitionSubstitutions"])
