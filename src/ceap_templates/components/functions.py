"""Lambda stage functions: role with exactly the grants the stage needs, explicit log group, tracing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from awacs import events as events_actions
from awacs import sqs as sqs_actions
from awacs.aws import Allow, Statement
from troposphere import GetAtt, Parameter, Ref, Sub, awslambda

from ceap_templates import iam
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
    StageSpec,
    powertools_layer_name,
)
from ceap_templates.references import Scope, Shared

#: Environment variable per table (the handlers read these; LEGACY.md names).
TABLE_ENV = {
    "Candidates": "CANDIDATES_TABLE",
    "ProgramConfig": "PROGRAM_CONFIG_TABLE",
    "ScoreCache": "SCORE_CACHE_TABLE",
    "Deduplication": "DEDUPLICATION_TABLE",
}


@dataclass(frozen=True)
class TableGrant:
    """``access`` (a key of :data:`ceap_templates.iam.TABLE_ACCESS`) on a table, or env var only."""

    table: TableHandle
    access: str | None


@dataclass(frozen=True)
class FunctionHandle:
    logical_id: str
    role_id: str
    arn: Shared
    name: Shared
    stage: str


@dataclass(frozen=True)
class FunctionSpec:
    """What one function needs: its stage, names, tables, bucket access and extras."""

    stage: StageSpec
    logical_id: str
    prefix: str
    purpose: str
    tables: Sequence[TableGrant] = ()
    bucket: BucketHandle | None = None
    bucket_prefixes: Sequence[str] = (EXECUTIONS_PREFIX,)
    publishes_events: bool = False
    dead_letter_arn: Any = None
    extra_env: Mapping[str, Any] = field(default_factory=dict)


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
    return Sub(
        f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"{powertools_layer_name(env.lambda_runtime)}:{POWERTOOLS_LAYER_VERSION}"
    )


def stage_function(scope: Scope, env: Environment, code: CodeArtifacts, spec: FunctionSpec) -> FunctionHandle:
    """One Lambda function with its role and log group.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html
    """
    names = env.naming
    function_name = names.function(scope.stack_name, spec.purpose)
    group = log_group(
        scope,
        f"{spec.prefix}FunctionLogGroup",
        names.function_log_group(function_name),
        env.log_retention_days,
        env.retain_data,
    )
    statements = [iam.log_stream_statement(GetAtt(group, "Arn")), iam.xray_statement()]
    variables: dict[str, Any] = {
        "POWERTOOLS_SERVICE_NAME": f"ceap-{spec.purpose.lower()}",
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "LOG_LEVEL": "INFO",
    }
    for grant in spec.tables:
        variables[TABLE_ENV[grant.table.key]] = scope.use(grant.table.name)
        if grant.access:
            table_arn = scope.use(grant.table.arn)
            statements.append(
                iam.table_statement(
                    f"{grant.table.key}Table", grant.access, table_arn, has_indexes=grant.table.has_indexes
                )
            )
    if spec.bucket is not None:
        variables["WORKFLOW_BUCKET"] = scope.use(spec.bucket.name)
        bucket_arn = scope.use(spec.bucket.arn)
        statements += iam.bucket_statements("HandOff", bucket_arn, [EXECUTIONS_PREFIX], write=True)
        sources = [p for p in spec.bucket_prefixes if p != EXECUTIONS_PREFIX]
        if sources:
            statements += iam.bucket_statements("Sources", bucket_arn, sources, write=False)
    if spec.publishes_events:
        variables["EVENT_BUS_NAME"] = "default"
        statements.append(
            Statement(
                Sid="PublishCompletion",
                Effect=Allow,
                Action=[events_actions.PutEvents],
                Resource=[Sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default")],
            )
        )
    if spec.dead_letter_arn is not None:
        statements.append(
            Statement(Sid="DeadLetter", Effect=Allow, Action=[sqs_actions.SendMessage], Resource=[spec.dead_letter_arn])
        )
    variables.update(spec.extra_env)
    role = scope.add(
        iam.service_role(
            f"{spec.prefix}FunctionRole", "lambda.amazonaws.com", statements, policy_name="least-privilege"
        )
    )
    props: dict[str, Any] = {
        "Description": spec.stage.description,
        "Runtime": env.lambda_runtime,
        "Handler": spec.stage.handler,
        "Architectures": [LAMBDA_ARCHITECTURE],
        "Code": awslambda.Code(S3Bucket=Ref(artifact_bucket_parameter(scope, env)), S3Key=code.lambda_key),
        "MemorySize": spec.stage.memory_mb,
        "Timeout": spec.stage.timeout_seconds,
        "Role": GetAtt(role, "Arn"),
        "Layers": [powertools_layer(env)],
        "TracingConfig": awslambda.TracingConfig(Mode="Active"),
        "LoggingConfig": awslambda.LoggingConfig(LogGroup=Ref(group)),
        "Environment": awslambda.Environment(Variables=variables),
    }
    if function_name:
        props["FunctionName"] = function_name
    if spec.dead_letter_arn is not None:
        props["DeadLetterConfig"] = awslambda.DeadLetterConfig(TargetArn=spec.dead_letter_arn)
    function = scope.add(awslambda.Function(spec.logical_id, **props))
    return FunctionHandle(
        logical_id=spec.logical_id,
        role_id=role.title,
        arn=scope.share(f"{spec.prefix}FunctionArn", GetAtt(function, "Arn")),
        name=scope.share(f"{spec.prefix}FunctionName", Ref(function)),
        stage=spec.stage.name,
    )
