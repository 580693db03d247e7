"""Lambda stage functions: role with exactly the grants the stage needs, explicit log group, tracing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Parameter, Ref, Sub, awslambda, sqs
from troposphere import iam as iam_resources

from ceap_templates import arns, iam
from ceap_templates.code import CodeArtifacts
from ceap_templates.components.common import log_group
from ceap_templates.components.storage import BucketHandle, TableHandle
from ceap_templates.configuration import Environment
from ceap_templates.constants import (
    EXECUTIONS_PREFIX,
    LAMBDA_ARCHITECTURE,
    METRICS_NAMESPACE,
    POWERTOOLS_LAYER_ACCOUNT,
    POWERTOOLS_LAYER_VERSION,
    powertools_layer_name,
)
from ceap_templates.references import Scope, Shared
from ceap_templates.stages import TABLE_ENV, Stage


@dataclass(frozen=True)
class FunctionHandle:
    function: awslambda.Function
    role: iam_resources.Role
    arn: Shared
    name: Shared
    stage: str


def artifact_bucket_parameter(scope: Scope, env: Environment) -> Parameter:
    """Where ``ceap-templates package`` uploads code (the deploy script fills it)."""
    return scope.parameter(
        Parameter(
            "ArtifactBucket",
            Type="String",
            Default=env.artifact_bucket,
            AllowedPattern="^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            Description="S3 bucket holding the Lambda package and Glue scripts (content-addressed keys)",
        )
    )


def powertools_layer(env: Environment) -> Sub:
    return arns.layer(POWERTOOLS_LAYER_ACCOUNT, powertools_layer_name(env.lambda_runtime), POWERTOOLS_LAYER_VERSION)


def stage_function(
    scope: Scope,
    env: Environment,
    code: CodeArtifacts,
    stage: Stage,
    tables: Mapping[str, TableHandle],
    *,
    logical_id: str | None = None,
    bucket: BucketHandle | None = None,
    dead_letter: sqs.Queue | None = None,
    sizing: Mapping[str, str] | None = None,
) -> FunctionHandle:
    """One Lambda function with its role and log group, all following from the stage record.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html
    """
    names = scope.naming
    prefix = stage.name
    function_name = names.function(scope.stack_name, stage.name)
    group = log_group(scope, f"{prefix}FunctionLogGroup", names.function_log_group(function_name))
    statements = [iam.allow("WriteOwnLogGroup", "log-group", "write", [GetAtt(group, "Arn")])]
    statements.append(iam.allow("XRayTracing", "xray", "trace"))
    variables: dict[str, Any] = {
        "POWERTOOLS_SERVICE_NAME": stage.service_name,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "LOG_LEVEL": "INFO",
        # PART_SIZE / MAX_CANDIDATES_PER_RUN / EXPRESS_MAX_CANDIDATES (ceap_templates.sizing).
        **dict(sizing or {}),
    }
    for use in stage.tables:
        table = tables[use.table]
        variables[TABLE_ENV[use.table]] = scope.use(table.name)
        kind = "indexed-table" if table.has_indexes else "table"
        statements.append(iam.allow(f"{use.table}Table", kind, use.access, [scope.use(table.arn)]))
    if bucket is not None:
        variables["WORKFLOW_BUCKET"] = scope.use(bucket.name)
        bucket_arn = scope.use(bucket.arn)
        statements += iam.prefix_access("HandOff", bucket_arn, [EXECUTIONS_PREFIX], "write")
        if stage.source_prefixes:
            statements += iam.prefix_access("Sources", bucket_arn, stage.source_prefixes, "read")
    if stage.publishes:
        variables["EVENT_BUS_NAME"] = "default"
        statements.append(iam.allow("PublishCompletion", "event-bus", "put", [arns.event_bus("default")]))
    if dead_letter is not None:
        statements.append(iam.allow("DeadLetter", "queue", "send", [GetAtt(dead_letter, "Arn")]))
    role = scope.add(
        iam.service_role(f"{prefix}FunctionRole", "lambda.amazonaws.com", statements, policy_name="least-privilege")
    )
    props: dict[str, Any] = {
        "Description": stage.description,
        "Runtime": env.lambda_runtime,
        "Handler": stage.handler,
        "Architectures": [LAMBDA_ARCHITECTURE],
        "Code": awslambda.Code(S3Bucket=Ref(artifact_bucket_parameter(scope, env)), S3Key=code.lambda_key),
        "MemorySize": stage.memory_mb,
        "Timeout": stage.timeout_seconds,
        "Role": GetAtt(role, "Arn"),
        "Layers": [powertools_layer(env)],
        "TracingConfig": awslambda.TracingConfig(Mode="Active"),
        "LoggingConfig": awslambda.LoggingConfig(LogGroup=Ref(group)),
        "Environment": awslambda.Environment(Variables=variables),
    }
    if function_name:
        props["FunctionName"] = function_name
    if dead_letter is not None:
        props["DeadLetterConfig"] = awslambda.DeadLetterConfig(TargetArn=GetAtt(dead_letter, "Arn"))
    function = scope.add(awslambda.Function(logical_id or f"{prefix}Function", **props))
    return FunctionHandle(
        function=function,
        role=role,
        arn=scope.share(f"{prefix}FunctionArn", GetAtt(function, "Arn")),
        name=scope.share(f"{prefix}FunctionName", Ref(function)),
        stage=stage.name,
    )
