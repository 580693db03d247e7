"""Least-privilege IAM as data: (resource kind, access) -> actions, scoped to ARNs (awacs).

``Resource: "*"`` appears only for the actions AWS defines without resource scoping
(:data:`UNSCOPED_ACTIONS`: X-Ray segments and the log-delivery API of Step Functions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from awacs import dynamodb, logs, s3, xray
from awacs.aws import Action, Allow, Condition, Policy, Principal, Statement, StringEquals, StringLike
from troposphere import Sub, iam

#: DynamoDB access levels used by the stages (LEGACY.md grants, narrowed).
TABLE_ACCESS: Mapping[str, tuple[Action, ...]] = MappingProxyType(
    {
        "read": (dynamodb.GetItem, dynamodb.Query),
        "get": (dynamodb.GetItem,),
        "cache": (dynamodb.GetItem, dynamodb.PutItem, dynamodb.BatchGetItem),
        "write": (dynamodb.BatchWriteItem, dynamodb.PutItem),
        "dedup": (dynamodb.PutItem,),
    }
)

#: Actions AWS does not allow to scope to a resource.
UNSCOPED_ACTIONS = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)


def table_statement(sid: str, access: str, table_arn: Any, *, has_indexes: bool) -> Statement:
    """Grant ``access`` on one table; a Query on a table with GSIs also needs ``/index/*``."""
    actions = TABLE_ACCESS[access]
    resources = [table_arn]
    if has_indexes and dynamodb.Query in actions:
        resources.append(Sub("${TableArn}/index/*", TableArn=table_arn))
    return Statement(Sid=sid, Effect=Allow, Action=list(actions), Resource=resources)


def bucket_statements(sid: str, bucket_arn: Any, prefixes: Sequence[str], *, write: bool) -> list[Statement]:
    """Object access under ``prefixes`` only, and listing restricted to the same prefixes."""
    object_actions = [s3.GetObject, s3.PutObject] if write else [s3.GetObject]
    return [
        Statement(
            Sid=f"{sid}Objects",
            Effect=Allow,
            Action=object_actions,
            Resource=[Sub(f"${{BucketArn}}/{prefix}*", BucketArn=bucket_arn) for prefix in prefixes],
        ),
        Statement(
            Sid=f"{sid}List",
            Effect=Allow,
            Action=[s3.ListBucket],
            Resource=[bucket_arn],
            Condition=Condition(StringLike("s3:prefix", [f"{prefix}*" for prefix in prefixes])),
        ),
    ]


def log_stream_statement(log_group_arn: Any) -> Statement:
    """Write to exactly one log group (the function's explicit one)."""
    return Statement(
        Sid="WriteOwnLogGroup",
        Effect=Allow,
        Action=[logs.CreateLogStream, logs.PutLogEvents],
        Resource=[log_group_arn],
    )


def xray_statement() -> Statement:
    return Statement(
        Sid="XRayTracing",
        Effect=Allow,
        Action=[xray.PutTraceSegments, xray.PutTelemetryRecords, xray.GetSamplingRules, xray.GetSamplingTargets],
        Resource=["*"],
    )


def log_delivery_statement() -> Statement:
    """Step Functions logging goes through the log-delivery API, which takes no resource."""
    return Statement(
        Sid="StateMachineLogDelivery",
        Effect=Allow,
        Action=[
            logs.CreateLogDelivery,
            logs.GetLogDelivery,
            logs.UpdateLogDelivery,
            logs.DeleteLogDelivery,
            logs.ListLogDeliveries,
            logs.PutResourcePolicy,
            logs.DescribeResourcePolicies,
            logs.DescribeLogGroups,
        ],
        Resource=["*"],
    )


def service_role(
    title: str,
    service: str,
    statements: Iterable[Statement],
    *,
    policy_name: str,
    source_account_condition: bool = False,
) -> iam.Role:
    """A role assumable by one AWS service, with one inline least-privilege policy.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html
    """
    trust_condition = (
        Condition([StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}"))]) if source_account_condition else None
    )
    trust_statement = Statement(
        Effect=Allow,
        Principal=Principal("Service", [service]),
        Action=[Action("sts", "AssumeRole")],
        **({"Condition": trust_condition} if trust_condition else {}),
    )
    return iam.Role(
        title,
        AssumeRolePolicyDocument=Policy(Version="2012-10-17", Statement=[trust_statement]),
        Policies=[
            iam.Policy(
                PolicyName=policy_name,
                PolicyDocument=Policy(Version="2012-10-17", Statement=list(statements)),
            )
        ],
    )
