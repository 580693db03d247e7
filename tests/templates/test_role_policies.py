"""Every IAM role of the product against a literal table: trust, and each statement's actions,
resources and condition (issue 14 item 14).

Sources of the expected grants:

- Step Functions service integrations, AWS "IAM policies for integrated services"
  (https://docs.aws.amazon.com/step-functions/latest/dg/service-integration-iam-templates.html):
  ``lambda:invoke`` -> lambda:InvokeFunction on the functions and their versions (``:*``);
  ``glue:startJobRun.sync`` -> glue:StartJobRun, GetJobRun, GetJobRuns, BatchStopJobRun on the job
  (https://docs.aws.amazon.com/step-functions/latest/dg/glue-iam.html);
  ``states:startExecution.sync:2`` -> states:StartExecution on the state machine,
  states:DescribeExecution/StopExecution on its executions, events:PutTargets/PutRule/DescribeRule
  on the managed rule StepFunctionsGetEventsForStepFunctionsExecutionRule
  (https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html);
- state machine logging: the log-delivery actions on ``*``
  (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html); X-Ray: the four trace actions on ``*``
  (https://docs.aws.amazon.com/xray/latest/devguide/security_iam_id-based-policy-examples.html);
- pipes: SQS source ReceiveMessage/DeleteMessage/GetQueueAttributes, target StartExecution
  (STANDARD) or StartSyncExecution (EXPRESS) (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-permissions.html);
- stage data access: docs/legacy-system.md (the legacy grants, narrowed) and the stages' needs.

Resources are shown as text: ``X.Arn`` (Fn::GetAtt), ``Ref X``, ``import ${...}-Name``
(Fn::ImportValue), a Fn::Sub with its variables written in, content hashes as ``<sha256>``.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import pytest

from ceap_templates.environment_build import EnvironmentBuild

from .conftest import ENVS, resources_of, stack


class S(NamedTuple):
    """One expected statement: actions, resources (as text), condition (or None)."""

    actions: frozenset[str]
    resources: frozenset[str]
    condition: Any = None


def s(actions: list[str], resources: list[str], condition: Any = None) -> S:
    return S(frozenset(actions), frozenset(resources), condition)


LAMBDA, STATES, EVENTS, PIPES, GLUE = (f"{p}.amazonaws.com" for p in ("lambda", "states", "events", "pipes", "glue"))
XRAY = s(
    ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"], ["*"]
)
LOG_DELIVERY = s(
    [
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    ],
    ["*"],
)
ACCOUNT = {"StringEquals": {"aws:SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}}}
STATES_ARN = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
READ = ["dynamodb:GetItem", "dynamodb:Query"]
CACHE = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchGetItem"]
WRITE = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]


def table(name: str) -> list[str]:
    return [f"import ${{DatabaseStackName}}-{name}TableArn"]


def function_role(log_group: str, bucket: str, **extra: S) -> dict[str, S]:
    """A stage function: its own log group, X-Ray, the hand-off prefix of its bucket, plus ``extra``."""
    return {
        "WriteOwnLogGroup": s(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group}.Arn"]),
        "XRayTracing": XRAY,
        "HandOffObjects": s(["s3:GetObject", "s3:PutObject"], [f"{bucket}.Arn/executions/*"]),
        "HandOffList": s(["s3:ListBucket"], [f"{bucket}.Arn"], {"StringLike": {"s3:prefix": ["executions/*"]}}),
        **extra,
    }


def sources(bucket: str) -> dict[str, S]:
    """ETL reads its inputs under ``sources/``."""
    return {
        "SourcesObjects": s(["s3:GetObject"], [f"{bucket}.Arn/sources/*"]),
        "SourcesList": s(["s3:ListBucket"], [f"{bucket}.Arn"], {"StringLike": {"s3:prefix": ["sources/*"]}}),
    }


def map_children(machine: str, bucket: str) -> dict[str, S]:
    """A machine with Distributed Maps starts its own children, follows them and reads the item lists.

    AWS "IAM policies for using Distributed Map states": StartExecution on the machine itself,
    DescribeExecution/StopExecution on ``execution:<machine>/<map run>:<child>``, GetObject on the
    ItemReader's objects (issue 16: the ``parts.json`` under ``executions/``).
    """
    return {
        "StartMapChildren": s(["states:StartExecution"], [f"{STATES_ARN}:stateMachine:{machine}"]),
        "FollowMapChildren": s(
            ["states:DescribeExecution", "states:StopExecution"], [f"{STATES_ARN}:execution:{machine}/*"]
        ),
        "ReadPartLists": s(["s3:GetObject"], [f"{bucket}.Arn/executions/*"]),
    }


class Role(NamedTuple):
    service: str
    source_account: bool
    statements: dict[str, S]


def consolidated_roles(env: str) -> dict[tuple[str, str], Role]:
    bucket = "BatchIngestionBucket"
    functions = ["ETLLambdaFunction49DD508A", "FilterLambdaFunction29040EBB", "ScoreLambdaFunction04AD330A"]
    functions.append("StoreLambdaFunction7FC1576D")
    platform, serving = f"CeapDataPlatform-{env}", f"CeapServingAPI-{env}"
    return {
        (platform, "BatchIngestionRole"): Role(
            STATES,
            True,
            {
                "InvokeStages": s(["lambda:InvokeFunction"], [f"{f}.Arn{v}" for f in functions for v in ("", ":*")]),
                **map_children(f"CeapBatchIngestion-{env}", bucket),
                "StateMachineLogDelivery": LOG_DELIVERY,
                "XRayTracing": XRAY,
            },
        ),
        (platform, "BatchIngestionScheduleRole"): Role(
            EVENTS, True, {"StartExecution": s(["states:StartExecution"], ["Ref BatchIngestionWorkflow10186577"])}
        ),
        (platform, "ETLFunctionRole"): Role(
            LAMBDA,
            False,
            function_role(
                "ETLFunctionLogGroup", bucket, ProgramConfigTable=s(READ, table("ProgramConfig")), **sources(bucket)
            ),
        ),
        (platform, "FilterFunctionRole"): Role(
            LAMBDA,
            False,
            function_role("FilterFunctionLogGroup", bucket, ProgramConfigTable=s(READ, table("ProgramConfig"))),
        ),
        (platform, "ScoreFunctionRole"): Role(
            LAMBDA,
            False,
            function_role(
                "ScoreFunctionLogGroup",
                bucket,
                ScoreCacheTable=s(CACHE, table("ScoreCache")),
                ProgramConfigTable=s(["dynamodb:GetItem"], table("ProgramConfig")),
            ),
        ),
        (platform, "StoreFunctionRole"): Role(
            LAMBDA, False, function_role("StoreFunctionLogGroup", bucket, CandidatesTable=s(WRITE, table("Candidates")))
        ),
        (serving, "ProgramConfigUpdatedRole"): Role(
            EVENTS, True, {"StartExecution": s(["states:StartExecution"], ["Ref ReactiveStateMachine"])}
        ),
        (serving, "ReactiveFunctionRole"): Role(
            LAMBDA,
            False,
            {
                "WriteOwnLogGroup": s(["logs:CreateLogStream", "logs:PutLogEvents"], ["ReactiveFunctionLogGroup.Arn"]),
                "XRayTracing": XRAY,
                "CandidatesTable": s(WRITE, table("Candidates")),
                "ProgramConfigTable": s(READ, table("ProgramConfig")),
                "ScoreCacheTable": s(CACHE, table("ScoreCache")),
                "DeduplicationTable": s(["dynamodb:PutItem"], ["DeduplicationTableAD30DFB7.Arn"]),
                "DeadLetter": s(["sqs:SendMessage"], ["ReactiveFunctionDeadLetterQueue.Arn"]),
            },
        ),
        # The `states:startExecution.sync:2` task of the Reactive machine (AWS stepfunctions-iam.html).
        (serving, "ReactiveRole"): Role(
            STATES,
            True,
            {
                "StartBatchIngestion": s(
                    ["states:StartExecution"], [f"{STATES_ARN}:stateMachine:CeapBatchIngestion-{env}"]
                ),
                "FollowBatchIngestion": s(
                    ["states:DescribeExecution", "states:StopExecution"],
                    [f"{STATES_ARN}:execution:CeapBatchIngestion-{env}:*"],
                ),
                "SyncCompletionRule": s(
                    ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    [
                        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}"
                        ":rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
                    ],
                ),
                "StateMachineLogDelivery": LOG_DELIVERY,
                "XRayTracing": XRAY,
            },
        ),
    }


WORKFLOW_FUNCTIONS = ["ETLFunction", "FilterFunction", "ScoreFunction", "StoreFunction", "ReactiveFunction"]
SCRATCH = "WorkflowBucket.Arn/glue-temp/HeavyETL/*"


def workflow_roles(workflow: str, express: bool) -> dict[tuple[str, str], Role]:
    name, bucket = f"CeapWorkflow-{workflow}", "WorkflowBucket"
    state_machine: dict[str, S] = {
        "InvokeStages": s(["lambda:InvokeFunction"], [f"{f}.Arn{v}" for f in WORKFLOW_FUNCTIONS for v in ("", ":*")]),
        "StateMachineLogDelivery": LOG_DELIVERY,
        "XRayTracing": XRAY,
    }
    roles = {
        (name, "ETLFunctionRole"): Role(
            LAMBDA,
            False,
            function_role(
                "ETLFunctionLogGroup", bucket, ProgramConfigTable=s(READ, table("ProgramConfig")), **sources(bucket)
            ),
        ),
        (name, "FilterFunctionRole"): Role(
            LAMBDA,
            False,
            function_role("FilterFunctionLogGroup", bucket, ProgramConfigTable=s(READ, table("ProgramConfig"))),
        ),
        (name, "ScoreFunctionRole"): Role(
            LAMBDA,
            False,
            function_role(
                "ScoreFunctionLogGroup",
                bucket,
                ScoreCacheTable=s(CACHE, table("ScoreCache")),
                ProgramConfigTable=s(["dynamodb:GetItem"], table("ProgramConfig")),
            ),
        ),
        (name, "StoreFunctionRole"): Role(
            LAMBDA, False, function_role("StoreFunctionLogGroup", bucket, CandidatesTable=s(WRITE, table("Candidates")))
        ),
        (name, "ReactiveFunctionRole"): Role(
            LAMBDA,
            False,
            function_role(
                "ReactiveFunctionLogGroup",
                bucket,
                PublishCompletion=s(
                    ["events:PutEvents"],
                    ["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"],
                ),
            ),
        ),
        (name, "WorkflowPipeRole"): Role(
            PIPES,
            True,
            {
                "ConsumeQueue": s(
                    ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], ["WorkflowQueue.Arn"]
                ),
                "StartWorkflow": s(
                    ["states:StartSyncExecution" if express else "states:StartExecution"], ["Ref WorkflowStateMachine"]
                ),
                "PipeLogs": s(["logs:CreateLogStream", "logs:PutLogEvents"], ["WorkflowPipeLogGroup.Arn"]),
            },
        ),
        (name, "WorkflowRole"): Role(STATES, True, state_machine),
    }
    if not express:
        # The `glue:startJobRun.sync` task (AWS glue-iam.html).
        state_machine["RunGlueJobs"] = s(
            ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
            [f"{STATES_ARN.replace(':states:', ':glue:')}:job/ceap-workflow-{workflow}-heavyetl"],
        )
        state_machine.update(map_children(f"Ceap-{workflow}-Workflow", bucket))
        roles[(name, "HeavyETLGlueJobRole")] = Role(
            GLUE,
            False,
            {
                "ReadScript": s(
                    ["s3:GetObject"],
                    [
                        "arn:${AWS::Partition}:s3:::Ref ArtifactBucket/glue/heavy_etl-<sha256>.py",
                        "arn:${AWS::Partition}:s3:::Ref ArtifactBucket/glue/ceap_glue-<sha256>.zip",
                    ],
                ),
                "HandOffObjects": s(["s3:GetObject", "s3:PutObject"], ["WorkflowBucket.Arn/executions/*", SCRATCH]),
                "HandOffList": s(
                    ["s3:ListBucket"],
                    ["WorkflowBucket.Arn"],
                    {"StringLike": {"s3:prefix": ["executions/*", "glue-temp/HeavyETL/*"]}},
                ),
                "CleanScratch": s(["s3:DeleteObject"], [SCRATCH]),
                # --enable-metrics publishes to namespace "Glue"; PutMetricData has no resource type, only
                # the cloudwatch:namespace condition key (AWS Service Authorization Reference,
                # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html;
                # https://docs.aws.amazon.com/glue/latest/dg/monitoring-awsglue-with-cloudwatch-metrics.html).
                "Metrics": s(["cloudwatch:PutMetricData"], ["*"], {"StringEquals": {"cloudwatch:namespace": "Glue"}}),
                # Glue 5.0 writes to {--custom-logGroup-prefix}/output and /error, groups the stack owns
                # (https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html): streams only.
                "GlueLogs": s(
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    ["HeavyETLGlueOutputLogGroup.Arn", "HeavyETLGlueErrorLogGroup.Arn"],
                ),
            },
        )
    return roles


#: config/environments.yaml: every environment runs the express `realtime` and the standard `batch` workflow.
WORKFLOWS = {"realtime": True, "batch": False}


def _show(node: Any) -> str:
    if isinstance(node, str):
        return node
    if "Fn::GetAtt" in node:
        return f"{node['Fn::GetAtt'][0]}.Arn"
    if "Ref" in node:
        return f"Ref {node['Ref']}"
    if "Fn::ImportValue" in node:
        return f"import {node['Fn::ImportValue']['Fn::Sub']}"
    body = node["Fn::Sub"]
    if isinstance(body, str):
        return body
    text, variables = body
    for key, value in variables.items():
        text = text.replace(f"${{{key}}}", _show(value))
    return str(text)


def _actual(role: dict[str, Any]) -> Role:
    props = role["Properties"]
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == ["sts:AssumeRole"] and trust["Effect"] == "Allow"
    (service,) = trust["Principal"]["Service"]
    assert trust.get("Condition") in (None, ACCOUNT), trust
    statements: dict[str, S] = {}
    for policy in props["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow", statement
            assert statement["Sid"] not in statements, statement["Sid"]
            shown = [re.sub(r"[0-9a-f]{64}", "<sha256>", _show(r)) for r in statement["Resource"]]
            statements[statement["Sid"]] = s(statement["Action"], shown, statement.get("Condition"))
    assert not props.get("ManagedPolicyArns"), "roles carry inline least-privilege policies only"
    return Role(service, "Condition" in trust, statements)


def _expected(env: str) -> dict[tuple[str, str], Role]:
    expected = consolidated_roles(env)
    for workflow, express in WORKFLOWS.items():
        expected.update(workflow_roles(workflow, express))
    return expected


@pytest.mark.parametrize("env", ENVS)
def test_every_role__equals_the_table(builds: dict[str, EnvironmentBuild], env: str) -> None:
    expected = _expected(env)
    names = sorted({name for name, _ in expected})
    actual = {
        (name, role_id): _actual(role)
        for name in names
        for role_id, role in resources_of(stack(builds[env], _layout(name), name), "AWS::IAM::Role").items()
    }
    assert sorted(actual) == sorted(expected), "a role without expectations, or an expected role not built"
    for key, role in expected.items():
        got = actual[key]
        assert (got.service, got.source_account) == (role.service, role.source_account), key
        assert sorted(got.statements) == sorted(role.statements), key
        for sid, statement in role.statements.items():
            assert got.statements[sid] == statement, (key, sid, json.dumps(got.statements[sid], default=sorted))


def _layout(stack_name: str) -> str:
    return "workflows" if stack_name.startswith("CeapWorkflow-") else "consolidated"
