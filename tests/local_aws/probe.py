"""A probe stack for the runtime patches: a Lambda package, state machines, pipes and a rule.

The function's code is a zip uploaded to S3 (as ``ceap-templates package`` uploads the handlers);
its handler records what it receives in a bucket named by its environment, raises ``ProbeError``
on request, and fails once with ``ProbeRetryable`` (module state survives between warm calls).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

BUCKET = "probe-artifacts"
RECORDS = "probe-records"
KEY = "lambda/probe.zip"
GREETING = "hello from the template"

HANDLER = """
import json, os
import boto3

calls = {"flaky": 0}


class ProbeError(Exception):
    pass


class ProbeRetryable(Exception):
    pass


def handler(event, context):
    if isinstance(event, list) or "detail-type" in event:  # a pipe batch or an EventBridge event
        key = f"received/{context.aws_request_id}.json"
        boto3.client("s3").put_object(Bucket=os.environ["RECORDS_BUCKET"], Key=key, Body=json.dumps(event))
        return {"stored": key}
    if event.get("mode") == "raise":
        raise ProbeError("asked to fail")
    if event.get("mode") == "flaky":
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise ProbeRetryable("first call fails")
    return {"greeting": os.environ["GREETING"], "function": context.function_name, "flaky": calls["flaky"]}
"""


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe_handlers/__init__.py", "")
        archive.writestr("probe_handlers/probe.py", HANDLER)
    return buffer.getvalue()


def _machine(name: str, machine_type: str) -> dict[str, Any]:
    invoke = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${ProbeArn}", "Payload.$": "$"},
        "ResultSelector": {"result.$": "$.Payload"},
        "Retry": [{"ErrorEquals": ["ProbeRetryable"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["ProbeError"], "Next": "Caught", "ResultPath": "$.error"}],
        "End": True,
    }
    caught = {"Type": "Pass", "Parameters": {"caught.$": "$.error.Error"}, "End": True}
    # ResultPath null keeps the state's input: if the null were dropped, {"kept": false} would replace it.
    keep = {"Type": "Pass", "Result": {"kept": False}, "ResultPath": None, "Next": "Invoke"}
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": name,
            "StateMachineType": machine_type,
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "Definition": {"StartAt": "Keep", "States": {"Keep": keep, "Invoke": invoke, "Caught": caught}},
            "DefinitionSubstitutions": {"ProbeArn": {"Fn::GetAtt": ["Probe", "Arn"]}},
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": True,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["Logs", "Arn"]}}}],
            },
            "TracingConfiguration": {"Enabled": True},
        },
    }


def _pipe(name: str, queue: str, machine: str, invocation: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Pipes::Pipe",
        "Properties": {
            "Name": name,
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "Source": {"Fn::GetAtt": [queue, "Arn"]},
            "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}},
            "Target": {"Ref": machine},
            "TargetParameters": {"StepFunctionStateMachineParameters": {"InvocationType": invocation}},
        },
    }


def template() -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "probe-role", "AssumeRolePolicyDocument": trust}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/probe/machines"}},
        "Records": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": RECORDS}},
        "Probe": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "probe",
                "Runtime": "python3.12",
                "Handler": "probe_handlers.probe.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"S3Bucket": BUCKET, "S3Key": KEY},
                "Environment": {"Variables": {"GREETING": GREETING, "RECORDS_BUCKET": {"Ref": "Records"}}},
            },
        },
        "Twin": {  # the same package and handler in a second function: its own module state
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "probe-twin",
                "Runtime": "python3.12",
                "Handler": "probe_handlers.probe.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"S3Bucket": BUCKET, "S3Key": KEY},
                "Environment": {"Variables": {"GREETING": "hello from the twin", "RECORDS_BUCKET": {"Ref": "Records"}}},
            },
        },
        "Express": _machine("probe-express", "EXPRESS"),
        "Standard": _machine("probe-standard", "STANDARD"),
        "SyncQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "probe-sync"}},
        "AsyncQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "probe-async"}},
        "SyncPipe": _pipe("probe-sync-pipe", "SyncQueue", "Express", "REQUEST_RESPONSE"),
        "AsyncPipe": _pipe("probe-async-pipe", "AsyncQueue", "Standard", "FIRE_AND_FORGET"),
        "Schedule": {  # a schedule-only rule: runs on its schedule, never on PutEvents
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "probe-schedule",
                "ScheduleExpression": "rate(1 day)",
                "Targets": [{"Id": "probe", "Arn": {"Fn::GetAtt": ["Probe", "Arn"]}}],
            },
        },
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "probe-rule",
                "EventPattern": {"source": ["probe.events"]},
                "Targets": [{"Id": "probe", "Arn": {"Fn::GetAtt": ["Probe", "Arn"]}}],
            },
        },
    }
    return json.dumps({"Resources": resources})
